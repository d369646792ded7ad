import type { Middleware } from 'koa';
import type { Knex } from 'knex';
import { recordAudit } from '../../db/audit';
import { usersRepository, type UserRecord as User } from '../../db/repositories/users.repository';
import { roleFromGroups, type IdentityProvider } from '../../adapters/identity/port';
import { AppError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import type { Access } from '../access-table';
import type { Actor } from '../routing';
import type { UserCache } from './user-cache';

/** One body for every authentication failure, so a caller learns nothing from it. */
export function unauthorized(): AppError {
  return new AppError(401, 'UNAUTHORIZED', 'Authentication required');
}

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/;

export interface GuardDeps {
  identity: IdentityProvider;
  knex: Knex;
  accessTable: Record<string, Access>;
  /** Users of recent requests; without one, every request reads `users`. */
  users?: UserCache;
}

/**
 * Finds the users row for a verified token, creating it on the user's first request
 * (from the provider's attributes). A disabled or deleted user is refused.
 */
export async function userForToken(deps: Pick<GuardDeps, 'identity' | 'knex' | 'users'>, token: string, requestId: string, log?: Logger): Promise<User> {
  let claims;
  try {
    claims = await deps.identity.verifyAccessToken(token);
  } catch (err) {
    log?.info({ reason: (err as Error).message }, 'token refused');
    throw unauthorized();
  }
  // The token's signature and claims are checked once per token and remembered until it
  // expires (see VerifiedTokenCache); the row is reused for a short while (UserCache).
  const cached = deps.users?.get(claims.sub);
  if (cached) return cached;
  let user = await usersRepository(deps.knex).findBySub(claims.sub);
  if (!user) {
    const attrs = await deps.identity.getUserAttributes(token).catch(() => {
      throw unauthorized();
    });
    user = await deps.knex.transaction(async (trx) => {
      const users = usersRepository(trx);
      const inserted = await users.insertIfAbsent({ cognito_sub: claims.sub, email: attrs.email.toLowerCase(), full_name: attrs.fullName, role: roleFromGroups(claims.groups) });
      const row = inserted ?? (await users.findBySub(claims.sub));
      if (inserted) {
        await recordAudit(trx, { actorId: inserted.id, action: 'user_created', resourceType: 'user', resourceId: inserted.id, details: { source: 'first_sign_in', role: inserted.role }, requestId });
      }
      return row;
    });
    if (!user) throw unauthorized();
  }
  if (user.disabled_at || user.deleted_at) throw unauthorized();
  deps.users?.set(claims.sub, user);
  return user;
}

export function guard(deps: GuardDeps) {
  // A user who changes (disabled, deleted, re-roled) is looked up afresh, token included.
  deps.users?.onForget((sub) => deps.identity.forgetVerifiedTokens(sub));
  return (key: string): Middleware => {
    const access = deps.accessTable[key];
    if (!access) throw new Error(`Route ${key} is not in the access table`);
    return async (ctx, next) => {
      if (access === 'public') return next();
      const header = ctx.get('Authorization');
      const match = BEARER.exec(header);
      if (!match) throw unauthorized();
      const user = await userForToken(deps, match[1]!, ctx.state.requestId as string, ctx.state.log as Logger);
      const actor: Actor = { user, requestId: ctx.state.requestId as string };
      ctx.state.actor = actor;
      if (access !== 'authenticated' && !access.includes(user.role)) {
        throw new AppError(403, 'FORBIDDEN', 'Your role may not use this route');
      }
      return next();
    };
  };
}
