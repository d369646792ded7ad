import { AppError } from '../../lib/errors';
import type { Actor } from '../routing';

/** The audit trail is for admins only, and they see all of it. */
export const auditLogPolicy = {
  assertCanRead(actor: Actor): void {
    if (actor.user.role !== 'admin') throw new AppError(403, 'FORBIDDEN', 'Only admins read the audit log');
  },
};
