import { z } from 'zod';
import { callResource, tourResource } from '../tours/schemas';
import { paginationQuery } from '../pagination';
import { BOOKING_STATUSES } from '../../contracts/bookings';
import { bodyInt, dateTimeInput, idParam, isoDateTime, nonEmptyObject, orderedFields, resourceSchema, textField, withRules, type RequestRule } from '../schemas';

const when = dateTimeInput().describe('ISO 8601 with a time zone');
const duration = bodyInt().min(15, 'must be at least 15').max(240, 'must be at most 240');
const notes = textField().trim().max(2000).nullable();
const reason = textField().trim().min(1).max(1000);

/** Checked by the booking service against the clock (its 400 names scheduled_at). */
const bookingWindow: RequestRule = {
  rule: 'from-now',
  field: 'scheduled_at',
  min_minutes_setting: 'BOOKING_MIN_NOTICE_MINUTES',
  max_days_setting: 'BOOKING_MAX_AHEAD_DAYS',
  description: 'scheduled_at must be at least BOOKING_MIN_NOTICE_MINUTES (60 by default) minutes and at most BOOKING_MAX_AHEAD_DAYS (365 by default) days from now',
};

export const createBookingBody = withRules(
  z
    .object({
      property_id: bodyInt(1),
      scheduled_at: when,
      duration_minutes: duration.optional().describe("Default: the listing's tour length (30 minutes unless the realtor set one)"),
      notes: notes.optional(),
    })
    .strict(),
  [bookingWindow],
);

export const buyerUpdateBody = withRules(
  nonEmptyObject(z.object({ scheduled_at: when.optional(), duration_minutes: duration.optional(), notes: notes.optional() }).strict()),
  [bookingWindow],
);

export const realtorUpdateBody = withRules(
  nonEmptyObject(z.object({ scheduled_at: when.optional(), duration_minutes: duration.optional() }).strict()),
  [bookingWindow],
);

export const adminUpdateBody = buyerUpdateBody;

export const reasonBody = z.object({ reason: reason.optional() }).strict();

const listFields = {
  ...paginationQuery,
  status: z.enum(BOOKING_STATUSES).optional(),
  property_id: idParam.optional(),
  from: dateTimeInput().optional().describe('scheduled at or after'),
  to: dateTimeInput().optional().describe('scheduled before'),
};

export const bookingListQuery = orderedFields(z.object(listFields).strict(), 'from', 'to', 'date-time');
export const adminBookingListQuery = orderedFields(
  z.object({ ...listFields, buyer_id: idParam.optional(), realtor_id: idParam.optional() }).strict(),
  'from',
  'to',
  'date-time',
);

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
