import {
  ActivityFailure,
  ApplicationFailure,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  defineQuery,
  defineSignal,
  defineUpdate,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { CommandLock } from './command-lock';
import type { BookingNoticeKind, BookingSnapshot } from '../activities/bookings.activities';
import { BookingStatus, BuyerId, PropertyId, RealtorId } from './search-attributes';
import { TOUR_FINISHED_SIGNAL, tourCancelSignal, tourRescheduleSignal, tourWorkflow, tourWorkflowId, type TourWorkflowInput } from './tour.workflow';

/**
 * One per booking (id `booking-<id>`), the only writer of the booking's status:
 *   pending → confirmed | declined | cancelled | expired;  confirmed → completed | cancelled.
 * Commands arrive as Updates (validated, so an impossible transition is refused with a
 * reason); the 15-minute reminder and the pending expiry are durable timers that follow
 * every reschedule. Notifications are queued here and sent by activities, each at most
 * once (the notifications ledger).
 */

export const bookingWorkflowId = (bookingId: number) => `booking-${bookingId}`;

export const REMINDER_LEAD_MS = 15 * 60_000;
/** A confirmed booking whose tour never reports back completes this long after its end. */
export const COMPLETION_GRACE_MS = 7 * 24 * 60 * 60_000;

export type BookingStatusValue = 'pending' | 'confirmed' | 'declined' | 'cancelled' | 'expired' | 'completed';

export interface BookingWorkflowInput {
  bookingId: number;
  /** A pending request expires this long before its start (0: at its scheduled time). */
  expiryLeadMinutes?: number;
  /** Passed on to the tour's workflow at confirmation. */
  tour?: Pick<TourWorkflowInput, 'maxCallMinutes' | 'emptyCallEndMinutes' | 'noShowGraceMinutes'>;
}

export interface ActorRef {
  userId: number;
  role: 'buyer' | 'realtor' | 'admin';
}

export interface BookingState {
  bookingId: number;
  status: BookingStatusValue | 'loading' | 'missing';
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

export const confirmUpdate = defineUpdate<ConfirmResult, [ActorRef]>('confirm');
export const declineUpdate = defineUpdate<BookingState, [ActorRef, string | null]>('decline');
export const cancelUpdate = defineUpdate<BookingState, [ActorRef, string | null]>('cancel');
export const rescheduleUpdate = defineUpdate<BookingState, [ActorRef, { scheduledAt: string; durationMinutes: number }]>('reschedule');
/** From the tour's workflow when the tour is over. */
export const tourFinishedSignal = defineSignal<['completed' | 'cancelled']>(TOUR_FINISHED_SIGNAL);
export const bookingStateQuery = defineQuery<BookingState>('state');

/** Why a command was refused; the API answers 409 with the message. */
export const INVALID_TRANSITION = 'InvalidTransition';
export const SLOT_TAKEN = 'SlotTaken';

const db = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: [INVALID_TRANSITION, SLOT_TAKEN] },
});

const mail = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 20 },
});

/**
 * Histories recorded before it (no marker) replay as they ran: the main loop acted even
 * while a command was half-way, so a cancellation that still had to tell the tour ended
 * the workflow under the update (which then failed, its notice unsent), and a late
 * confirmation's reminder went out before the confirmation itself.
 */
const WAIT_FOR_COMMANDS_PATCH = 'booking-loop-waits-for-commands';

const TERMINAL: ReadonlySet<string> = new Set(['declined', 'cancelled', 'expired', 'completed', 'missing']);

interface Notice {
  kind: BookingNoticeKind;
  discriminator: string;
  actorUserId?: number;
  previousScheduledAt?: string;
}

function refuse(message: string): never {
  throw ApplicationFailure.create({ type: INVALID_TRANSITION, message, nonRetryable: true });
}

/** An activity's own refusal (slot taken, invalid transition) becomes the update's failure. */
function asUpdateFailure(err: unknown): never {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
    throw ApplicationFailure.create({ type: err.cause.type ?? INVALID_TRANSITION, message: err.cause.message, nonRetryable: true });
  }
  throw err;
}

