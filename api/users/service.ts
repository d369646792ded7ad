import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { usersRepository, type Role, type UserPatch, type UserRecord } from '../../db/repositories/users.repository';
import { changedFields, recordAudit } from '../../db/audit';
import type { IdentityProvider } from '../../adapters/identity/port';
import type { ObjectStorage } from '../../adapters/storage/port';
import { ImageRejectedError, inspectImage, renderWebp } from '../../adapters/images/inspect';
import { AppError, ConflictError, NotFoundError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import type { PageMeta } from '../envelope';
import { pageMeta, type PageRequest } from '../pagination';
import type { Actor, UploadedFile } from '../routing';
import { userPolicy } from './policy';
import type { UserCache } from '../middleware/user-cache';

const AVATAR_SIZE = 256;
const AVATAR_MAX_PIXELS = 40_000_000;

export interface UserServiceDeps {
  knex: Knex;
  identity: IdentityProvider;
  storage: ObjectStorage;
  logger: Logger;
  /** The guard's cache of signed-in users: a changed user is read again on their next request. */
  users?: UserCache;
}

export class UserService {
  constructor(private readonly deps: UserServiceDeps) {}

  private async find(actor: Actor, id: number, trx?: Knex.Transaction): Promise<UserRecord> {
    const user = await usersRepository(trx ?? this.deps.knex).findInScope(userPolicy.scope(actor), id);
    if (!user) throw new NotFoundError('User');
    return user;
  }

  async list(actor: Actor, q: PageRequest & { q?: string; role?: Role; status?: 'active' | 'disabled' }): Promise<{ items: UserRecord[]; meta: PageMeta }> {
    userPolicy.assertCanManage(actor);
    const { items, total } = await usersRepository(this.deps.knex).list(userPolicy.scope(actor), { q: q.q, role: q.role, status: q.status }, q);
    return { items, meta: pageMeta(q, total) };
  }

  async get(actor: Actor, id: number): Promise<UserRecord> {
    userPolicy.assertCanManage(actor);
    return this.find(actor, id);
  }

  async update(actor: Actor, id: number, body: { full_name?: string; role?: Role; disabled?: boolean }): Promise<UserRecord> {
    userPolicy.assertCanManage(actor);
    const updated = await this.deps.knex.transaction(async (trx) => {
      const target = await this.find(actor, id, trx);
      userPolicy.assertCanChange(actor, target, body);
      const patch: UserPatch = {};
      if (body.full_name !== undefined) patch.full_name = body.full_name;
      if (body.role !== undefined) patch.role = body.role;
      if (body.disabled !== undefined && body.disabled !== Boolean(target.disabled_at)) {
        patch.disabled_at = body.disabled ? new Date() : null;
      }
      const changes = changedFields(target, patch);
      if (!Object.keys(changes).length) return target;
      const updated = await this.save(trx, id, patch);
      await recordAudit(trx, { actorId: actor.user.id, action: 'user_updated', resourceType: 'user', resourceId: id, details: { changes }, requestId: actor.requestId });
      // The provider is told last, inside the transaction: if it refuses, nothing changes
      // here, and a failed write here (the audit entry included) cannot roll back under a
      // provider that has already changed.
      if (patch.role && patch.role !== target.role) await this.deps.identity.adminSetRole(target.cognito_sub, patch.role, target.role);
      if ('disabled_at' in patch) await this.deps.identity.adminSetEnabled(target.cognito_sub, patch.disabled_at === null);
      return updated;
    });
    // After the commit, so no request can cache the row as it was before it.
    this.deps.users?.forget(updated.cognito_sub);
    return updated;
  }

  /** Deleting keeps the row (bookings and the audit trail refer to it) but ends the account. */
  async remove(actor: Actor, id: number): Promise<void> {
    userPolicy.assertCanManage(actor);
    const sub = await this.deps.knex.transaction(async (trx) => {
      const target = await this.find(actor, id, trx);
      userPolicy.assertCanChange(actor, target, { delete: true });
      const now = new Date();
      await this.save(trx, id, { deleted_at: now, disabled_at: target.disabled_at ?? now });
      await recordAudit(trx, { actorId: actor.user.id, action: 'user_deleted', resourceType: 'user', resourceId: id, details: { email: target.email }, requestId: actor.requestId });
      // Last, as in update: a failed audit write must not leave the account disabled.
      await this.deps.identity.adminSetEnabled(target.cognito_sub, false);
      return target.cognito_sub;
    });
    this.deps.users?.forget(sub);
  }

  async setAvatar(actor: Actor, id: number, file: UploadedFile | undefined): Promise<UserRecord> {
    userPolicy.assertCanManage(actor);
    const target = await this.find(actor, id);
    if (!file) throw new AppError(400, 'VALIDATION_ERROR', 'Attach the image in the "avatar" field', 'avatar');
    let rendered;
    try {
      await inspectImage(file.buffer, { maxPixels: AVATAR_MAX_PIXELS });
      rendered = await renderWebp(file.buffer, { width: AVATAR_SIZE, height: AVATAR_SIZE, fit: 'cover' }, AVATAR_MAX_PIXELS);
    } catch (err) {
      if (err instanceof ImageRejectedError) {
        if (err.reason === 'unsupported_type') throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', err.message, 'avatar');
        throw new AppError(422, 'UNPROCESSABLE_ENTITY', err.message, 'avatar');
      }
      throw err;
    }
    const key = `avatars/${id}/${randomBytes(8).toString('hex')}.webp`;
    await this.deps.storage.put(key, rendered.data, 'image/webp');
    let updated: UserRecord;
    try {
      updated = await this.deps.knex.transaction(async (trx) => {
        const row = await this.save(trx, id, { avatar_key: key });
        await recordAudit(trx, { actorId: actor.user.id, action: 'user_avatar_updated', resourceType: 'user', resourceId: id, details: { avatar_key: { from: target.avatar_key, to: key } }, requestId: actor.requestId });
        return row;
      });
    } catch (err) {
      await this.deps.storage.delete(key).catch(() => undefined);
      throw err;
    }
    this.deps.users?.forget(updated.cognito_sub);
    if (target.avatar_key) {
      await this.deps.storage.delete(target.avatar_key).catch((err) => this.deps.logger.warn({ err, key: target.avatar_key }, 'old avatar not deleted'));
    }
    return updated;
  }

  /** Changes a row found in this transaction; it cannot vanish in between (users are never hard-deleted). */
  private async save(trx: Knex.Transaction, id: number, patch: UserPatch): Promise<UserRecord> {
    const row = await usersRepository(trx).update(id, patch);
    if (!row) throw new NotFoundError('User');
    return row;
  }
}

/**
 * Creates an admin through the configured identity provider and its users row. Used by
 * `npm run create-admin`; admins never sign themselves up.
 */
export async function createAdminAccount(
  deps: { knex: Knex; identity: IdentityProvider },
  input: { email: string; password: string; fullName: string },
): Promise<UserRecord> {
  const email = input.email.trim().toLowerCase();
  if (await usersRepository(deps.knex).findByEmail(email)) throw new ConflictError(`A user with email ${email} already exists`, 'email');
  const { sub } = await deps.identity.adminCreateUser({ email, password: input.password, fullName: input.fullName, role: 'admin' });
  return deps.knex.transaction(async (trx) => {
    const user = await usersRepository(trx).insert({ cognito_sub: sub, email, full_name: input.fullName, role: 'admin' });
    await recordAudit(trx, { actorId: null, action: 'admin_created', resourceType: 'user', resourceId: user.id, details: { email, source: 'create-admin' } });
    return user;
  });
}
