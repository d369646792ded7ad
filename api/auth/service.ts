import type { Knex } from 'knex';
import type { Notifier } from '../../adapters/email/notifier';
import { usersRepository, type UserRecord } from '../../db/repositories/users.repository';
import { changedFields, recordAudit } from '../../db/audit';
import {
  AuthenticationError,
  IdentityInputError,
  type IdentityProvider,
  type Session,
} from '../../adapters/identity/port';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { userForToken } from '../middleware/authenticate';
import type { Actor } from '../routing';
import { authPolicy } from './policy';
import { syncRoleAtSignIn } from './role-sync';
import type { UserCache } from '../middleware/user-cache';

function mapIdentityError(err: unknown): never {
  if (err instanceof IdentityInputError) {
    if (err.kind === 'conflict') throw new ConflictError(err.message, err.field);
    throw new ValidationError([{ field: err.field, message: err.message }]);
  }
  if (err instanceof AuthenticationError) {
    throw new AppError(401, 'UNAUTHORIZED', err.reason === 'invalid_refresh_token' ? 'Invalid refresh token' : 'Incorrect email or password');
  }
  throw err;
}

/** One welcome per user, whatever retries or repeats happen: the notifier dedupes on this key. */
export const welcomeKey = (userId: number) => `welcome:user-${userId}`;

export class AuthService {
  /** `users`: the guard's cache, forgotten whenever sign-in or a profile change alters a user. */
  constructor(private readonly deps: { knex: Knex; identity: IdentityProvider; notifier: Notifier; logger: Logger; users?: UserCache }) {}

  async register(input: { full_name: string; email: string; password: string; role: 'buyer' | 'realtor' }, requestId: string): Promise<UserRecord> {
    authPolicy.assertCanRegisterAs(input.role);
    const taken = await usersRepository(this.deps.knex).findByEmail(input.email);
    if (taken) throw new ConflictError('An account with this email already exists', 'email');
    const { sub } = await this.deps.identity
      .register({ email: input.email, password: input.password, fullName: input.full_name, role: input.role })
      .catch(mapIdentityError);
    const user = await this.deps.knex.transaction(async (trx) => {
      const row = await usersRepository(trx).insert({ cognito_sub: sub, email: input.email, full_name: input.full_name, role: input.role });
      await recordAudit(trx, { actorId: row.id, action: 'user_registered', resourceType: 'user', resourceId: row.id, details: { role: row.role, email: row.email }, requestId });
      return row;
    });
    await this.sendWelcome(user);
    return user;
  }

  /**
   * After the account is committed, so a failed registration never greets anyone. A mail
   * failure does not undo the sign-up; it is logged, and the ledger keeps the one key.
   */
  private async sendWelcome(user: UserRecord): Promise<void> {
    try {
      await this.deps.notifier.send({
        idempotencyKey: welcomeKey(user.id),
        template: 'welcome',
        to: user.email,
        recipientUserId: user.id,
        vars: { full_name: user.full_name },
      });
    } catch (err) {
      this.deps.logger.warn({ err, userId: user.id }, 'welcome email not sent');
    }
  }

  async login(email: string, password: string, requestId: string): Promise<{ session: Session; user: UserRecord }> {
    const session = await this.deps.identity.login(email, password).catch(mapIdentityError);
    // Also creates the users row for an account made outside the API, and refuses a
    // user an admin disabled or deleted.
    const found = await userForToken(this.deps, session.accessToken, requestId);
    const user = await syncRoleAtSignIn(this.deps, found, session.idToken, requestId);
    this.deps.users?.forget(user.cognito_sub);
    await recordAudit(this.deps.knex, { actorId: user.id, action: 'user_logged_in', resourceType: 'user', resourceId: user.id, requestId });
    return { session, user };
  }

  async refresh(refreshToken: string, email: string | undefined, requestId: string): Promise<{ session: Session; user: UserRecord }> {
    const session = await this.deps.identity.refresh(refreshToken, email).catch(mapIdentityError);
    const user = await syncRoleAtSignIn(this.deps, await userForToken(this.deps, session.accessToken, requestId), session.idToken, requestId);
    this.deps.users?.forget(user.cognito_sub);
    return { session: { ...session, refreshToken: session.refreshToken ?? refreshToken }, user };
  }

  async logout(actor: Actor, refreshToken: string): Promise<void> {
    await this.deps.identity.logout(refreshToken).catch(mapIdentityError);
    await recordAudit(this.deps.knex, { actorId: actor.user.id, action: 'user_logged_out', resourceType: 'user', resourceId: actor.user.id, requestId: actor.requestId });
  }

  async requestPasswordReset(email: string, requestId: string): Promise<void> {
    const user = await usersRepository(this.deps.knex).findByEmail(email);
    if (user && (user.disabled_at || user.deleted_at)) return;
    await this.deps.identity.requestPasswordReset(email).catch(mapIdentityError);
    if (user) {
      await recordAudit(this.deps.knex, { actorId: null, action: 'password_reset_requested', resourceType: 'user', resourceId: user.id, requestId });
    }
  }

  async confirmPasswordReset(email: string, code: string, newPassword: string, requestId: string): Promise<void> {
    const user = await usersRepository(this.deps.knex).findByEmail(email);
    if (user && (user.disabled_at || user.deleted_at)) throw new ValidationError([{ field: 'code', message: 'Invalid or expired code' }]);
    await this.deps.identity.confirmPasswordReset(email, code, newPassword).catch(mapIdentityError);
    if (user) {
      await recordAudit(this.deps.knex, { actorId: user.id, action: 'password_reset_completed', resourceType: 'user', resourceId: user.id, requestId });
    }
  }

  me(actor: Actor): UserRecord {
    return actor.user;
  }

  async updateMe(actor: Actor, body: { full_name: string }): Promise<UserRecord> {
    const updated = await this.deps.knex.transaction(async (trx) => {
      const changes = changedFields(actor.user, body);
      if (!Object.keys(changes).length) return actor.user;
      const user = await usersRepository(trx).update(actor.user.id, { full_name: body.full_name });
      if (!user) throw new NotFoundError('User');
      await recordAudit(trx, { actorId: actor.user.id, action: 'profile_updated', resourceType: 'user', resourceId: actor.user.id, details: { changes }, requestId: actor.requestId });
      return user;
    });
    this.deps.users?.forget(actor.user.cognito_sub);
    return updated;
  }
}

