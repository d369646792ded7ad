import { z } from 'zod';
import type { AuditLogRecord } from '../../db/repositories/audit-logs.repository';
import { resource, sendPage } from '../envelope';
import { actorOf, defineRoute, type AnyRouteSpec } from '../routing';
import { auditLogListQuery, auditLogResource } from './schemas';
import type { AuditLogService } from './service';

function parseDetails(details: string | null): Record<string, unknown> {
  if (!details) return {};
  try {
    const value: unknown = JSON.parse(details);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : { value };
  } catch {
    return { text: details };
  }
}

function presentAuditLog(a: AuditLogRecord) {
  return resource('audit_log', a.id, {
    user_id: a.user_id,
    action: a.action,
    resource_type: a.resource_type,
    resource_id: a.resource_id,
    details: parseDetails(a.details),
    request_id: a.request_id,
    created_at: a.created_at.toISOString(),
  });
}

export function auditLogRoutes(audit: AuditLogService): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/admin/audit_logs',
      summary: 'Read the audit log, newest first (filter by user, action, resource, time range)',
      tags: ['Admin: audit log'],
      query: auditLogListQuery,
      responses: { 200: { description: 'A page of audit entries', data: z.array(auditLogResource), paginated: true } },
      async handler(ctx, input) {
        const { items, meta } = await audit.list(actorOf(input), input.query);
        sendPage(ctx, items.map(presentAuditLog), meta);
      },
    }),
  ];
}
