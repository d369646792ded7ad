import { z } from 'zod';

/** Schemas shared by several resources. */

export const idParams = z.object({ id: z.coerce.number().int().positive().describe('resource id') }).strict();

export const isoDateTime = z.string().describe('ISO 8601 timestamp, UTC');

export function resourceSchema<A extends z.ZodType>(type: string, attributes: A, relationships?: z.ZodType) {
  return z.object({
    id: z.string(),
    type: z.literal(type),
    attributes,
    ...(relationships ? { relationships } : {}),
  });
}

/** An email as stored: trimmed and lower-cased. */
export const emailField = z
  .string()
  .trim()
  .max(255)
  .pipe(z.email({ message: 'must be a valid email address' }))
  .transform((e) => e.toLowerCase());

export const passwordField = z.string().min(8, 'must be at least 8 characters').max(256);
