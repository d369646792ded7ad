import {
  ActivityFailure,
  ApplicationFailure,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  startChild,
  type ActivityOptions,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  BOOKING_COMMANDS,
  BOOKING_STATUS,
  BOOKING_COMPLETION_GRACE_MS,
  BOOKING_FAILURES,
  BOOKING_REMINDER_LEAD_MS,
  DEFAULT_REMINDER_HEADSTART_SECONDS,
  bookingRefusal,
  bookingStateQuery,
  bookingWorkflowId,
  cancelUpdate,
  confirmUpdate,
  declineUpdate,
  isFinalBooking,
  rescheduleUpdate,
  type ActorRef,
  type BookingCommand,
  type BookingNotice,
  type BookingSnapshot,
  type BookingState,
  type BookingStatus,
  type ConfirmResult,
  type RescheduleChange,
  type BookingWorkflowInput,
} from '../contracts/bookings';
import { TOUR_STATUS, tourCancelSignal, tourFinishedSignal, tourRescheduleSignal, tourWorkflowId, type TourOutcome } from '../contracts/tours';
import { asLocal, EMAIL_OPTIONS } from './activity-options';
import { Alarm } from './alarm';
import { upsertAttributes } from './attributes';
import { CommandLock } from './command-lock';
import { BookingStatus as BookingStatusAttribute, BuyerId, PropertyId, RealtorId, TourStage } from './search-attributes';
import { tourWorkflow, type TourWorkflowStart } from './tour.workflow';

/**
 * One per booking, the only writer of the booking's status (the moves are the contract's
 * BOOKING_TRANSITIONS). Commands arrive as Updates (validated, so an impossible transition
 * is refused with a reason); the 15-minute reminder and the pending expiry are durable
 * timers that follow every reschedule. Notifications are queued here and sent by
 * activities, each at most once (the notifications ledger).
 *
 * `BookingLifecycle` holds the state and what each message does; `bookingWorkflow` only
 * wires the handlers and runs the main loop. Replay-safe: the commands (activities, child
 * start, signals, search attribute upserts, the patch) come in the order they always did.
 */

const DB_STEP: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: [BOOKING_FAILURES.invalidTransition, BOOKING_FAILURES.slotTaken],
  },
};

const db = proxyActivities<Activities>(DB_STEP);

/**
 * The same database steps as local activities (as `updateStatus` in reference-app-orders-go):
 * run by the worker inside the workflow task that asked for them, so a command is answered
 * after one workflow task instead of a round trip through the server per step. Each is a
 * short transaction that is safe to retry (a retry finds the row already moved).
 */
const localDb = proxyLocalActivities<Activities>(asLocal(DB_STEP));

const mail = proxyActivities<Activities>(EMAIL_OPTIONS);

/** The workflow's own notices as local activities (OWN_NOTICES_LOCAL_PATCH). */
const localMail = proxyLocalActivities<Activities>(asLocal(EMAIL_OPTIONS));

/** A reminder's activity also waits out its head start before it sends: it has that much longer. */
const reminderMail = (headstartMs: number) => proxyActivities<Activities>({ ...EMAIL_OPTIONS, startToCloseTimeout: headstartMs + 60_000 });

/**
 * Histories recorded before it (no marker) replay as they ran: the main loop acted even
 * while a command was half-way, so a cancellation that still had to tell the tour ended
 * the workflow under the update (which then failed, its notice unsent), and a late
 * confirmation's reminder went out before the confirmation itself.
 */
const WAIT_FOR_COMMANDS_PATCH = 'booking-loop-waits-for-commands';

/**
 * Bookings started with it (see `BookingLifecycle.local`) run their database steps as local
 * activities, upsert only the search attributes that changed, keep one timer for the
 * pending expiry and the reminder, start their tour without waiting for the start to be
 * recorded (it is told what its row holds, and is awaited as a child instead of signalling
 * back), and so answer a command after one workflow task. Histories recorded before it
 * replay as they ran.
 */
export const LOCAL_STEPS_PATCH = 'booking-local-db-steps';

/**
 * Bookings started with it (on the local-steps path) start their reminder's activity
 * `reminderHeadstartSeconds` ahead of its time, and the activity sends at the time: a
 * workflow task that waits in a busy queue no longer makes the reminder late. Histories
 * recorded before it replay as they ran.
 */
export const REMINDER_AT_DUE_PATCH = 'booking-reminder-at-due';

