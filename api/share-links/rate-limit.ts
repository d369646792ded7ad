import type { Knex } from 'knex';
import type { Middleware } from 'koa';
import { SHARED_RECAP_PATH } from '../../contracts/share-links';
import type { RateLimit } from '../../lib/config';
import { rateLimit, sharedLimiter } from '../middleware/rate-limit';

/**
 * The public recap route, limited per client address over every token (guessing tokens is
 * the abuse to slow down), counted in PostgreSQL like the auth limits so every API instance
 * shares the count. Mounted before the router, so unknown tokens count too.
 */
export function sharedRecapRateLimit(knex: Knex, limit: RateLimit): Middleware {
  return rateLimit(sharedLimiter(knex, 'shared_recap_address', limit), {
    key: (ctx) => (ctx.path.toLowerCase().startsWith(SHARED_RECAP_PATH) ? ctx.ip : undefined),
  });
}

/** A request path as logs and traces may show it: a shared-recap token is a secret. */
export function redactSharedToken(path: string): string {
  return path.toLowerCase().startsWith(SHARED_RECAP_PATH) ? `${SHARED_RECAP_PATH}:token` : path;
}
