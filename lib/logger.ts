import pino, { type Logger } from 'pino';
import type { Config } from './config';
import { requestContextStore } from './request-context';

export type { Logger };

export function createLogger(
  config: Pick<Config, 'logLevel' | 'env'>,
  name = 'realtyforyou',
  destination?: pino.DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    name,
    level: config.logLevel,
    // Any line logged while serving a request carries its id, whichever logger wrote it.
    mixin: () => {
      const ctx = requestContextStore.getStore();
      return ctx ? { request_id: ctx.requestId } : {};
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