/**
 * Bookings started with it (on the reminder-at-due path) send the notices the workflow
 * queues on its own (the request when it starts, the expiry, a cancellation by the tour)
 * as local activities, in the workflow task that queued them: a new booking is one
 * workflow task instead of two and an activity's round trip through the server. A notice
 * that answers a command (confirmed, declined, cancelled, rescheduled) stays an activity,
 * so the command's answer never waits for the mail provider; the reminder stays one too
 * (it waits for its time). Histories recorded before it replay as they ran.
 */
export const OWN_NOTICES_LOCAL_PATCH = 'booking-own-notices-local';

type QueuedNotice = Omit<BookingNotice, 'bookingId'>;

/** An activity's own refusal (slot taken, invalid transition) becomes the update's failure. */
function asUpdateFailure(err: unknown): never {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
    throw ApplicationFailure.create({ type: err.cause.type ?? BOOKING_FAILURES.invalidTransition, message: err.cause.message, nonRetryable: true });
  }
  throw err;
}

export class BookingLifecycle {
  readonly state: BookingState;
  /** Queued in order; sent by the main loop, outside the command lock. */
  readonly notices: QueuedNotice[] = [];
  /** Goes up with every change the main loop must wake for. */
  version = 0;
  tourOutcome: TourOutcome | null = null;
  /** Commands and timers take turns, so each sees the state the previous one left. */
  private readonly lock = new CommandLock(() => this.state.status !== 'loading');
  /** Decided once, at the start: the local-steps path (LOCAL_STEPS_PATCH) or the one the booking started on. */
  readonly local: boolean;
  /** Decided once, at the start: the reminder's activity starts ahead of its time (REMINDER_AT_DUE_PATCH). */
  readonly reminderAhead: boolean;
  /** Decided once, at the start: the workflow's own notices go as local activities (OWN_NOTICES_LOCAL_PATCH). */
  readonly ownNoticesLocal: boolean;
  /** The queued notices the workflow queued on its own, not in answer to a command. */
  private readonly own = new WeakSet<QueuedNotice>();
  /** The main loop's one timer (local-steps path). */
  readonly alarm = new Alarm();
  /** The tour's workflow could not report how it ended (terminated, failed): the completion grace applies. */
  tourLost = false;
  /** Its tour's workflow was started by this run and is awaited as a child (local-steps path). */
  tourAwaited = false;
  private parties: { propertyId: number; realtorId: number } | null = null;

  constructor(private readonly input: BookingWorkflowInput) {
    this.state = { bookingId: input.bookingId, status: 'loading', scheduledAt: null, durationMinutes: null, tourId: null, callId: null, reminderSentFor: null };
    this.local = patched(LOCAL_STEPS_PATCH);
    this.reminderAhead = this.local && patched(REMINDER_AT_DUE_PATCH);
    this.ownNoticesLocal = this.reminderAhead && patched(OWN_NOTICES_LOCAL_PATCH);
  }

  /** When the reminder of the booking's current time is due. */
  get reminderAt(): number {
    return Date.parse(this.state.scheduledAt!) - BOOKING_REMINDER_LEAD_MS;
  }

  /** How long before its time the reminder's activity starts (0 on paths before REMINDER_AT_DUE_PATCH). */
  get reminderHeadstartMs(): number {
    return this.reminderAhead ? (this.input.reminderHeadstartSeconds ?? DEFAULT_REMINDER_HEADSTART_SECONDS) * 1000 : 0;
  }

  /** When the main loop queues the reminder: at its time, or its head start before. */
  get remindFrom(): number {
    return this.reminderAt - this.reminderHeadstartMs;
  }

  /** The database steps: local activities on the local-steps path. */
  get steps(): typeof db {
    return this.local ? localDb : db;
  }

  get bookingId(): number {
    return this.input.bookingId;
  }

  get busy(): boolean {
    return this.lock.busy;
  }

  get final(): boolean {
    return isFinalBooking(this.state.status);
  }

  /**
   * The validator of `command`. While the row loads it lets the command through to wait
   * for it; the command checks again once it holds the lock (`command` below).
   */
  check(command: BookingCommand): void {
    const status = this.state.status;
    if (status === 'loading') return;
    const { from, verb } = BOOKING_COMMANDS[command];
    if (!(from as readonly string[]).includes(status)) {
      throw ApplicationFailure.create({ type: BOOKING_FAILURES.invalidTransition, message: bookingRefusal(status, verb), nonRetryable: true });
    }
  }

