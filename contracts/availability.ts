/**
 * The availability domain's contract (issue 14, point 1): the failure a booking's workflow
 * reports when a reschedule breaks the listing's availability rules, declared once. A leaf.
 *
 * The rules themselves (weekly hours, exceptions, buffers, minimum notice) are pure
 * functions in lib/availability.ts; the bookings repository applies them on every insert
 * and reschedule, so the API and the activities cannot disagree.
 */

/** ApplicationFailure types: the time is outside the hours, inside a buffer, taken, or too soon. */
export const AVAILABILITY_FAILURES = {
  outsideAvailability: 'OutsideAvailability',
} as const;
export type AvailabilityFailureType = (typeof AVAILABILITY_FAILURES)[keyof typeof AVAILABILITY_FAILURES];
