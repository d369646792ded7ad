import { z } from 'zod';
import { EXCEPTION_KINDS, WEEKDAYS, isTime, isValidTimeZone } from '../../lib/availability';
import { paginationQuery } from '../pagination';
import { bodyInt, dateTimeInput, idParam, isoDateTime, orderedFields, resourceSchema, textField, withRules, type RequestRule } from '../schemas';

/** The longest window one availability request answers (a longer one is cut to it). */
export const MAX_RANGE_DAYS = 31;
/** How far ahead the availability window reaches when `to` is not given. */
export const DEFAULT_RANGE_DAYS = 7;
export const MAX_RANGES_PER_DAY = 6;

// Every pair of times is a window (lib/availability.ts): one ending at or before its start
// runs into the next day, and overlapping windows are joined. So no combination of valid
// times is refused, and the document's patterns say all there is to say about them.
const START_PATTERN = '^(?:[01][0-9]|2[0-3]):[0-5][0-9]$';
const END_PATTERN = '^(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00)$';
const startTime = z
  .string()
  .regex(new RegExp(START_PATTERN), 'must be a wall-clock time HH:MM from 00:00 to 23:59')
  .describe('wall-clock time HH:MM (24-hour, 00:00 to 23:59) in the time zone');
const endTime = z
  .string()
  .regex(new RegExp(END_PATTERN), 'must be a wall-clock time HH:MM from 00:00 to 24:00')
  .refine(isTime, 'must be a wall-clock time HH:MM from 00:00 to 24:00')
  .describe('wall-clock time HH:MM (24-hour) in the time zone; 24:00 is the end of the day; at or before the start: that time the next day');

const timeRange = z
  .object({ start: startTime, end: endTime })
  .strict()
  .describe('a window from start to end; one that ends at or before its start runs past midnight (22:00–02:00; 09:00–09:00 is 24 hours)');

const dayRanges = z.array(timeRange).max(MAX_RANGES_PER_DAY);

/** A day left out (or an empty list) is closed. */
export const weeklyHoursInput = z
  .object(Object.fromEntries(WEEKDAYS.map((d) => [d, dayRanges.optional()])) as Record<(typeof WEEKDAYS)[number], z.ZodOptional<typeof dayRanges>>)
  .strict()
  .describe(
    `the windows of each weekday (${WEEKDAYS.join(', ')}), each {start, end} in wall-clock HH:MM, at most ${MAX_RANGES_PER_DAY} a day (overlapping ones are joined; one past midnight runs into the next day); a day left out is closed`,
  );

export const timeZoneInput = z
  .string()
  .max(64)
  .regex(/^[A-Za-z0-9_+\-/]+$/, 'must be an IANA time zone name, e.g. America/New_York')
  .refine(isValidTimeZone, 'must be an IANA time zone name, e.g. America/New_York')
  .describe('IANA time zone name, e.g. America/New_York');

/** The zone database is the server's: a name it does not know is a 400 naming time_zone (declared, as JSON Schema cannot list it). */
const knownTimeZone: RequestRule = {
  rule: 'refers',
  field: 'time_zone',
  to: 'iana_time_zone',
  description: 'time_zone must name a zone of the IANA time zone database (America/New_York, Europe/Paris, UTC); any other name is a 400 naming time_zone',
};

const bufferMinutes = bodyInt(0, 240).describe('minutes kept free between two tours (the larger of two neighbours\' buffers applies)');
const minNoticeMinutes = bodyInt(0, 60 * 24 * 30).describe(
  'how long before a tour it may be requested at the latest, in minutes; null: BOOKING_MIN_NOTICE_MINUTES. The service-wide BOOKING_MIN_NOTICE_MINUTES stays the floor',
);
const durationMinutes = bodyInt(15, 240).describe('the default tour length: the length of the free slots buyers are offered, and of a request that gives none');
const autoConfirm = z
  .boolean()
  .describe(
    'confirm a request that fits the availability at once, as you (the same tour, call and emails as confirming by hand); with no hours set any time fits, but not one taken by another of your tours or requests or inside its buffer',
  );

export const realtorHoursBody = withRules(
  z
    .object({
      time_zone: timeZoneInput,
      weekly_hours: weeklyHoursInput,
      buffer_minutes: bufferMinutes.default(0),
      min_notice_minutes: minNoticeMinutes.nullable().default(null),
    })
    .strict(),
  [knownTimeZone],
);

/** Each field null or left out: the realtor's applies. */
export const listingAvailabilityBody = withRules(
  z
    .object({
      time_zone: timeZoneInput
        .nullable()
        .default(null)
        .describe("the zone the listing's hours and exceptions are read in; null: the realtor's, or UTC when the realtor has none"),
      weekly_hours: weeklyHoursInput.nullable().default(null),
      buffer_minutes: bufferMinutes.nullable().default(null),
      min_notice_minutes: minNoticeMinutes.nullable().default(null),
      duration_minutes: durationMinutes.default(30),
      auto_confirm: autoConfirm.default(false),
    })
    .strict(),
  [knownTimeZone],
);

