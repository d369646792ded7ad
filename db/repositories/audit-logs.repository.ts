import type { Knex } from 'knex';
import { pageOf, type Page, type PageRequest } from './page';

/**
 * The audit trail, read side: plain `audit_logs` rows. Entries are written by `recordAudit`
 * (db/audit.ts) inside the transaction of the change they record; the table is append-only.
 */

export interface AuditLogRecord {
  id: number;
  /** The acting user; null for the system (a workflow, a script, a sign-in sync). */
  user_id: number | null;
  action: string;
  resource_type: string | null;
  resource_id: number | null;
  /** JSON text as written by `recordAudit` (older rows may hold plain text). */
  details: string | null;
  request_id: string | null;
  created_at: Date;
}

export interface AuditLogFilter {
  user_id?: number;
  action?: string;
  resource_type?: string;
  resource_id?: number;
  /** Created at or after. */
  from?: Date;
  /** Created before. */
  to?: Date;
}

const COLUMNS = ['id', 'user_id', 'action', 'resource_type', 'resource_id', 'details', 'request_id', 'created_at'];

/** bigint ids come back from pg as strings unless the type parser is set; records carry numbers. */
function toRecord(row: Record<string, unknown>): AuditLogRecord {
  const id = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return { ...(row as unknown as AuditLogRecord), id: Number(row.id), user_id: id(row.user_id), resource_id: id(row.resource_id) };
}

export function auditLogsRepository(db: Knex | Knex.Transaction) {
  return {
    /** A page of the entries matching `f`, newest first, with the count of all matches. */
    async list(f: AuditLogFilter, page: PageRequest): Promise<Page<AuditLogRecord>> {
      const q = db('audit_logs');
      if (f.user_id !== undefined) q.where({ user_id: f.user_id });
      if (f.action !== undefined) q.where({ action: f.action });
      if (f.resource_type !== undefined) q.where({ resource_type: f.resource_type });
      if (f.resource_id !== undefined) q.where({ resource_id: f.resource_id });
      if (f.from) q.where('created_at', '>=', f.from);
      if (f.to) q.where('created_at', '<', f.to);
      const { items, total } = await pageOf<Record<string, unknown>>(
        q,
        (rows) => rows.select(COLUMNS).orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]),
        page,
      );
      return { items: items.map(toRecord), total };
    },
  };
}

export type AuditLogsRepository = ReturnType<typeof auditLogsRepository>;
