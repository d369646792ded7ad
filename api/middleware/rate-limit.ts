import { createHash } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import type { Knex } from 'knex';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config, RateLimit } from '../../lib/config';
import { AppError } from '../../lib/errors';
import type { Actor } from '../routing';

/** Routes under this prefix are rate limited per client address (credential guessing, sign-up and reset spam). */
export const RATE_LIMITED_PREFIX = '/api/v1/auth/';

/** The table the counters live in (db/migrations/20261202000010_rate_limits.ts). */
export const RATE_LIMIT_TABLE = 'rate_limits';

/**
 * A counter shared by every API instance: rate-limiter-flexible's PostgreSQL store
 * (one atomic upsert per hit). The key prefix carries the limit's settings, so instances
 * that run with the same configuration share counts, and a deploy that changes a limit
 * starts fresh windows instead of reading counts made under another limit.
 * Should PostgreSQL fail, each instance counts in memory until it answers again
 * (the insurance limiter), rather than refusing every request.
 */
export function sharedLimiter(knex: Knex, name: string, limit: RateLimit): RateLimiterAbstract {
  const common = { points: limit.max, duration: limit.windowSeconds };
  return new RateLimiterPostgres({
    ...common,
    storeClient: knex,
    storeType: 'knex',
    tableName: RATE_LIMIT_TABLE,
    tableCreated: true,
    keyPrefix: `${name}:${limit.max}:${limit.windowSeconds}`,
    // A key already over its limit is refused from memory until its window ends, so a
    // flood from one client costs no database round trip per request.
    inMemoryBlockOnConsumed: limit.max + 1,
    inMemoryBlockDuration: 0,
    insuranceLimiter: new RateLimiterMemory(common),
  });
}

/** The router matches paths case-insensitively and with optional trailing slashes: count every spelling of a route together. */
export function canonicalPath(ctx: Context): string {
  return ctx.path.toLowerCase().replace(/\/+$/, '') || '/';
}

/** Long or secret identifiers (emails, refresh tokens) are stored as a digest only. */
function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

/**
 * IETF RateLimit headers of the tightest limit the request met: with several limits on
 * one route the one closest to refusing is the one the client must pace itself by.
 */
function setHeaders(ctx: Context, limiter: RateLimiterAbstract, res: RateLimiterRes): void {
  const shown = ctx.state.rateLimitRemaining as number | undefined;
  if (shown !== undefined && shown < res.remainingPoints) return;
  ctx.state.rateLimitRemaining = res.remainingPoints;
  ctx.set('RateLimit-Limit', String(limiter.points));
  ctx.set('RateLimit-Remaining', String(res.remainingPoints));
  ctx.set('RateLimit-Reset', String(Math.max(0, Math.ceil(res.msBeforeNext / 1000))));
}

export interface LimitOptions {
  /** The counter's key for this request; undefined: the limit does not apply. */
  key(ctx: Context): string | undefined;
  /** Give the point back when the request succeeded (only failures count, e.g. wrong passwords). */
  refundOnSuccess?(ctx: Context): boolean;
}

/** One limit as Koa middleware: over it, 429 RATE_LIMITED in the error envelope with Retry-After. */
export function rateLimit(limiter: RateLimiterAbstract, opts: LimitOptions): Middleware {
  return async (ctx, next) => {
    const key = opts.key(ctx);
    if (key === undefined) return next();
    let res: RateLimiterRes;
    try {
      res = await limiter.consume(key);
    } catch (rejection) {
      // Anything else is a store failure the insurance limiter could not absorb.
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      setHeaders(ctx, limiter, rejection);
      const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      ctx.set('Retry-After', String(retryAfter));
      throw new AppError(429, 'RATE_LIMITED', `Too many requests; try again in ${retryAfter} s`);
    }
    setHeaders(ctx, limiter, res);
    await next();
    if (opts.refundOnSuccess?.(ctx) && ctx.status < 300) await limiter.reward(key);
  };
}

/** The account an auth route acts on, read from its JSON body (after the body parser). */
const ACCOUNT_OF: Record<string, { field: 'email' | 'refresh_token'; refund: boolean }> = {
  '/api/v1/auth/login': { field: 'email', refund: true },
  // Every sign-up and every reset email counts: those are the spam to stop.
  '/api/v1/auth/register': { field: 'email', refund: false },
  '/api/v1/auth/password-reset/request': { field: 'email', refund: false },
  '/api/v1/auth/password-reset/confirm': { field: 'email', refund: true },
  // A refresh names no account before it is checked; the token itself is the account's key.
  '/api/v1/auth/refresh': { field: 'refresh_token', refund: true },
};

function accountRoute(ctx: Context) {
  return ctx.method === 'POST' ? ACCOUNT_OF[canonicalPath(ctx)] : undefined;
}

export interface RateLimits {
  /** Per client address and auth route; runs before the body is parsed. */
  authAddress: Middleware;
  /** Per account and auth route; runs after the body parser. */
  authAccount: Middleware;
  /** Per signed-in user; runs after authentication (wraps the route guard). */
  apiUser: Middleware;
}

export function createRateLimits(knex: Knex, limits: Config['api']['rateLimits']): RateLimits {
  const address = rateLimit(sharedLimiter(knex, 'auth_address', limits.authAddress), {
    key: (ctx) => (ctx.path.toLowerCase().startsWith(RATE_LIMITED_PREFIX) ? `${ctx.ip}|${canonicalPath(ctx)}` : undefined),
  });
  const account = rateLimit(sharedLimiter(knex, 'auth_account', limits.authAccount), {
    key(ctx) {
      const route = accountRoute(ctx);
      const value = (ctx.request.body as Record<string, unknown> | undefined)?.[route?.field ?? ''];
      // A body without the field fails validation next; there is no account to count.
      if (!route || typeof value !== 'string' || !value.trim()) return undefined;
      return `${canonicalPath(ctx)}|${digest(route.field === 'email' ? value.trim().toLowerCase() : value)}`;
    },
    refundOnSuccess: (ctx) => accountRoute(ctx)?.refund === true,
  });
  const user = limits.apiUser.max > 0 ? rateLimit(sharedLimiter(knex, 'api_user', limits.apiUser), {
    key: (ctx) => {
      const actor = ctx.state.actor as Actor | undefined;
      return actor ? String(actor.user.id) : undefined;
    },
  }) : undefined;
  return {
    authAddress: address,
    authAccount: account,
    apiUser: user ?? ((_ctx, next) => next()),
  };
}
