import { z } from 'zod';
import { AppError } from '../../lib/errors';
import { sendData, sendPage } from '../envelope';
import { actorOf, defineRoute, type AnyRouteSpec } from '../routing';
import { idParams } from '../schemas';
import { presentCall, presentTour } from '../tours/presenter';
import { presentBooking } from './presenter';
import {
  adminBookingListQuery,
  adminUpdateBody,
  bookingListQuery,
  bookingResource,
  buyerUpdateBody,
  confirmationData,
  createBookingBody,
  realtorUpdateBody,
  reasonBody,
} from './schemas';
import type { BookingService } from './service';

const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,255}$/;

export function bookingRoutes(bookings: BookingService): AnyRouteSpec[] {
  const notFound = { 404: { description: 'No such booking (or not yours)' } };
  const conflict = { 409: { description: 'The booking cannot change that way now (the message says why), or the time is taken' } };

  const list = (area: 'buyers' | 'realtors' | 'admin', query: z.ZodType) =>
    defineRoute({
      method: 'get',
      path: `/api/v1/${area}/bookings`,
      summary: area === 'buyers' ? 'Your bookings' : area === 'realtors' ? 'Bookings of your listings' : 'All bookings',
      tags: [`${area === 'admin' ? 'Admin' : area === 'realtors' ? 'Realtor' : 'Buyer'}: bookings`],
      query,
      responses: { 200: { description: 'A page of bookings, soonest first', data: z.array(bookingResource), paginated: true } },
      async handler(ctx, input) {
        const { items, meta } = await bookings.list(actorOf(input), input.query as never);
        sendPage(ctx, items.map(presentBooking), meta);
      },
    });

  const get = (area: 'buyers' | 'realtors' | 'admin', tag: string) =>
    defineRoute({
      method: 'get',
      path: `/api/v1/${area}/bookings/:id`,
      summary: 'Get a booking',
      tags: [tag],
      params: idParams,
      responses: { 200: { description: 'The booking', data: bookingResource }, ...notFound },
      async handler(ctx, input) {
        sendData(ctx, presentBooking(await bookings.get(actorOf(input), input.params.id)));
      },
    });

  const update = (area: 'buyers' | 'realtors' | 'admin', tag: string, body: z.ZodType, summary: string) =>
    defineRoute({
      method: 'put',
      path: `/api/v1/${area}/bookings/:id`,
      summary,
      tags: [tag],
      params: idParams,
      body,
      responses: { 200: { description: 'The booking', data: bookingResource }, ...notFound, ...conflict },
      async handler(ctx, input) {
        sendData(ctx, presentBooking(await bookings.update(actorOf(input), input.params.id, input.body as never)));
      },
    });

  const cancel = (area: 'buyers' | 'realtors' | 'admin', tag: string) =>
    defineRoute({
      method: 'delete',
      path: `/api/v1/${area}/bookings/:id`,
      summary: 'Cancel a booking (optional JSON body { reason })',
      tags: [tag],
      params: idParams,
      body: reasonBody,
      responses: { 200: { description: 'The cancelled booking', data: bookingResource }, ...notFound, ...conflict },
      async handler(ctx, input) {
        sendData(ctx, presentBooking(await bookings.cancel(actorOf(input), input.params.id, input.body.reason)));
      },
    });

  const buyerTag = 'Buyer: bookings';
  const realtorTag = 'Realtor: bookings';
  const adminTag = 'Admin: bookings';
  return [
    list('buyers', bookingListQuery),
    defineRoute({
      method: 'post',
      path: '/api/v1/buyers/bookings',
      summary: 'Request a tour of an available property (honours an Idempotency-Key header)',
      tags: [buyerTag],
      body: createBookingBody,
      responses: {
        201: { description: 'The pending booking (a retry with the same Idempotency-Key returns the same one)', data: bookingResource },
        404: { description: 'No such available property' },
        409: { description: 'You already have a booking at an overlapping time' },
        422: { description: 'The Idempotency-Key was used for a different request' },
      },
      async handler(ctx, input) {
        const key = ctx.get('Idempotency-Key') || undefined;
        if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
          throw new AppError(400, 'VALIDATION_ERROR', 'Idempotency-Key must be 1-255 characters of letters, digits and . _ : -', 'Idempotency-Key');
        }
        const { booking, replayed } = await bookings.create(actorOf(input), input.body, key);
        if (replayed) ctx.set('Idempotent-Replayed', 'true');
        sendData(ctx, presentBooking(booking), 201);
      },
    }),
    get('buyers', buyerTag),
    update('buyers', buyerTag, buyerUpdateBody, 'Reschedule (scheduled_at, duration_minutes) or edit your notes'),
    cancel('buyers', buyerTag),

    list('realtors', bookingListQuery),
    get('realtors', realtorTag),
    update('realtors', realtorTag, realtorUpdateBody, 'Reschedule a booking of your listing'),
    cancel('realtors', realtorTag),
    defineRoute({
      method: 'put',
      path: '/api/v1/realtors/bookings/:id/confirm',
      summary: 'Confirm a pending request: creates the tour and its call',
      tags: [realtorTag],
      params: idParams,
      responses: { 200: { description: 'The confirmed booking with its tour and call', data: confirmationData }, ...notFound, ...conflict },
      async handler(ctx, input) {
        const { booking, tour, call } = await bookings.confirm(actorOf(input), input.params.id);
        sendData(ctx, {
          booking: presentBooking(booking),
          // A tour just made: nothing processed yet.
          tour: presentTour(tour, { property_address: booking.property_address, call_id: call.id, steps: {} }),
          call: presentCall(call),
        });
      },
    }),
    defineRoute({
      method: 'put',
      path: '/api/v1/realtors/bookings/:id/decline',
      summary: 'Decline a pending request (optional { reason })',
      tags: [realtorTag],
      params: idParams,
      body: reasonBody,
      responses: { 200: { description: 'The declined booking', data: bookingResource }, ...notFound, ...conflict },
      async handler(ctx, input) {
        sendData(ctx, presentBooking(await bookings.decline(actorOf(input), input.params.id, input.body.reason)));
      },
    }),

    list('admin', adminBookingListQuery),
    get('admin', adminTag),
    update('admin', adminTag, adminUpdateBody, 'Reschedule or edit notes of any booking'),
    cancel('admin', adminTag),
  ];
}
