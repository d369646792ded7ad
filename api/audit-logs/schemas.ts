import { z } from 'zod';
import { paginationQuery } from '../pagination';
import { dateTimeInput, idParam, isoDateTime, orderedFields, resourceSchema, textField } from '../schemas';

export const auditLogListQuery = orderedFields(
  z
    .object({
      ...paginationQuery,
      user_id: idParam.optional().describe('the acting user'),
      action: textField().trim().min(1).max(100).optional().describe('e.g. user_registered, booking_confirmed'),
      resource_type: textField().trim().min(1).max(50).optional(),
      resource_id: idParam.optional(),
      from: dateTimeInput().optional().describe('created at or after (ISO 8601)'),
      to: dateTimeInput().optional().describe('created before (ISO 8601)'),
    })
    .strict(),
  'from',
  'to',
  'date-time',
);

export const auditLogResource = resourceSchema(
  'audit_log',
  z.object({
    user_id: z.number().int().nullable(),
    action: z.string(),
    resource_type: z.string().nullable(),
    resource_id: z.number().int().nullable(),
    details: z.record(z.string(), z.unknown()),
    request_id: z.string().nullable(),
    created_at: isoDateTime,
  }),
);
