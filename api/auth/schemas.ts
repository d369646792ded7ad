import { z } from 'zod';
import { emailField, passwordField, resourceSchema, textField, withRules } from '../schemas';
import { fullNameField } from '../users/schemas';

export const registerBody = z
  .object({
    full_name: fullNameField,
    email: emailField,
    password: passwordField,
    // Admins are never self-registered: `npm run create-admin` makes them.
    role: z.enum(['buyer', 'realtor']).default('buyer'),
  })
  .strict();

export const loginBody = z.object({ email: emailField, password: textField().min(1).max(256) }).strict();

export const refreshBody = z
  .object({
    refresh_token: textField().min(1).max(4096),
    email: emailField.optional().describe('needed only with Cognito app clients that have a secret'),
  })
  .strict();

export const logoutBody = z.object({ refresh_token: textField().min(1).max(4096) }).strict();

export const resetRequestBody = z.object({ email: emailField }).strict();

export const resetConfirmBody = withRules(
  z.object({ email: emailField, code: textField().trim().min(1).max(64).describe('the code emailed by password-reset/request'), new_password: passwordField }).strict(),
  [{ rule: 'issued', field: 'code', description: 'code must be the unexpired, unused code emailed for this address' }],
);

export const updateMeBody = z.object({ full_name: fullNameField }).strict();

export const sessionResource = resourceSchema(
  'session',
  z.object({
    access_token: z.string(),
    id_token: z.string(),
    refresh_token: textField(),
    expires_in: z.number().int(),
    token_type: z.literal('Bearer'),
  }),
  z.object({ user: z.object({ data: z.object({ id: z.string(), type: z.literal('user') }) }) }),
);

export const messageResource = (type: string) => resourceSchema(type, z.object({ message: z.string() }));
