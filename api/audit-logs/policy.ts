import type { QueryBuilder } from 'objection';
import type { AuditLog } from '../../db/models';
import { AppError } from '../../lib/errors';
import type { Actor } from '../routing';

/** The audit trail is for admins only, and they see all of it. */
export const auditLogPolicy = {
  scope(actor: Actor, query: QueryBuilder<AuditLog>): QueryBuilder<AuditLog> {
    if (actor.user.role !== 'admin') throw new AppError(403, 'FORBIDDEN', 'Only admins read the audit log');
    return query;
  },
};