export async function bookingWorkflow(input: BookingWorkflowInput): Promise<BookingState> {
  const expiryLeadMs = (input.expiryLeadMinutes ?? 0) * 60_000;
  const state: BookingState = {
    bookingId: input.bookingId,
    status: 'loading',
    scheduledAt: null,
    durationMinutes: null,
    tourId: null,
    callId: null,
    reminderSentFor: null,
  };
  setHandler(bookingStateQuery, () => state);
  const notices: Notice[] = [];
  let version = 0;
  let tourOutcome: 'completed' | 'cancelled' | null = null;

  const setStatus = (status: BookingStatusValue) => {
    state.status = status;
    upsertSearchAttributes([{ key: BookingStatus, value: status }]);
    version += 1;
  };

  /** Commands and timers take turns, so each sees the state the previous one left. */
  const lock = new CommandLock(() => state.status !== 'loading');
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => lock.run(fn);

  /** A validator (and the re-check inside each handler). While the row loads, let it wait. */
  const allow = (from: BookingStatusValue[], what: string) => (..._args: unknown[]): void => {
    if (state.status === 'loading') return;
    if (!from.includes(state.status as BookingStatusValue)) refuse(`This booking is ${state.status}; it cannot be ${what}`);
  };

  setHandler(
    confirmUpdate,
    (actor) =>
      exclusive(async () => {
        allow(['pending'], 'confirmed')();
        const result = await db.confirmBooking(input.bookingId, actor).catch(asUpdateFailure);
        state.tourId = result.tourId;
        state.callId = result.callId;
        setStatus('confirmed');
        await startChild(tourWorkflow, {
          workflowId: tourWorkflowId(result.tourId),
          args: [{ ...input.tour, tourId: result.tourId, bookingId: input.bookingId }],
          // The tour lives on its own once created; the booking does not own its lifetime.
          parentClosePolicy: ParentClosePolicy.ABANDON,
        });
        notices.push({ kind: 'confirmed', discriminator: state.scheduledAt!, actorUserId: actor.userId });
        return { bookingId: input.bookingId, tourId: result.tourId, callId: result.callId };
      }),
    { validator: allow(['pending'], 'confirmed') },
  );

  setHandler(
    declineUpdate,
    (actor, reason) =>
      exclusive(async () => {
        allow(['pending'], 'declined')();
        await db.transitionBooking(input.bookingId, 'declined', { actorUserId: actor.userId, reason }).catch(asUpdateFailure);
        setStatus('declined');
        notices.push({ kind: 'declined', discriminator: 'once', actorUserId: actor.userId });
        return state;
      }),
    { validator: allow(['pending'], 'declined') },
  );

  setHandler(
    cancelUpdate,
    (actor, reason) =>
      exclusive(async () => {
        allow(['pending', 'confirmed'], 'cancelled')();
        const wasConfirmed = state.status === 'confirmed';
        await db.transitionBooking(input.bookingId, 'cancelled', { actorUserId: actor.userId, reason }).catch(asUpdateFailure);
        setStatus('cancelled');
        notices.push({ kind: 'cancelled', discriminator: 'once', actorUserId: actor.userId });
        if (wasConfirmed && state.tourId) {
          try {
            await getExternalWorkflowHandle(tourWorkflowId(state.tourId)).signal(tourCancelSignal);
          } catch (err) {
            // The tour already ended (completed or cancelled on its own): the booking is cancelled all the same.
            log.info('tour not told of the cancellation', { tourId: state.tourId, error: String(err) });
          }
        }
        return state;
      }),
    { validator: allow(['pending', 'confirmed'], 'cancelled') },
  );

  setHandler(
    rescheduleUpdate,
    (actor, change) =>
      exclusive(async () => {
        allow(['pending', 'confirmed'], 'rescheduled')();
        const previousScheduledAt = state.scheduledAt!;
        const r = await db.rescheduleBooking(input.bookingId, change, actor.userId).catch(asUpdateFailure);
        state.scheduledAt = r.scheduledAt;
        state.durationMinutes = r.durationMinutes;
        version += 1;
        if (state.status === 'confirmed' && state.tourId) {
          await getExternalWorkflowHandle(tourWorkflowId(state.tourId)).signal(tourRescheduleSignal, r.scheduledAt, r.durationMinutes);
        }
        notices.push({ kind: 'rescheduled', discriminator: `seq-${r.icsSequence}`, actorUserId: actor.userId, previousScheduledAt });
        return state;
      }),
    { validator: allow(['pending', 'confirmed'], 'rescheduled') },
  );

  setHandler(tourFinishedSignal, (outcome) => {
    tourOutcome = outcome;
    version += 1;
  });

  // Handlers are in place before the first await, so a command that arrives while the
  // row loads waits for it instead of being refused.
  const snapshot: BookingSnapshot | null = await db.loadBookingForWorkflow(input.bookingId);
  if (!snapshot) {
    // No workflow acting on a missing row: a booking that was never committed ends here.
    state.status = 'missing';
    return state;
  }
  Object.assign(state, {
    status: snapshot.status,
    scheduledAt: snapshot.scheduledAt,
    durationMinutes: snapshot.durationMinutes,
    tourId: snapshot.tourId,
    callId: snapshot.callId,
  });
  upsertSearchAttributes([
    { key: BookingStatus, value: state.status },
    { key: PropertyId, value: snapshot.propertyId },
    { key: RealtorId, value: snapshot.realtorId },
    { key: BuyerId, value: snapshot.buyerId },
  ]);
  version += 1;
  if (snapshot.status === 'pending') notices.push({ kind: 'request', discriminator: 'once' });

  /**
   * Sends queued notices in order, outside the command lock: a mail provider that is down
   * for a while must not hold up a cancellation. A notice that still fails after its
   * retries is left as failed in the ledger, and the booking goes on.
   */
  const sendNotices = async () => {
    while (notices.length) {
      const n = notices.shift()!;
      try {
        await mail.sendBookingNotice({ bookingId: input.bookingId, ...n });
      } catch (err) {
        log.warn('booking notice not sent', { kind: n.kind, error: String(err) });
      }
    }
  };

  /** Nothing is decided while a command is half-way; an ended booking lets its last commands answer. */
  const settled = () => !lock.busy && (!TERMINAL.has(state.status) || allHandlersFinished());

  for (;;) {
    await sendNotices();
    if (!settled() && patched(WAIT_FOR_COMMANDS_PATCH)) {
      // A command still at work (telling the tour, queuing its notice) finishes first, so
      // its notice goes before anything the loop would queue and its caller gets an answer.
      await condition(settled);
      continue;
    }
    if (TERMINAL.has(state.status)) {
      // A command that made the booking final may still be finishing (signalling the tour);
      // let it, and send what it queued, before the workflow ends.
      await condition(() => !lock.busy);
      await sendNotices();
      break;
    }

    const seen = version;
    const woken = () => version !== seen || notices.length > 0;
    /** Waits until `atMs` (workflow time) or a change; true when woken by a change. */
    const waitUntil = async (atMs: number) => {
      const ms = atMs - Date.now();
      return ms > 0 ? condition(woken, ms) : woken();
    };

    if (state.status === 'pending') {
      if (await waitUntil(Date.parse(state.scheduledAt!) - expiryLeadMs)) continue;
      await exclusive(async () => {
        if (state.status !== 'pending' || version !== seen) return;
        await db.transitionBooking(input.bookingId, 'expired', { actorUserId: null, reason: 'Not confirmed before its time' });
        setStatus('expired');
        notices.push({ kind: 'expired', discriminator: 'once' });
      });
      continue;
    }

    // confirmed
    if (tourOutcome) {
      await exclusive(async () => {
        if (state.status !== 'confirmed') return;
        if (tourOutcome === 'completed') {
          await db.transitionBooking(input.bookingId, 'completed', { actorUserId: null, reason: null });
          setStatus('completed');
        } else {
          await db.transitionBooking(input.bookingId, 'cancelled', { actorUserId: null, reason: 'The tour was cancelled' });
          setStatus('cancelled');
          notices.push({ kind: 'cancelled', discriminator: 'tour' });
        }
      });
      continue;
    }
    if (state.reminderSentFor !== state.scheduledAt) {
      // Confirmed less than 15 minutes ahead: the reminder goes at once.
      if (await waitUntil(Date.parse(state.scheduledAt!) - REMINDER_LEAD_MS)) continue;
      const at = state.scheduledAt!;
      // Keyed by the time it reminds of: a retry never sends twice, a reschedule sends anew.
      notices.push({ kind: 'reminder', discriminator: at });
      state.reminderSentFor = at;
      continue;
    }
    const endMs = Date.parse(state.scheduledAt!) + state.durationMinutes! * 60_000;
    if (await waitUntil(endMs + COMPLETION_GRACE_MS)) continue;
    tourOutcome = 'completed';
  }
  return state;
}
