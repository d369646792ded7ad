import type { Client } from '@temporalio/client';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { TourWorkflowInput } from './tours';

/**
 * The bookings domain's contract: what the API, the BookingWorkflow, its activities and the
 * tests agree on, declared once (as `app/order/api.go` in reference-app-orders-go). A leaf:
 * it imports only the workflow SDK's message definitions and other contracts' types.
 */

// Statuses ---------------------------------------------------------------------------------

export const BOOKING_STATUSES = ['pending', 'confirmed', 'declined', 'cancelled', 'expired', 'completed'] as const;
export type BookingStatus = (typeof BOOKING_STATUSES)[number];

/** Each status by name, so code outside this module never spells one (`BOOKING_STATUS.confirmed`). */
export const BOOKING_STATUS = {
  pending: 'pending',
  confirmed: 'confirmed',
  declined: 'declined',
  cancelled: 'cancelled',
  expired: 'expired',
  completed: 'completed',
} as const satisfies { [S in BookingStatus]: S };

/** What the workflow reports: a booking's status, or where the workflow itself is. */
export type BookingStage = BookingStatus | 'loading' | 'missing';

/**
 * The only moves a booking makes (to → from is how the activities check them):
 *   pending → confirmed | declined | cancelled | expired;  confirmed → completed | cancelled.
 */
export const BOOKING_TRANSITIONS: Readonly<Record<BookingStatus, readonly BookingStatus[]>> = {
  pending: ['confirmed', 'declined', 'cancelled', 'expired'],
  confirmed: ['completed', 'cancelled'],
  declined: [],
  cancelled: [],
  expired: [],
  completed: [],
};

export const canMoveBooking = (from: BookingStatus, to: BookingStatus): boolean => BOOKING_TRANSITIONS[from].includes(to);

/** A booking in these never changes again (notes included). */
export const FINAL_BOOKING_STATUSES: readonly BookingStatus[] = BOOKING_STATUSES.filter((s) => BOOKING_TRANSITIONS[s].length === 0);
export const isFinalBooking = (status: BookingStage): boolean => status === 'missing' || FINAL_BOOKING_STATUSES.includes(status as BookingStatus);

/** A reschedule keeps the status, so it is not a transition: these may be moved. */
export const BOOKING_MOVABLE: readonly BookingStatus[] = ['pending', 'confirmed'];

/** Which statuses each command needs, and how a refusal reads ("This booking is <status>; it cannot be <verb>"). */
export const BOOKING_COMMANDS = {
  confirm: { from: ['pending'], verb: 'confirmed' },
  decline: { from: ['pending'], verb: 'declined' },
  cancel: { from: ['pending', 'confirmed'], verb: 'cancelled' },
  reschedule: { from: BOOKING_MOVABLE, verb: 'rescheduled' },
} as const satisfies Record<string, { from: readonly BookingStatus[]; verb: string }>;
export type BookingCommand = keyof typeof BOOKING_COMMANDS;

/** Why a booking cannot move from `from` by `verb` ("confirmed", "rescheduled", …). */
export const bookingRefusal = (from: string, verb: string) => `This booking is ${from}; it cannot be ${verb}`;

/** The statuses a booking may reach `to` from: what the activities check under the row lock. */
export const bookingSourcesOf = (to: BookingStatus): BookingStatus[] => BOOKING_STATUSES.filter((from) => canMoveBooking(from, to));

// Failure types ----------------------------------------------------------------------------

/** ApplicationFailure types: the move is not allowed now; the database refused an overlap. */
export const BOOKING_FAILURES = {
  invalidTransition: 'InvalidTransition',
  slotTaken: 'SlotTaken',
} as const;
export type BookingFailureType = (typeof BOOKING_FAILURES)[keyof typeof BOOKING_FAILURES];

// Workflow ---------------------------------------------------------------------------------

export const bookingWorkflowId = (id: number) => `booking-${id}`;

export interface BookingWorkflowInput {
  bookingId: number;
  /** A pending request expires this long before its start (0: at its scheduled time). */
  expiryLeadMinutes?: number;
  /**
   * The reminder's activity starts this long before the reminder is due and sends at its time
   * (bookings started with the reminder-at-due patch; DEFAULT_REMINDER_HEADSTART_SECONDS when unset).
   */
  reminderHeadstartSeconds?: number;
  /** Passed on to the tour's workflow at confirmation. */
  tour?: Pick<TourWorkflowInput, 'maxCallMinutes' | 'emptyCallEndMinutes' | 'noShowGraceMinutes'>;
}

/** The configured timings a booking's workflow (and its tour's) runs with. */
export type BookingWorkflowSettings = Omit<BookingWorkflowInput, 'bookingId'>;

/** The workflow's registered name: the API and the worker's sweeper start it by name. */
export const BOOKING_WORKFLOW_TYPE = 'bookingWorkflow';

/** The configuration's timings, as lib/config.ts shapes them (structurally: a contract imports no layer). */
export interface BookingWorkflowTimings {
  bookings: { expiryLeadMinutes: number; reminderHeadstartSeconds: number };
  tours: { maxCallMinutes: number; emptyCallEndMinutes: number; noShowGraceMinutes: number };
}

