import pino, { type Logger } from 'pino';
import type { Config } from './config';

export type { Logger };

export function createLogger(config: Pick<Config, 'logLevel' | 'env'>, name = 'realtyforyou'): Logger {
  return pino({
    name,
    level: config.logLevel,
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
  });
}
