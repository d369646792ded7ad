import { z } from 'zod';
import { callResource, tourResource } from '../tours/schemas';
import { paginationQuery } from '../pagination';
import { BOOKING_STATUSES } from '../../contracts/bookings';
import { bodyInt, dateTimeInput, idParam, isoDateTime, resourceSchema, textField } from '../schemas';

const when = dateTimeInput();
const duration = bodyInt().min(15, 'must be at least 15').max(240, 'must be at most 240');
const notes = textField().trim().max(2000).nullable();
const reason = textField().trim().min(1).max(1000);

export const createBookingBody = z
  .object({
    property_id: bodyInt(1),
    scheduled_at: when,
    duration_minutes: duration.default(30),
    notes: notes.optional(),
  })
  .strict();

const nonEmpty = (b: object) => Object.keys(b).length > 0;

export const buyerUpdateBody = z
  .object({ scheduled_at: when.optional(), duration_minutes: duration.optional(), notes: notes.optional() })
  .strict()
  .refine(nonEmpty, { message: 'nothing to change' });

export const realtorUpdateBody = z
  .object({ scheduled_at: when.optional(), duration_minutes: duration.optional() })
  .strict()
  .refine(nonEmpty, { message: 'nothing to change' });

export const adminUpdateBody = buyerUpdateBody;

export const reasonBody = z.object({ reason: reason.optional() }).strict();

const listFields = {
  ...paginationQuery,
  status: z.enum(BOOKING_STATUSES).optional(),
  property_id: idParam.optional(),
  from: dateTimeInput().optional().describe('scheduled at or after'),
  to: dateTimeInput().optional().describe('scheduled before'),
};
const range = (q: { from?: string; to?: string }) => !q.from || !q.to || new Date(q.from) <= new Date(q.to);

export const bookingListQuery = z.object(listFields).strict().refine(range, { message: 'from must not be after to', path: ['from'] });
export const adminBookingListQuery = z
  .object({ ...listFields, buyer_id: idParam.optional(), realtor_id: idParam.optional() })
  .strict()
  .refine(range, { message: 'from must not be after to', path: ['from'] });

export type BookingFilters = z.infer<typeof adminBookingListQuery>;

export const bookingResource = resourceSchema(
  'booking',
  z.object({
    property_id: z.number().int(),
    buyer_id: z.number().int(),
    realtor_id: z.number().int(),
    scheduled_at: isoDateTime,
    ends_at: isoDateTime,
    duration_minutes: z.number().int(),
    status: z.enum(BOOKING_STATUSES),
    notes: z.string().nullable(),
    decline_reason: z.string().nullable(),
    cancellation_reason: z.string().nullable(),
    created_at: isoDateTime,
    updated_at: isoDateTime,
  }),
  z.object({
    property: z.object({ data: z.object({ id: z.string(), type: z.literal('property'), attributes: z.object({ address: z.string() }) }) }),
    tour: z.object({ data: z.object({ id: z.string(), type: z.literal('tour') }).nullable() }),
  }),
);

export const confirmationData = z.object({ booking: bookingResource, tour: tourResource, call: callResource });
