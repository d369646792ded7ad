import { z } from 'zod';
import { paginationQuery } from '../pagination';
import { isoDateTime, nonEmptyObject, resourceSchema, textField } from '../schemas';

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

export const adminUserUpdateBody = nonEmptyObject(
  z
    .object({
      full_name: fullNameField.optional(),
      role: z.enum(ROLES).optional(),
      disabled: z.boolean().optional(),
    })
    .strict(),
);
