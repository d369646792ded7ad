import { z } from 'zod';
import { sendData, sendPage } from '../envelope';
import { actorOf, defineRoute, type AnyRouteSpec } from '../routing';
import { idParams, withRules } from '../schemas';
import { presentCall, presentTour } from '../tours/presenter';
import { answerCommand, commandKeyHeaders, commandResponses } from '../idempotency';
import { presentBooking, presentConfirmation } from './presenter';
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

const idempotencyHeaders = withRules(
  z.object({
    'Idempotency-Key': z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,255}$/, 'must be 1-255 characters of letters, digits and . _ : -')
      .optional()
      .describe('any string of yours, unique per intended booking: a retry with the same key and body returns the first answer'),
  }),
  [{ rule: 'unique-per-request', field: 'Idempotency-Key', description: 'an Idempotency-Key already used with another body is refused (422 naming it)' }],
);

/** Where a booking is read in an area: the Location of a command answered 202. */
const bookingAt = (area: 'buyers' | 'realtors' | 'admin', id: number) => `/api/v1/${area}/bookings/${id}`;

export function bookingRoutes(bookings: BookingService): AnyRouteSpec[] {
  const notFound = { 404: { description: 'No such booking (or not yours)' } };
  const conflict = {
    409: {
      description:
        "The booking cannot change that way now (the message says why), or the new time is taken, outside the listing's tour hours, inside the buffer around another tour, or sooner than the listing's notice",
    },
  };

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
      headers: commandKeyHeaders,
      responses: {
        200: { description: 'The booking', data: bookingResource },
        ...commandResponses({ what: 'the booking (its notes are written once the new time is settled)', data: bookingResource }),
        ...notFound,
        ...conflict,
      },
      async handler(ctx, input) {
        const answer = await bookings.update(actorOf(input), input.params.id, input.body as never, input.headers['Idempotency-Key']);
        await answerCommand(ctx, answer, bookingAt(area, input.params.id), { completed: presentBooking, accepted: presentBooking });
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
      headers: commandKeyHeaders,
      responses: {
        200: { description: 'The cancelled booking', data: bookingResource },
        ...commandResponses({ what: 'the booking', data: bookingResource }),
        ...notFound,
        ...conflict,
      },
      async handler(ctx, input) {
        const answer = await bookings.cancel(actorOf(input), input.params.id, input.body.reason, input.headers['Idempotency-Key']);
        await answerCommand(ctx, answer, bookingAt(area, input.params.id), { completed: presentBooking, accepted: presentBooking });
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
      headers: idempotencyHeaders,
      responses: {
        201: {
          description:
            "The pending booking (a retry with the same Idempotency-Key returns the same one). Where the listing auto-confirms (its availability's auto_confirm), a request that fits is confirmed at once, as the realtor, by the booking's workflow: the body is then { booking, tour, call } as the confirm route answers it, the booking confirmed. If that confirmation cannot run just then, the booking stays pending for the realtor to answer (a retry with the same Idempotency-Key tries again).",
          data: z.union([bookingResource, confirmationData]),
        },
        404: { description: 'No such available property' },
        409: {
          description:
            "You already have a booking at an overlapping time, or the listing's availability refuses the time: outside its tour hours, taken by another tour or request of the realtor, inside the buffer around one, or sooner than its notice (the message says which, and the day's hours)",
        },
        422: { description: 'The Idempotency-Key was used for a different request' },
      },
      async handler(ctx, input) {
        const { booking, replayed, confirmation } = await bookings.create(actorOf(input), input.body, input.headers['Idempotency-Key']);
        if (replayed) ctx.set('Idempotent-Replayed', 'true');
        if (!confirmation) return sendData(ctx, presentBooking(booking), 201);
        sendData(
          ctx,
          {
            booking: presentBooking(booking),
            // A tour just made: nothing processed yet.
            tour: presentTour(confirmation.tour, { property_address: booking.property_address, call_id: confirmation.call.id, steps: {} }),
            call: presentCall(confirmation.call),
          },
          201,
        );
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
      headers: commandKeyHeaders,
      responses: {
        200: {
          description:
            'The confirmed booking with its tour and call; the same again for a repeat by you of a confirmation already made (by you, or by the listing\'s auto-confirm)',
          data: confirmationData,
        },
        ...commandResponses({ what: 'the booking (still pending)', data: bookingResource }),
        ...notFound,
        ...conflict,
      },
      async handler(ctx, input) {
        const answer = await bookings.confirm(actorOf(input), input.params.id, input.headers['Idempotency-Key']);
        await answerCommand(ctx, answer, bookingAt('realtors', input.params.id), { completed: presentConfirmation, accepted: presentBooking });
      },
    }),
    defineRoute({
      method: 'put',
      path: '/api/v1/realtors/bookings/:id/decline',
      summary: 'Decline a pending request (optional { reason })',
      tags: [realtorTag],
      params: idParams,
      body: reasonBody,
      headers: commandKeyHeaders,
      responses: {
        200: { description: 'The declined booking', data: bookingResource },
        ...commandResponses({ what: 'the booking', data: bookingResource }),
        ...notFound,
        ...conflict,
      },
      async handler(ctx, input) {
        const answer = await bookings.decline(actorOf(input), input.params.id, input.body.reason, input.headers['Idempotency-Key']);
        await answerCommand(ctx, answer, bookingAt('realtors', input.params.id), { completed: presentBooking, accepted: presentBooking });
      },
    }),

    list('admin', adminBookingListQuery),
    get('admin', adminTag),
    update('admin', adminTag, adminUpdateBody, 'Reschedule or edit notes of any booking'),
    cancel('admin', adminTag),
  ];
}
