import pino, { type Logger } from 'pino';
import type { Config } from './config';
import { requestContextStore } from './request-context';
import { traceLogFields } from './telemetry';

export type { Logger };

export function createLogger(
  config: Pick<Config, 'logLevel' | 'env'>,
  name = 'realtyforyou',
  destination?: pino.DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    name,
    level: config.logLevel,
    // Any line logged while serving a request carries its id, whichever logger wrote it;
    // with tracing on, also the trace and span ids, and in the worker the id of the API
    // request the activity works for (carried as baggage through the workflow).
    mixin: () => {
      const ctx = requestContextStore.getStore();
      return ctx ? { ...traceLogFields(), request_id: ctx.requestId } : (traceLogFields() ?? {});
    },
    // Never let credentials reach the log, whatever object is logged.
    redact: {
      paths: [
        'password',
        '*.password',
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.authorization',
        'access_token',
        'refresh_token',
        'id_token',
      ],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
