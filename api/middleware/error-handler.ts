import type { Middleware } from 'koa';
import { ZodError } from 'zod';
import { AppError, type ErrorDetail } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { dependencyFault, RETRY_AFTER_SECONDS } from '../dependency-faults';
import { sendErrors } from '../envelope';

interface PgError {
  code?: string;
  constraint?: string;
  // Objection wraps driver errors and keeps the original here.
  nativeError?: { code?: string; constraint?: string };
}

// Postgres SQLSTATE codes that mean "the request conflicts with stored data".
const PG_CONFLICT: Record<string, string> = {
  '23505': 'A record with the same unique value already exists',
  '23P01': 'The request overlaps an existing record',
  '23503': 'The request refers to a record that does not exist or is still in use',
};

function detail(code: ErrorDetail['code'], message: string, field: string | null = null): ErrorDetail {
  return { code, message, field };
}

export function zodDetails(err: ZodError): ErrorDetail[] {
  return err.issues.flatMap((i) => {
    const base = i.path.map(String);
    // An unknown field is reported once per key, each naming its own field.
    if (i.code === 'unrecognized_keys') {
      return i.keys.map((k) => detail('VALIDATION_ERROR', `Unknown field "${k}"`, [...base, k].join('.')));
    }
    return [detail('VALIDATION_ERROR', i.message, base.length ? base.join('.') : null)];
  });
}

/**
 * Maps every thrown error to the error envelope. Unknown errors become a 500 whose
 * body never carries a stack trace, SQL or driver message; those go to the log only.
 */
export function errorHandler(): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        sendErrors(ctx, 404, [detail('NOT_FOUND', `No route for ${ctx.method} ${ctx.path}`)]);
      }
    } catch (err) {
      const log = ctx.state.log as Logger | undefined;
      if (err instanceof AppError) {
        if (err.status === 401) ctx.set('WWW-Authenticate', 'Bearer');
        if (err.status === 503 && !ctx.response.get('Retry-After')) ctx.set('Retry-After', String(RETRY_AFTER_SECONDS));
        sendErrors(ctx, err.status, err.details);
        return;
      }
      if (err instanceof ZodError) {
        sendErrors(ctx, 400, zodDetails(err));
        return;
      }
      const pg = err as PgError;
      const sqlState = pg?.nativeError?.code ?? pg?.code;
      if (typeof sqlState === 'string' && PG_CONFLICT[sqlState]) {
        log?.info({ constraint: pg.nativeError?.constraint ?? pg.constraint, code: sqlState }, 'constraint violation');
        sendErrors(ctx, 409, [detail('CONFLICT', PG_CONFLICT[sqlState]!)]);
        return;
      }
      // Errors raised by Koa or its body parser carry an HTTP status and are safe to expose.
      const http = err as { status?: number; expose?: boolean; message?: string; type?: string };
      if (typeof http.status === 'number' && http.status >= 400 && http.status < 500) {
        if (http.status === 413) {
          sendErrors(ctx, 413, [detail('PAYLOAD_TOO_LARGE', 'Request body is too large')]);
        } else if (http.status === 415) {
          sendErrors(ctx, 415, [detail('UNSUPPORTED_MEDIA_TYPE', 'Unsupported content type')]);
        } else if (http.status === 405) {
          sendErrors(ctx, 405, [detail('METHOD_NOT_ALLOWED', `${ctx.method} is not allowed on ${ctx.path}`)]);
        } else {
          const message = http.expose && http.message ? http.message : 'Invalid request';
          sendErrors(ctx, http.status, [detail('VALIDATION_ERROR', message)]);
        }
        return;
      }
      // PostgreSQL or Temporal down, paused or too slow: the client may retry, so 503.
      const fault = dependencyFault(err);
      if (fault) {
        log?.warn({ err, dependency: fault.field }, 'dependency unavailable');
        ctx.set('Retry-After', String(RETRY_AFTER_SECONDS));
        sendErrors(ctx, 503, [fault]);
        return;
      }
      log?.error({ err }, 'unhandled error');
      sendErrors(ctx, 500, [detail('INTERNAL_ERROR', 'Something went wrong on our side; the request id identifies it')]);
    }
  };
}
