import { z } from 'zod';
import { paginationQuery } from '../pagination';
import { isoDateTime, resourceSchema, textField } from '../schemas';

export const ROLES = ['buyer', 'realtor', 'admin'] as const;

export const userAttributes = z.object({
  full_name: z.string(),
  email: z.string(),
  role: z.enum(ROLES),
  avatar_url: z.string().nullable(),
  disabled: z.boolean(),
  created_at: isoDateTime,
  updated_at: isoDateTime,
});

export const userResource = resourceSchema('user', userAttributes);

export const fullNameField = textField().trim().min(1, 'must not be empty').max(255);

export const adminUserListQuery = z
  .object({
    ...paginationQuery,
    q: textField().trim().max(200).optional().describe('matches name or email'),
    role: z.enum(ROLES).optional(),
    status: z.enum(['active', 'disabled']).optional(),
  })
  .strict();

export const adminUserUpdateBody = z
  .object({
    full_name: fullNameField.optional(),
    role: z.enum(ROLES).optional(),
    disabled: z.boolean().optional(),
  })
  .strict()
  // Only for an otherwise valid body: `{ "email": ... }` is reported as an unknown field,
  // not also as "nothing to change".
  .refine((b) => Object.keys(b).length > 0, { message: 'nothing to change', when: (payload) => payload.issues.length === 0 });