export function bookingWorkflowSettings(config: BookingWorkflowTimings): BookingWorkflowSettings {
  return {
    expiryLeadMinutes: config.bookings.expiryLeadMinutes,
    reminderHeadstartSeconds: config.bookings.reminderHeadstartSeconds,
    tour: {
      maxCallMinutes: config.tours.maxCallMinutes,
      emptyCallEndMinutes: config.tours.emptyCallEndMinutes,
      noShowGraceMinutes: config.tours.noShowGraceMinutes,
    },
  };
}

/**
 * Starts a booking's workflow, from the API and from the worker's sweeper. Idempotent: the
 * id is derived from the row, and a run that exists is kept.
 */
export async function startBookingWorkflow(client: Client, taskQueue: string, bookingId: number, settings: BookingWorkflowSettings): Promise<void> {
  const input: BookingWorkflowInput = { ...settings, bookingId };
  await client.workflow.start(BOOKING_WORKFLOW_TYPE, { taskQueue, workflowId: bookingWorkflowId(bookingId), args: [input], workflowIdConflictPolicy: 'USE_EXISTING' });
}

export const BOOKING_REMINDER_LEAD_MS = 15 * 60_000;
/**
 * How long before its time a reminder's activity starts (bookings started with the
 * reminder-at-due patch) unless the workflow's input says (BOOKING_REMINDER_HEADSTART_SECONDS):
 * it waits out the rest itself, so a reminder goes at its time even when workflow tasks
 * queue for seconds under load.
 */
export const DEFAULT_REMINDER_HEADSTART_SECONDS = 60;
/** A confirmed booking whose tour never reports back completes this long after its end. */
export const BOOKING_COMPLETION_GRACE_MS = 7 * 24 * 60 * 60_000;

export interface ActorRef {
  userId: number;
  role: 'buyer' | 'realtor' | 'admin';
}

export interface BookingState {
  bookingId: number;
  status: BookingStage;
  scheduledAt: string | null;
  durationMinutes: number | null;
  tourId: number | null;
  callId: number | null;
  reminderSentFor: string | null;
}

export interface ConfirmResult {
  bookingId: number;
  tourId: number;
  callId: number;
}

export interface RescheduleChange {
  scheduledAt: string;
  durationMinutes: number;
}

export const confirmUpdate = defineUpdate<ConfirmResult, [ActorRef]>('confirm');
export const declineUpdate = defineUpdate<BookingState, [ActorRef, string | null]>('decline');
export const cancelUpdate = defineUpdate<BookingState, [ActorRef, string | null]>('cancel');
export const rescheduleUpdate = defineUpdate<BookingState, [ActorRef, RescheduleChange]>('reschedule');
export const bookingStateQuery = defineQuery<BookingState>('state');
// The tour's `tourFinished` signal to its booking is declared in the tours contract, which sends it.

// Activities' shapes -----------------------------------------------------------------------

/** The booking as its workflow starts. */
export interface BookingSnapshot {
  status: BookingStatus;
  scheduledAt: string;
  durationMinutes: number;
  propertyId: number;
  realtorId: number;
  buyerId: number;
  tourId: number | null;
  callId: number | null;
}

/** Statuses a transition activity moves a booking to (confirmation has its own). */
export type BookingTransitionTarget = Exclude<BookingStatus, 'pending' | 'confirmed'>;

export interface RescheduleResult {
  scheduledAt: string;
  durationMinutes: number;
  icsSequence: number;
}

// Notices ----------------------------------------------------------------------------------

export const BOOKING_NOTICE_KINDS = ['request', 'confirmed', 'reminder', 'rescheduled', 'declined', 'cancelled', 'expired'] as const;
export type BookingNoticeKind = (typeof BOOKING_NOTICE_KINDS)[number];

/** One message the workflow asks the activities to send, at most once per discriminator. */
export interface BookingNotice {
  bookingId: number;
  kind: BookingNoticeKind;
  discriminator: string;
  actorUserId?: number;
  previousScheduledAt?: string;
  /**
   * Not before (ISO): the activity waits until then, and sends a reminder only if the booking
   * is still confirmed for the time it reminds of (a reminder started ahead of its time).
   */
  sendAt?: string;
}

/** The calendar event of a booking: calendars replace an event sent again under the same UID. */
export const bookingCalendarUid = (bookingId: number) => `${bookingWorkflowId(bookingId)}@realtyforyou`;

/** What a booking's emails are made of, as the activities load them. */
export interface BookingNoticeFacts {
  booking: {
    id: number;
    status: BookingStatus;
    scheduled_at: Date;
    ends_at: Date;
    duration_minutes: number;
    notes: string | null;
    ics_sequence: number;
    decline_reason: string | null;
    cancellation_reason: string | null;
  };
  property: { address: string; city: string | null };
  buyer: { id: number; name: string; email: string };
  realtor: { id: number; name: string; email: string };
  tourId: number | null;
}

/** The notifications ledger's key: one message per booking, kind, occasion and recipient. */
export const bookingNoticeKey = (n: Pick<BookingNotice, 'bookingId' | 'kind' | 'discriminator'>, recipientUserId: number) =>
  `booking:${n.bookingId}:${n.kind}:${n.discriminator}:user-${recipientUserId}`;
