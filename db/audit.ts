import type { Knex } from 'knex';

/**
 * Appends one audit row. Call it with the transaction that makes the change, so the
 * change and its record commit or roll back together.
 */
export interface AuditEntry {
  actorId: number | null;
  action: string;
  resourceType: string;
  resourceId: number | null;
  details?: Record<string, unknown>;
  requestId?: string | null;
}

export async function recordAudit(trx: Knex | Knex.Transaction, entry: AuditEntry): Promise<void> {
  await trx('audit_logs').insert({
    user_id: entry.actorId,
    action: entry.action,
    resource_type: entry.resourceType,
    resource_id: entry.resourceId,
    details: JSON.stringify(entry.details ?? {}),
    request_id: entry.requestId ?? null,
  });
}

/** The fields whose values differ, as `{ field: { from, to } }`, for audit details. */
export function changedFields<T extends object>(before: T, after: Partial<T>): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {};
  for (const [k, v] of Object.entries(after)) {
    const prev = (before as Record<string, unknown>)[k];
    const same = prev instanceof Date && v instanceof Date ? prev.getTime() === v.getTime() : prev === v;
    if (!same) out[k] = { from: prev ?? null, to: v ?? null };
  }
  return out;
}

/**
 * The same, with values compared by their JSON, so arrays and objects (event types, weekly
 * hours) that hold the same content are unchanged; `before` may be missing (all is new).
 */
export function changedValues(before: object | undefined, after: object): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {};
  for (const [k, v] of Object.entries(after)) {
    const prev = (before as Record<string, unknown> | undefined)?.[k] ?? null;
    if (JSON.stringify(prev) !== JSON.stringify(v ?? null)) out[k] = { from: prev, to: v ?? null };
  }
  return out;
}
