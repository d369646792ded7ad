import type { UserRecord, UserScope } from '../../db/repositories/users.repository';
import { AppError, ConflictError } from '../../lib/errors';
import type { Actor } from '../routing';

/**
 * Who may see and change user accounts. `scope` narrows every lookup (deleted accounts are
 * never seen; a non-admin sees only themselves), so a user outside it is simply not found
 * (404); the checks cover what a visible user may have done to it.
 */
export const userPolicy = {
  scope(actor: Actor): UserScope {
    return actor.user.role === 'admin' ? {} : { userId: actor.user.id };
  },

  assertCanManage(actor: Actor): void {
    if (actor.user.role !== 'admin') throw new AppError(403, 'FORBIDDEN', 'Only admins manage users');
  },

  /** An admin cannot lock themselves out: no self-demotion, self-disable or self-delete. */
  assertCanChange(actor: Actor, target: Pick<UserRecord, 'id'>, change: { role?: string; disabled?: boolean; delete?: boolean }): void {
    this.assertCanManage(actor);
    if (target.id !== actor.user.id) return;
    if (change.delete) throw new ConflictError('You cannot delete your own account');
    if (change.disabled) throw new ConflictError('You cannot disable your own account', 'disabled');
    if (change.role && change.role !== 'admin') throw new ConflictError('You cannot remove your own admin role', 'role');
  },
};
