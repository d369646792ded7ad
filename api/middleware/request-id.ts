import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../../lib/logger';
import { requestContextStore } from '../../lib/request-context';
import { withRequestId } from '../../lib/telemetry';
import { redactSharedToken } from '../share-links/rate-limit';

const SAFE_ID = /^[A-Za-z0-9._-]{8,128}$/;

/**
 * Gives every request an id (a caller's X-Request-Id is kept when it looks sane), puts
 * it on the response header, runs the request inside a context that adds it to every
 * log line (and, with tracing on, carries it with the trace), and logs the outcome (a
 * shared-recap token never: it is a secret).
 */
export function requestContext(logger: Logger): Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get('X-Request-Id');
    const requestId = SAFE_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = logger;
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    // With tracing on, in the request's trace context (its outcome line included): the id on
    // the HTTP span, and as baggage to the workflows and activities it causes.
    await withRequestId(requestId, async () => {
      try {
        await requestContextStore.run({ requestId }, next);
      } finally {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        logger.info(
          { request_id: requestId, method: ctx.method, path: redactSharedToken(ctx.path), status: ctx.status, ms: Math.round(ms * 10) / 10 },
          'request',
        );
      }
    });
  };
}