const MIN_YEAR = 1970;
const MAX_YEAR = 9998;
/** The years above as a pattern on the written year, for the document (as api/schemas.ts does for date-times). */
const YEAR_PATTERN = '^(?:19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-';
export const calendarDate = z.iso
  .date({ message: 'must be a real date YYYY-MM-DD' })
  .refine((d) => Number(d.slice(0, 4)) >= MIN_YEAR && Number(d.slice(0, 4)) <= MAX_YEAR, {
    message: `must be a date between the years ${MIN_YEAR} and ${MAX_YEAR}`,
    when: (p) => p.issues.length === 0,
  })
  .meta({ allOf: [{ pattern: YEAR_PATTERN }] })
  .describe("a date YYYY-MM-DD, in the listing's time zone");

export const exceptionBody = z
  .object({
    date: calendarDate,
    kind: z
      .enum(EXCEPTION_KINDS)
      .describe("day_off: closed start_time–end_time of that date; extra_hours: open then, on top of the week's hours. Without times: the whole date"),
    start_time: startTime.optional().describe('from (HH:MM); left out: midnight at the start of the date'),
    end_time: endTime.optional().describe('until (HH:MM; 24:00 is the end of the date); left out: the end of the date; at or before start_time: that time the next day'),
    note: textField().trim().max(500).nullable().optional(),
  })
  .strict();

export const exceptionListQuery = orderedFields(
  z.object({ ...paginationQuery, from: calendarDate.optional().describe('dated on or after'), to: calendarDate.optional().describe('dated on or before') }).strict(),
  'from',
  'to',
  'date-time',
);

export const slotsQuery = orderedFields(
  z
    .object({
      from: dateTimeInput().optional().describe('slots starting at or after (default: now)'),
      to: dateTimeInput().optional().describe(`slots starting before (default: ${DEFAULT_RANGE_DAYS} days after from; a later one is cut to ${MAX_RANGE_DAYS} days after it; at or before from: no slots)`),
    })
    .strict(),
  'from',
  'to',
  'date-time',
);

export const exceptionParams = z.object({ id: idParam.describe('exception id') }).strict();
export const propertyExceptionParams = z.object({ id: idParam.describe('property id'), exception_id: idParam.describe('exception id') }).strict();

// Responses ------------------------------------------------------------------------------------

const rangeOut = z.object({ start: z.string(), end: z.string() });
const weeklyHoursOut = z.object(Object.fromEntries(WEEKDAYS.map((d) => [d, z.array(rangeOut)])) as Record<(typeof WEEKDAYS)[number], z.ZodArray<typeof rangeOut>>);

export const realtorAvailabilityResource = resourceSchema(
  'realtor_availability',
  z.object({
    hours_set: z.boolean().describe('false: no weekly hours, so your listings take requests at any time (unless a listing has its own)'),
    time_zone: z.string().nullable(),
    weekly_hours: weeklyHoursOut.nullable(),
    buffer_minutes: z.number().int(),
    min_notice_minutes: z.number().int().nullable(),
    updated_at: isoDateTime.nullable(),
  }),
);

export const propertyAvailabilityResource = resourceSchema(
  'property_availability',
  z.object({
    property_id: z.number().int(),
    duration_minutes: z.number().int(),
    auto_confirm: z.boolean().describe('requests that fit are confirmed at once'),
    override: z.object({
      time_zone: z.string().nullable(),
      weekly_hours: weeklyHoursOut.nullable(),
      buffer_minutes: z.number().int().nullable(),
      min_notice_minutes: z.number().int().nullable(),
    }),
    effective: z.object({
      hours_set: z.boolean().describe('false: no weekly hours apply, so the listing takes requests at any time'),
      source: z.enum(['listing', 'realtor']).nullable().describe('whose weekly hours apply'),
      time_zone: z.string().nullable(),
      weekly_hours: weeklyHoursOut.nullable(),
      buffer_minutes: z.number().int(),
      min_notice_minutes: z.number().int(),
    }),
    updated_at: isoDateTime.nullable(),
  }),
);

export const exceptionResource = resourceSchema(
  'availability_exception',
  z.object({
    realtor_id: z.number().int().nullable(),
    property_id: z.number().int().nullable(),
    date: z.string(),
    kind: z.enum(EXCEPTION_KINDS),
    start_time: z.string().nullable(),
    end_time: z.string().nullable(),
    note: z.string().nullable(),
    created_at: isoDateTime,
  }),
);

export const slotsResource = resourceSchema(
  'property_availability_slots',
  z.object({
    property_id: z.number().int(),
    hours_set: z.boolean().describe('false: no weekly hours are set, slots is empty and any time (after the minimum notice) may be requested'),
    time_zone: z.string().nullable(),
    duration_minutes: z.number().int(),
    auto_confirm: z.boolean().describe('true: a request that fits is confirmed at once (the booking comes back confirmed, with its tour and call)'),
    buffer_minutes: z.number().int(),
    min_notice_minutes: z.number().int(),
    from: isoDateTime.describe('the window the slots were looked for in: from'),
    to: isoDateTime.describe(`…to (cut to ${MAX_RANGE_DAYS} days after from)`),
    slots: z.array(z.object({ start: isoDateTime, end: isoDateTime })),
  }),
);
