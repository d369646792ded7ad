import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../../lib/logger';
import { withRequestTrace } from '../../lib/telemetry';
import { redactSharedToken } from '../share-links/rate-limit';
import { routeOf, UNMATCHED_ROUTE } from './metrics';

const SAFE_ID = /^[A-Za-z0-9._-]{8,128}$/;

/**
 * Gives every request an id (a caller's X-Request-Id is kept when it looks sane), puts
 * it on the response header, runs the request inside a context that adds it to every
 * log line (and, with tracing on, its trace: lib/telemetry.ts `withRequestTrace`), and
 * logs the outcome (a shared-recap token never: it is a secret).
 */
export function requestContext(logger: Logger): Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get('X-Request-Id');
    const requestId = SAFE_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = logger;
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    const path = redactSharedToken(ctx.path);
    const request = {
      method: ctx.method,
      path,
      querystring: ctx.querystring,
      headers: ctx.headers,
      scheme: ctx.protocol,
      host: ctx.hostname,
      clientAddress: ctx.ip,
      httpVersion: ctx.req.httpVersion,
    };
    const outcome = () => {
      const route = routeOf(ctx);
      return { status: ctx.status, ...(route === UNMATCHED_ROUTE ? {} : { route }) };
    };
    // The outcome line is logged inside the request's context: it carries the ids too.
    await withRequestTrace(request, requestId, async () => {
      try {
        await next();
      } finally {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        logger.info({ request_id: requestId, method: ctx.method, path, status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
      }
    }, outcome);
  };
}
