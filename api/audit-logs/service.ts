import type { Knex } from 'knex';
import { AuditLog } from '../../db/models';
import { paginate, type PageRequest } from '../pagination';
import type { Actor } from '../routing';
import { auditLogPolicy } from './policy';

export interface AuditLogFilter extends PageRequest {
  user_id?: number;
  action?: string;
  resource_type?: string;
  resource_id?: number;
  from?: string;
  to?: string;
}

export class AuditLogService {
  constructor(private readonly deps: { knex: Knex }) {}

  async list(actor: Actor, f: AuditLogFilter) {
    const query = auditLogPolicy.scope(actor, AuditLog.query(this.deps.knex));
    if (f.user_id) query.where('user_id', f.user_id);
    if (f.action) query.where('action', f.action);
    if (f.resource_type) query.where('resource_type', f.resource_type);
    if (f.resource_id) query.where('resource_id', f.resource_id);
    if (f.from) query.where('created_at', '>=', new Date(f.from));
    if (f.to) query.where('created_at', '<', new Date(f.to));
    return paginate(query.orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]), f);
  }
}
