import type { Knex } from 'knex';
import { auditLogsRepository, type AuditLogRecord } from '../../db/repositories/audit-logs.repository';
import type { PageMeta } from '../envelope';
import { pageMeta, type PageRequest } from '../pagination';
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

  async list(actor: Actor, f: AuditLogFilter): Promise<{ items: AuditLogRecord[]; meta: PageMeta }> {
    auditLogPolicy.assertCanRead(actor);
    const { page, per_page, from, to, ...exact } = f;
    const range = { from: from ? new Date(from) : undefined, to: to ? new Date(to) : undefined };
    const { items, total } = await auditLogsRepository(this.deps.knex).list({ ...exact, ...range }, { page, per_page });
    return { items, meta: pageMeta(f, total) };
  }
}
