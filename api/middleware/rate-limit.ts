import type { Middleware } from 'koa';
import { AppError } from '../../lib/errors';

/** Routes under this prefix are rate limited (credential guessing, sign-up and reset spam). */
export const RATE_LIMITED_PREFIX = '/api/v1/auth/';

/**
 * A fixed-window limit per client address and path. In memory, so each API instance
 * counts on its own: behind N instances the effective limit is up to N times this.
 */
export function rateLimit(opts: { max: number; windowSeconds: number; now?: () => number }): Middleware {
  const now = opts.now ?? Date.now;
  const windows = new Map<string, { start: number; count: number }>();
  let lastSweep = now();
  return async (ctx, next) => {
    const t = now();
    const windowMs = opts.windowSeconds * 1000;
    if (t - lastSweep > windowMs) {
      for (const [k, w] of windows) if (t - w.start >= windowMs) windows.delete(k);
      lastSweep = t;
    }
    // The router matches paths case-insensitively and with an optional trailing slash;
    // count every spelling of one route together, or each spelling gets its own allowance.
    const key = `${ctx.ip}|${ctx.path.toLowerCase().replace(/\/+$/, '') || '/'}`;
    let w = windows.get(key);
    if (!w || t - w.start >= windowMs) {
      w = { start: t, count: 0 };
      windows.set(key, w);
    }
    w.count += 1;
    const remaining = Math.max(0, opts.max - w.count);
    ctx.set('RateLimit-Limit', String(opts.max));
    ctx.set('RateLimit-Remaining', String(remaining));
    if (w.count > opts.max) {
      const retryAfter = Math.max(1, Math.ceil((w.start + windowMs - t) / 1000));
      ctx.set('Retry-After', String(retryAfter));
      throw new AppError(429, 'RATE_LIMITED', `Too many requests; try again in ${retryAfter} s`);
    }
    await next();
  };
}
