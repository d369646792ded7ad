import type { QueryBuilder } from 'objection';
import type { User } from '../../db/models';
import { AppError, ConflictError } from '../../lib/errors';
import type { Actor } from '../routing';

/**
 * Who may see and change user accounts. `scope` narrows every lookup, so a user outside
 * it is simply not found (404); the checks cover what a visible user may have done to it.
 */
export const userPolicy = {
  scope(actor: Actor, query: QueryBuilder<User>): QueryBuilder<User> {
    query.whereNull('users.deleted_at');
    return actor.user.role === 'admin' ? query : query.where('users.id', actor.user.id);
  },

  assertCanManage(actor: Actor): void {
    if (actor.user.role !== 'admin') throw new AppError(403, 'FORBIDDEN', 'Only admins manage users');
  },

  /** An admin cannot lock themselves out: no self-demotion, self-disable or self-delete. */
  assertCanChange(actor: Actor, target: User, change: { role?: string; disabled?: boolean; delete?: boolean }): void {
    this.assertCanManage(actor);
    if (target.id !== actor.user.id) return;
    if (change.delete) throw new ConflictError('You cannot delete your own account');
    if (change.disabled) throw new ConflictError('You cannot disable your own account', 'disabled');
    if (change.role && change.role !== 'admin') throw new ConflictError('You cannot remove your own admin role', 'role');
  },
};
