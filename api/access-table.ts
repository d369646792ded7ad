import type { Role } from '../db/repositories/users.repository';

/**
 * Who may call which route: the one table. `public` needs no token; `authenticated` any
 * signed-in user; a role list only those roles (anyone else gets 403). Mounting fails if
 * a route is missing here, and the role tests are generated from this table.
 */
export type Access = 'public' | 'authenticated' | readonly Role[];

const BUYER = ['buyer'] as const;
const REALTOR = ['realtor'] as const;
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

  'GET /api/v1/realtors/properties': REALTOR,
  'POST /api/v1/realtors/properties': REALTOR,
  'GET /api/v1/realtors/properties/:id': REALTOR,
  'PUT /api/v1/realtors/properties/:id': REALTOR,
  'DELETE /api/v1/realtors/properties/:id': REALTOR,
  'POST /api/v1/realtors/properties/:id/images': REALTOR,
  'PUT /api/v1/realtors/properties/:id/images/:image_id': REALTOR,
  'DELETE /api/v1/realtors/properties/:id/images/:image_id': REALTOR,
  'GET /api/v1/realtors/availability': REALTOR,
  'PUT /api/v1/realtors/availability': REALTOR,
  'DELETE /api/v1/realtors/availability': REALTOR,
  'GET /api/v1/realtors/availability/exceptions': REALTOR,
  'POST /api/v1/realtors/availability/exceptions': REALTOR,
  'DELETE /api/v1/realtors/availability/exceptions/:id': REALTOR,
  'GET /api/v1/realtors/properties/:id/availability': REALTOR,
  'PUT /api/v1/realtors/properties/:id/availability': REALTOR,
  'DELETE /api/v1/realtors/properties/:id/availability': REALTOR,
  'GET /api/v1/realtors/properties/:id/availability/exceptions': REALTOR,
  'POST /api/v1/realtors/properties/:id/availability/exceptions': REALTOR,
  'DELETE /api/v1/realtors/properties/:id/availability/exceptions/:exception_id': REALTOR,

  'GET /api/v1/buyers/properties': BUYER,
  'GET /api/v1/buyers/properties/:id': BUYER,
  'GET /api/v1/buyers/properties/:id/availability': BUYER,

  // Buyer feedback after a tour: given and changed by its buyer, read by its realtor.
  'POST /api/v1/buyers/tours/:id/feedback': BUYER,
  'PUT /api/v1/buyers/tours/:id/feedback': BUYER,
  'GET /api/v1/buyers/tours/:id/feedback': BUYER,
  'GET /api/v1/realtors/tours/:id/feedback': REALTOR,
  'GET /api/v1/realtors/properties/:id/feedback': REALTOR,

  'GET /api/v1/admin/properties': ADMIN,
  'GET /api/v1/admin/properties/:id': ADMIN,
  'PUT /api/v1/admin/properties/:id': ADMIN,
  'DELETE /api/v1/admin/properties/:id': ADMIN,

  'GET /api/v1/buyers/bookings': BUYER,
  'POST /api/v1/buyers/bookings': BUYER,
  'GET /api/v1/buyers/bookings/:id': BUYER,
  'PUT /api/v1/buyers/bookings/:id': BUYER,
  'DELETE /api/v1/buyers/bookings/:id': BUYER,

  'GET /api/v1/realtors/bookings': REALTOR,
  'GET /api/v1/realtors/bookings/:id': REALTOR,
  'PUT /api/v1/realtors/bookings/:id': REALTOR,
  'DELETE /api/v1/realtors/bookings/:id': REALTOR,
  'PUT /api/v1/realtors/bookings/:id/confirm': REALTOR,
  'PUT /api/v1/realtors/bookings/:id/decline': REALTOR,

  'GET /api/v1/admin/bookings': ADMIN,
  'GET /api/v1/admin/bookings/:id': ADMIN,
  'PUT /api/v1/admin/bookings/:id': ADMIN,
  'DELETE /api/v1/admin/bookings/:id': ADMIN,

  'GET /api/v1/realtors/tours': REALTOR,
  'GET /api/v1/realtors/tours/search': REALTOR,
  'POST /api/v1/realtors/tours/:id/share-links': REALTOR,
  'GET /api/v1/realtors/tours/:id/share-links': REALTOR,
  'DELETE /api/v1/realtors/tours/:id/share-links/:link_id': REALTOR,
  'GET /api/v1/realtors/tours/:id': REALTOR,
  'GET /api/v1/realtors/tours/:id/recording': REALTOR,
  'GET /api/v1/realtors/tours/:id/transcript': REALTOR,
  'GET /api/v1/realtors/tours/:id/highlights': REALTOR,
  'GET /api/v1/realtors/tours/:id/summary': REALTOR,
  'POST /api/v1/realtors/tours/:id/start': REALTOR,
  'POST /api/v1/realtors/tours/:id/end': REALTOR,
  'POST /api/v1/realtors/tours/:id/recording': REALTOR,
  'GET /api/v1/realtors/tours/:id/notes': REALTOR,
  'POST /api/v1/realtors/tours/:id/notes': REALTOR,
  'GET /api/v1/realtors/calls/:id': REALTOR,
  'POST /api/v1/realtors/calls/:id/join': REALTOR,
  'POST /api/v1/realtors/calls/:id/leave': REALTOR,
  'GET /api/v1/realtors/calls/:id/recording': REALTOR,
  'POST /api/v1/realtors/calls/:id/end': REALTOR,
  'POST /api/v1/realtors/calls/:id/record': REALTOR,

  'GET /api/v1/buyers/tours': BUYER,
  'GET /api/v1/buyers/tours/search': BUYER,
  'POST /api/v1/buyers/tours/:id/share-links': BUYER,
  'GET /api/v1/buyers/tours/:id/share-links': BUYER,
  'DELETE /api/v1/buyers/tours/:id/share-links/:link_id': BUYER,
  'GET /api/v1/buyers/tours/:id': BUYER,
  'GET /api/v1/buyers/tours/:id/recording': BUYER,
  'GET /api/v1/buyers/tours/:id/transcript': BUYER,
  'GET /api/v1/buyers/tours/:id/highlights': BUYER,
  'GET /api/v1/buyers/tours/:id/summary': BUYER,
  'GET /api/v1/buyers/tours/:id/notes': BUYER,
  'POST /api/v1/buyers/tours/:id/notes': BUYER,
  'GET /api/v1/buyers/calls/:id': BUYER,
  'POST /api/v1/buyers/calls/:id/join': BUYER,
  'POST /api/v1/buyers/calls/:id/leave': BUYER,
  'GET /api/v1/buyers/calls/:id/recording': BUYER,

  'GET /api/v1/admin/tours': ADMIN,
  'GET /api/v1/admin/tours/search': ADMIN,
  'GET /api/v1/admin/tours/:id': ADMIN,
  'PUT /api/v1/admin/tours/:id': ADMIN,
  'DELETE /api/v1/admin/tours/:id': ADMIN,
  'POST /api/v1/admin/tours/retry': ADMIN,
  'POST /api/v1/admin/tours/:id/retry': ADMIN,

  'GET /api/v1/admin/users': ADMIN,
  'GET /api/v1/admin/users/:id': ADMIN,
  'PUT /api/v1/admin/users/:id': ADMIN,
  'DELETE /api/v1/admin/users/:id': ADMIN,
  'POST /api/v1/admin/users/:id/avatar': ADMIN,
  'GET /api/v1/admin/audit_logs': ADMIN,

  // Signed outbound webhooks: realtors their own endpoints, admins every endpoint.
  'GET /api/v1/realtors/webhooks': REALTOR,
  'POST /api/v1/realtors/webhooks': REALTOR,
  'GET /api/v1/realtors/webhooks/:id': REALTOR,
  'PUT /api/v1/realtors/webhooks/:id': REALTOR,
  'DELETE /api/v1/realtors/webhooks/:id': REALTOR,
  'GET /api/v1/realtors/webhooks/:id/deliveries': REALTOR,
  'GET /api/v1/realtors/webhooks/:id/deliveries/:delivery_id': REALTOR,
  'POST /api/v1/realtors/webhooks/:id/deliveries/:delivery_id/redeliver': REALTOR,
  'GET /api/v1/admin/webhooks': ADMIN,
  'POST /api/v1/admin/webhooks': ADMIN,
  'GET /api/v1/admin/webhooks/:id': ADMIN,
  'PUT /api/v1/admin/webhooks/:id': ADMIN,
  'DELETE /api/v1/admin/webhooks/:id': ADMIN,
  'GET /api/v1/admin/webhooks/:id/deliveries': ADMIN,
  'GET /api/v1/admin/webhooks/:id/deliveries/:delivery_id': ADMIN,
  'POST /api/v1/admin/webhooks/:id/deliveries/:delivery_id/redeliver': ADMIN,

  // A shared tour recap: the token is the credential (rate-limited per address).
  'GET /api/v1/shared/:token': 'public',
};
