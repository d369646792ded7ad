import { z } from 'zod';
import { sendData, sendPage } from '../envelope';
import { actorOf, defineRoute, type AnyRouteSpec } from '../routing';
import { idParams } from '../schemas';
import { presentException, presentListingAvailability, presentRealtorAvailability, presentSlots } from './presenter';
import {
  exceptionBody,
  exceptionListQuery,
  exceptionParams,
  exceptionResource,
  listingAvailabilityBody,
  propertyAvailabilityResource,
  propertyExceptionParams,
  realtorAvailabilityResource,
  realtorHoursBody,
  slotsQuery,
  slotsResource,
} from './schemas';
import type { AvailabilityService } from './service';

const NO_HOURS =
  'Where no weekly hours are set (hours_set false), nothing changes from before availability existed: slots is empty and a tour may be requested at any time at least BOOKING_MIN_NOTICE_MINUTES ahead.';

export function availabilityRoutes(availability: AvailabilityService): AnyRouteSpec[] {
  const realtorTag = 'Realtor: availability';
  const noListing: Record<number, { description: string }> = { 404: { description: 'No such listing of yours' } };

  /** The exception routes, for the realtor's own (no property) or one listing's. */
  const exceptionRoutes = (base: string, forListing: boolean): AnyRouteSpec[] => [
    defineRoute({
      method: 'get',
      path: `${base}/exceptions`,
      summary: forListing ? "Your listing's own days off and extra hours" : 'Your days off and extra hours (all your listings)',
      tags: [realtorTag],
      ...(forListing ? { params: idParams } : {}),
      query: exceptionListQuery,
      responses: { 200: { description: 'A page of exceptions, by date', data: z.array(exceptionResource), paginated: true }, ...(forListing ? noListing : {}) },
      async handler(ctx, input) {
        const { items, meta } = await availability.listExceptions(actorOf(input), (input.params as { id?: number } | undefined)?.id, input.query as never);
        sendPage(ctx, items.map(presentException), meta);
      },
    }),
    defineRoute({
      method: 'post',
      path: `${base}/exceptions`,
      summary: forListing ? 'Add a day off or extra hours for your listing (applies after yours)' : 'Add a day off or extra hours (all your listings)',
      tags: [realtorTag],
      ...(forListing ? { params: idParams } : {}),
      body: exceptionBody,
      responses: { 201: { description: 'The exception', data: exceptionResource }, ...(forListing ? noListing : {}) },
      async handler(ctx, input) {
        sendData(ctx, presentException(await availability.addException(actorOf(input), (input.params as { id?: number } | undefined)?.id, input.body as never)), 201);
      },
    }),
    defineRoute({
      method: 'delete',
      path: forListing ? `${base}/exceptions/:exception_id` : `${base}/exceptions/:id`,
      summary: 'Remove an exception',
      tags: [realtorTag],
      params: forListing ? propertyExceptionParams : exceptionParams,
      responses: { 204: { description: 'Removed' }, 404: { description: 'No such exception (or listing) of yours' } },
      async handler(ctx, input) {
        const params = input.params as { id: number; exception_id?: number };
        if (forListing) await availability.deleteException(actorOf(input), params.id, params.exception_id!);
        else await availability.deleteException(actorOf(input), undefined, params.id);
        ctx.status = 204;
      },
    }),
  ];

  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/buyers/properties/:id/availability',
      summary: "Free tour slots of a listing, of its default tour length, in [from, to)",
      tags: ['Buyer: properties'],
      params: idParams,
      query: slotsQuery,
      responses: {
        200: {
          description:
            "The free slots: inside the listing's weekly hours and exceptions (in its time zone, DST included), after its minimum notice, clear of pending and confirmed bookings and tours of the listing or its realtor and of the buffer around them. A request may start at any time that fits, not only at a listed slot. " +
            NO_HOURS,
          data: slotsResource,
        },
        404: { description: 'No such listing open for tours' },
      },
      async handler(ctx, input) {
        sendData(ctx, presentSlots(await availability.slots(actorOf(input), input.params.id, input.query)));
      },
    }),

    defineRoute({
      method: 'get',
      path: '/api/v1/realtors/availability',
      summary: 'Your weekly tour hours, buffer and notice',
      tags: [realtorTag],
      responses: { 200: { description: `Your hours. ${NO_HOURS}`, data: realtorAvailabilityResource } },
      async handler(ctx, input) {
        const actor = actorOf(input);
        sendData(ctx, presentRealtorAvailability(actor.user.id, await availability.getRealtorHours(actor)));
      },
    }),
    defineRoute({
      method: 'put',
      path: '/api/v1/realtors/availability',
      summary: 'Set your weekly tour hours (wall-clock, in an IANA time zone), buffer and notice',
      tags: [realtorTag],
      body: realtorHoursBody,
      responses: {
        200: {
          description:
            'Your hours, in force for new requests and reschedules of all your listings (a listing may override them); a time outside them, inside a buffer or too soon is then refused with 409. Bookings already made stay.',
          data: realtorAvailabilityResource,
        },
      },
      async handler(ctx, input) {
        const actor = actorOf(input);
        sendData(ctx, presentRealtorAvailability(actor.user.id, await availability.setRealtorHours(actor, input.body)));
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/v1/realtors/availability',
      summary: 'Remove your weekly hours: your listings take requests at any time again',
      tags: [realtorTag],
      responses: { 204: { description: 'Removed (or there were none); your exceptions are kept' } },
      async handler(ctx, input) {
        await availability.clearRealtorHours(actorOf(input));
        ctx.status = 204;
      },
    }),
    ...exceptionRoutes('/api/v1/realtors/availability', false),

    defineRoute({
      method: 'get',
      path: '/api/v1/realtors/properties/:id/availability',
      summary: "Your listing's availability: its own overrides, its tour length, and what applies",
      tags: [realtorTag],
      params: idParams,
      responses: { 200: { description: `The listing's settings. ${NO_HOURS}`, data: propertyAvailabilityResource }, ...noListing },
      async handler(ctx, input) {
        const v = await availability.getListing(actorOf(input), input.params.id);
        sendData(ctx, presentListingAvailability(input.params.id, v.row, v.rules, v.minNoticeMinutes));
      },
    }),
    defineRoute({
      method: 'put',
      path: '/api/v1/realtors/properties/:id/availability',
      summary: "Set your listing's overrides (null: yours apply), its default tour length and whether it confirms requests at once",
      tags: [realtorTag],
      params: idParams,
      body: listingAvailabilityBody,
      responses: {
        200: {
          description:
            "The listing's settings. With auto_confirm, a request that fits (inside the hours, clear of other tours and buffers, after the notice) is confirmed at once by its booking's workflow, as you: the request answers 201 with the confirmed booking, its tour and call.",
          data: propertyAvailabilityResource,
        },
        ...noListing,
      },
      async handler(ctx, input) {
        const v = await availability.setListing(actorOf(input), input.params.id, input.body);
        sendData(ctx, presentListingAvailability(input.params.id, v.row, v.rules, v.minNoticeMinutes));
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/v1/realtors/properties/:id/availability',
      summary: "Remove your listing's overrides: your hours and the default tour length apply, and requests wait for you to confirm",
      tags: [realtorTag],
      params: idParams,
      responses: { 204: { description: 'Removed (or there were none); its exceptions are kept' }, ...noListing },
      async handler(ctx, input) {
        await availability.clearListing(actorOf(input), input.params.id);
        ctx.status = 204;
      },
    }),
    ...exceptionRoutes('/api/v1/realtors/properties/:id/availability', true),
  ];
}
