import type { Context, Middleware } from 'koa';
import { counter, gauge, histogram } from '../../lib/metrics';

/** The route label of a request no declared route matched: raw paths would give one series per id. */
export const UNMATCHED_ROUTE = 'unmatched';

const duration = histogram({
  name: 'rfy_http_request_duration_seconds',
  help: 'API request duration by method, declared route template and status class',
  labelNames: ['method', 'route', 'status_class'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
});
const inFlight = gauge({ name: 'rfy_http_requests_in_flight', help: 'API requests being served' });
const errors = counter({
  name: 'rfy_http_errors_total',
  help: 'API error responses by error code of the envelope',
  labelNames: ['code', 'status'] as const,
});
const refusals = counter({
  name: 'rfy_http_rate_limited_total',
  help: 'Requests refused by a rate limit (429 RATE_LIMITED), by route template',
  labelNames: ['route'] as const,
});

/** The router sets the matched layer's declared path (`/api/v1/buyers/bookings/:id`). */
export function routeOf(ctx: Context): string {
  const matched = (ctx as Context & { _matchedRoute?: string | RegExp })._matchedRoute;
  return typeof matched === 'string' && matched ? matched : UNMATCHED_ROUTE;
}

function errorCodes(ctx: Context): string[] {
  const body = ctx.body as { success?: boolean; errors?: Array<{ code?: unknown }> } | null | undefined;
  if (!body || typeof body !== 'object' || body.success !== false || !Array.isArray(body.errors)) return [];
  // One count per distinct code: a validation error listing five fields is one refused request.
  return [...new Set(body.errors.map((e) => String(e.code ?? 'UNKNOWN')))];
}

/** Outermost middleware: sees every request, and the error envelope after the error handler wrote it. */
export function httpMetrics(): Middleware {
  return async (ctx, next) => {
    const stop = duration.startTimer();
    inFlight.inc();
    try {
      await next();
    } finally {
      inFlight.dec();
      const route = routeOf(ctx);
      stop({ method: ctx.method, route, status_class: `${Math.floor(ctx.status / 100)}xx` });
      if (ctx.status >= 400) {
        for (const code of errorCodes(ctx)) {
          errors.inc({ code, status: String(ctx.status) });
          if (code === 'RATE_LIMITED') refusals.inc({ route });
        }
      }
    }
  };
}
