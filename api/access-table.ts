import type { Role } from '../db/models';

/**
 * Who may call which route: the one table. `public` needs no token; `authenticated` any
 * signed-in user; a role list only those roles (anyone else gets 403). Mounting fails if
 * a route is missing here, and the role tests are generated from this table.
 */
export type Access = 'public' | 'authenticated' | readonly Role[];

const ADMIN = ['admin'] as const;

export const ACCESS_TABLE: Record<string, Access> = {
  'POST /api/v1/auth/register': 'public',
  'POST /api/v1/auth/login': 'public',
  'POST /api/v1/auth/refresh': 'public',
  'POST /api/v1/auth/logout': 'authenticated',
  'POST /api/v1/auth/password-reset/request': 'public',
  'POST /api/v1/auth/password-reset/confirm': 'public',
  'GET /api/v1/auth/me': 'authenticated',
  'PUT /api/v1/auth/me': 'authenticated',

  'GET /api/v1/admin/users': ADMIN,
  'GET /api/v1/admin/users/:id': ADMIN,
  'PUT /api/v1/admin/users/:id': ADMIN,
  'DELETE /api/v1/admin/users/:id': ADMIN,
  'POST /api/v1/admin/users/:id/avatar': ADMIN,
  'GET /api/v1/admin/audit_logs': ADMIN,
};