  /** Runs `command` alone, once the row has loaded and if the status still allows it. */
  private command<T>(command: BookingCommand, fn: () => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      this.check(command);
      return fn();
    });
  }

  /** The main loop's own moves (expiry, completion) take their turn like commands. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.run(fn);
  }

  private setStatus(status: BookingStatus): void {
    this.state.status = status;
    upsertAttributes([{ key: BookingStatusAttribute, value: status }], this.local);
    this.version += 1;
  }

  /** The row as the workflow starts; false when it was never committed. */
  load(snapshot: BookingSnapshot | null): boolean {
    if (!snapshot) {
      // No workflow acting on a missing row: a booking that was never committed ends here.
      this.state.status = 'missing';
      return false;
    }
    Object.assign(this.state, {
      status: snapshot.status,
      scheduledAt: snapshot.scheduledAt,
      durationMinutes: snapshot.durationMinutes,
      tourId: snapshot.tourId,
      callId: snapshot.callId,
    });
    this.parties = { propertyId: snapshot.propertyId, realtorId: snapshot.realtorId };
    upsertAttributes(
      [
        { key: BookingStatusAttribute, value: this.state.status },
        { key: PropertyId, value: snapshot.propertyId },
        { key: RealtorId, value: snapshot.realtorId },
        { key: BuyerId, value: snapshot.buyerId },
      ],
      this.local,
    );
    this.version += 1;
    if (snapshot.status === BOOKING_STATUS.pending) this.queueOwn({ kind: 'request', discriminator: 'once' });
    return true;
  }

  // Commands -------------------------------------------------------------------------------

  confirm(actor: ActorRef): Promise<ConfirmResult> {
    return this.command('confirm', async () => {
      const result = await this.steps.confirmBooking(this.bookingId, actor).catch(asUpdateFailure);
      this.state.tourId = result.tourId;
      this.state.callId = result.callId;
      this.setStatus(BOOKING_STATUS.confirmed);
      if (this.local) {
        this.startTour(result.tourId);
        this.notices.push({ kind: 'confirmed', discriminator: this.state.scheduledAt!, actorUserId: actor.userId });
        return { bookingId: this.bookingId, tourId: result.tourId, callId: result.callId };
      }
      await startChild(tourWorkflow, {
        workflowId: tourWorkflowId(result.tourId),
        args: [{ ...this.input.tour, tourId: result.tourId, bookingId: this.bookingId, bookingWorkflowId: bookingWorkflowId(this.bookingId) }],
        // The tour lives on its own once created; the booking does not own its lifetime.
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
      this.notices.push({ kind: 'confirmed', discriminator: this.state.scheduledAt!, actorUserId: actor.userId });
      return { bookingId: this.bookingId, tourId: result.tourId, callId: result.callId };
    });
  }

  /**
   * Starts the tour's workflow without waiting for the start to be recorded, so the
   * confirmation is answered in the same workflow task. It is told what its row holds (no
   * read) and carries its search attributes from the start; how it ends arrives as the
   * child's result. A tour whose workflow exists already (a retried confirmation) is the
   * same tour; one that cannot report back leaves the booking to its completion grace.
   */
  private startTour(tourId: number): void {
    const parties = this.parties!;
    this.tourAwaited = true;
    const args: TourWorkflowStart = {
      ...this.input.tour,
      tourId,
      bookingId: this.bookingId,
      bookingWorkflowId: bookingWorkflowId(this.bookingId),
      created: { scheduledAt: this.state.scheduledAt!, durationMinutes: this.state.durationMinutes!, propertyId: parties.propertyId, realtorId: parties.realtorId },
    };
    startChild(tourWorkflow, {
      workflowId: tourWorkflowId(tourId),
      args: [args],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: [
        { key: TourStage, value: TOUR_STATUS.scheduled },
        { key: PropertyId, value: parties.propertyId },
        { key: RealtorId, value: parties.realtorId },
      ],
    })
      .then((child: ChildWorkflowHandle<typeof tourWorkflow>) => child.result())
      .then(
        (tour) => this.tourFinished(tour.stage === TOUR_STATUS.completed ? TOUR_STATUS.completed : 'cancelled'),
        (err: unknown) => {
          log.warn('the tour did not report how it ended', { tourId, error: String(err) });
          this.tourLost = true;
          this.version += 1;
        },
      );
  }

  decline(actor: ActorRef, reason: string | null): Promise<BookingState> {
    return this.command('decline', async () => {
      await this.steps.transitionBooking(this.bookingId, BOOKING_STATUS.declined, { actorUserId: actor.userId, reason }).catch(asUpdateFailure);
      this.setStatus(BOOKING_STATUS.declined);
      this.notices.push({ kind: 'declined', discriminator: 'once', actorUserId: actor.userId });
      return this.state;
    });
  }

  cancel(actor: ActorRef, reason: string | null): Promise<BookingState> {
    return this.command('cancel', async () => {
      const wasConfirmed = this.state.status === BOOKING_STATUS.confirmed;
      await this.steps.transitionBooking(this.bookingId, BOOKING_STATUS.cancelled, { actorUserId: actor.userId, reason }).catch(asUpdateFailure);
      this.setStatus(BOOKING_STATUS.cancelled);
      this.notices.push({ kind: 'cancelled', discriminator: 'once', actorUserId: actor.userId });
      if (wasConfirmed && this.state.tourId) {
        try {
          await getExternalWorkflowHandle(tourWorkflowId(this.state.tourId)).signal(tourCancelSignal);
        } catch (err) {
          // The tour already ended (completed or cancelled on its own): the booking is cancelled all the same.
          log.info('tour not told of the cancellation', { tourId: this.state.tourId, error: String(err) });
        }
      }
      return this.state;
    });
  }

  reschedule(actor: ActorRef, change: RescheduleChange): Promise<BookingState> {
    return this.command('reschedule', async () => {
      const previousScheduledAt = this.state.scheduledAt!;
      const r = await this.steps.rescheduleBooking(this.bookingId, change, actor.userId).catch(asUpdateFailure);
      this.state.scheduledAt = r.scheduledAt;
      this.state.durationMinutes = r.durationMinutes;
      this.version += 1;
      if (this.state.status === BOOKING_STATUS.confirmed && this.state.tourId) {
        await getExternalWorkflowHandle(tourWorkflowId(this.state.tourId)).signal(tourRescheduleSignal, r.scheduledAt, r.durationMinutes);
      }
      this.notices.push({ kind: 'rescheduled', discriminator: `seq-${r.icsSequence}`, actorUserId: actor.userId, previousScheduledAt });
      return this.state;
    });
  }

  tourFinished(outcome: TourOutcome): void {
    this.tourOutcome = outcome;
    this.version += 1;
  }

  // The main loop's moves ------------------------------------------------------------------

  /** A pending request nobody answered, unless something changed since `seen`. */
  expire(seen: number): Promise<void> {
    return this.exclusive(async () => {
      if (this.state.status !== BOOKING_STATUS.pending || this.version !== seen) return;
      await this.steps.transitionBooking(this.bookingId, BOOKING_STATUS.expired, { actorUserId: null, reason: 'Not confirmed before its time' });
      this.setStatus(BOOKING_STATUS.expired);
      this.queueOwn({ kind: 'expired', discriminator: 'once' });
    });
  }

  /** The tour reported back (or never did, and its grace ran out). */
  settleTour(): Promise<void> {
    return this.exclusive(async () => {
      if (this.state.status !== BOOKING_STATUS.confirmed) return;
      if (this.tourOutcome === 'completed') {
        await this.steps.transitionBooking(this.bookingId, BOOKING_STATUS.completed, { actorUserId: null, reason: null });
        this.setStatus(BOOKING_STATUS.completed);
      } else {
        await this.steps.transitionBooking(this.bookingId, BOOKING_STATUS.cancelled, { actorUserId: null, reason: 'The tour was cancelled' });
        this.setStatus(BOOKING_STATUS.cancelled);
        this.queueOwn({ kind: 'cancelled', discriminator: 'tour' });
      }
    });
  }

  /** Keyed by the time it reminds of: a retry never sends twice, a reschedule sends anew. */
  remind(): void {
    const at = this.state.scheduledAt!;
    this.notices.push({ kind: 'reminder', discriminator: at, ...(this.reminderAhead ? { sendAt: new Date(this.reminderAt).toISOString() } : {}) });
    this.state.reminderSentFor = at;
  }

  /** Queues a notice the workflow sends on its own (no command waits for it). */
  private queueOwn(notice: QueuedNotice): void {
    this.own.add(notice);
    this.notices.push(notice);
  }

  /** The reminder's own activity (it waits for its time), the workflow's own notices in the task, the rest as activities. */
  private mailFor(n: QueuedNotice): typeof mail {
    if (n.sendAt) return reminderMail(this.reminderHeadstartMs);
    return this.ownNoticesLocal && this.own.has(n) ? localMail : mail;
  }

  /**
   * Sends queued notices in order, outside the command lock: a mail provider that is down
   * for a while must not hold up a cancellation. A notice that still fails after its
   * retries is left as failed in the ledger, and the booking goes on.
   */
  async sendNotices(): Promise<void> {
    while (this.notices.length) {
      const n = this.notices.shift()!;
      try {
        await this.mailFor(n).sendBookingNotice({ bookingId: this.bookingId, ...n });
      } catch (err) {
        log.warn('booking notice not sent', { kind: n.kind, error: String(err) });
      }
    }
  }

  /** Nothing is decided while a command is half-way; an ended booking lets its last commands answer. */
  settled(): boolean {
    return !this.lock.busy && (!this.final || allHandlersFinished());
  }
}

export async function bookingWorkflow(input: BookingWorkflowInput): Promise<BookingState> {
  const booking = new BookingLifecycle(input);
  const { state } = booking;
  const expiryLeadMs = (input.expiryLeadMinutes ?? 0) * 60_000;

  /** A validator takes the update's arguments; the check needs only the state. */
  const validate = (command: BookingCommand) => (..._args: unknown[]) => booking.check(command);

  setHandler(bookingStateQuery, () => state);
  setHandler(confirmUpdate, (actor) => booking.confirm(actor), { validator: validate('confirm') });
  setHandler(declineUpdate, (actor, reason) => booking.decline(actor, reason), { validator: validate('decline') });
  setHandler(cancelUpdate, (actor, reason) => booking.cancel(actor, reason), { validator: validate('cancel') });
  setHandler(rescheduleUpdate, (actor, change) => booking.reschedule(actor, change), { validator: validate('reschedule') });
  setHandler(tourFinishedSignal, (outcome) => booking.tourFinished(outcome));

  // Handlers are in place before the first await, so a command that arrives while the
  // row loads waits for it instead of being refused.
  if (!booking.load(await booking.steps.loadBookingForWorkflow(input.bookingId))) return state;

  for (;;) {
    await booking.sendNotices();
    if (!booking.settled() && (booking.local || patched(WAIT_FOR_COMMANDS_PATCH))) {
      // A command still at work (telling the tour, queuing its notice) finishes first, so
      // its notice goes before anything the loop would queue and its caller gets an answer.
      await condition(() => booking.settled());
      continue;
    }
    if (booking.final) {
      // A command that made the booking final may still be finishing (signalling the tour);
      // let it, and send what it queued, before the workflow ends.
      await condition(() => !booking.busy);
      await booking.sendNotices();
      break;
    }

    const seen = booking.version;
    const woken = () => booking.version !== seen || booking.notices.length > 0;
    /** Waits until `atMs` (workflow time) or a change; true when woken by a change. */
    const waitUntil = async (atMs: number) => {
      if (booking.local) return booking.alarm.wait(atMs, woken);
      const ms = atMs - Date.now();
      return ms > 0 ? condition(woken, ms) : woken();
    };
    const remindFrom = booking.remindFrom;

    if (state.status === BOOKING_STATUS.pending) {
      const expiryAt = Date.parse(state.scheduledAt!) - expiryLeadMs;
      // The local-steps path wakes at the reminder's time first when that comes earlier, so
      // a confirmation keeps the very timer the request was waiting on.
      const at = booking.local && remindFrom > Date.now() ? Math.min(expiryAt, remindFrom) : expiryAt;
      if (await waitUntil(at)) continue;
      if (booking.local && Date.now() < expiryAt) continue;
      await booking.expire(seen);
      continue;
    }

    // confirmed
    if (booking.tourOutcome) {
      await booking.settleTour();
      continue;
    }
    if (state.reminderSentFor !== state.scheduledAt) {
      // Confirmed less than 15 minutes ahead: the reminder goes at once.
      if (await waitUntil(remindFrom)) continue;
      booking.remind();
      continue;
    }
    if (booking.tourAwaited && !booking.tourLost) {
      // The tour's workflow reports how it ended by completing: no timer to wait on.
      await condition(woken);
      continue;
    }
    const endMs = Date.parse(state.scheduledAt!) + state.durationMinutes! * 60_000;
    if (await waitUntil(endMs + BOOKING_COMPLETION_GRACE_MS)) continue;
    booking.tourFinished('completed');
  }
  return state;
}
