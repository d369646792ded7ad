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
  setHandler,
  startChild,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  BOOKING_COMMANDS,
  BOOKING_STATUS,
  BOOKING_COMPLETION_GRACE_MS,
  BOOKING_FAILURES,
  BOOKING_REMINDER_LEAD_MS,
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
import { tourCancelSignal, tourFinishedSignal, tourRescheduleSignal, tourWorkflowId, type TourOutcome } from '../contracts/tours';
import { CommandLock } from './command-lock';
import { BookingStatus as BookingStatusAttribute, BuyerId, PropertyId, RealtorId } from './search-attributes';
import { tourWorkflow } from './tour.workflow';

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

const db = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: [BOOKING_FAILURES.invalidTransition, BOOKING_FAILURES.slotTaken],
  },
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

  constructor(private readonly input: BookingWorkflowInput) {
    this.state = { bookingId: input.bookingId, status: 'loading', scheduledAt: null, durationMinutes: null, tourId: null, callId: null, reminderSentFor: null };
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
    upsertSearchAttributes([{ key: BookingStatusAttribute, value: status }]);
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
    upsertSearchAttributes([
      { key: BookingStatusAttribute, value: this.state.status },
      { key: PropertyId, value: snapshot.propertyId },
      { key: RealtorId, value: snapshot.realtorId },
      { key: BuyerId, value: snapshot.buyerId },
    ]);
    this.version += 1;
    if (snapshot.status === BOOKING_STATUS.pending) this.notices.push({ kind: 'request', discriminator: 'once' });
    return true;
  }

  // Commands -------------------------------------------------------------------------------

  confirm(actor: ActorRef): Promise<ConfirmResult> {
    return this.command('confirm', async () => {
      const result = await db.confirmBooking(this.bookingId, actor).catch(asUpdateFailure);
      this.state.tourId = result.tourId;
      this.state.callId = result.callId;
      this.setStatus(BOOKING_STATUS.confirmed);
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

  decline(actor: ActorRef, reason: string | null): Promise<BookingState> {
    return this.command('decline', async () => {
      await db.transitionBooking(this.bookingId, BOOKING_STATUS.declined, { actorUserId: actor.userId, reason }).catch(asUpdateFailure);
      this.setStatus(BOOKING_STATUS.declined);
      this.notices.push({ kind: 'declined', discriminator: 'once', actorUserId: actor.userId });
      return this.state;
    });
  }

  cancel(actor: ActorRef, reason: string | null): Promise<BookingState> {
    return this.command('cancel', async () => {
      const wasConfirmed = this.state.status === BOOKING_STATUS.confirmed;
      await db.transitionBooking(this.bookingId, BOOKING_STATUS.cancelled, { actorUserId: actor.userId, reason }).catch(asUpdateFailure);
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
      const r = await db.rescheduleBooking(this.bookingId, change, actor.userId).catch(asUpdateFailure);
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
      await db.transitionBooking(this.bookingId, BOOKING_STATUS.expired, { actorUserId: null, reason: 'Not confirmed before its time' });
      this.setStatus(BOOKING_STATUS.expired);
      this.notices.push({ kind: 'expired', discriminator: 'once' });
    });
  }

  /** The tour reported back (or never did, and its grace ran out). */
  settleTour(): Promise<void> {
    return this.exclusive(async () => {
      if (this.state.status !== BOOKING_STATUS.confirmed) return;
      if (this.tourOutcome === 'completed') {
        await db.transitionBooking(this.bookingId, BOOKING_STATUS.completed, { actorUserId: null, reason: null });
        this.setStatus(BOOKING_STATUS.completed);
      } else {
        await db.transitionBooking(this.bookingId, BOOKING_STATUS.cancelled, { actorUserId: null, reason: 'The tour was cancelled' });
        this.setStatus(BOOKING_STATUS.cancelled);
        this.notices.push({ kind: 'cancelled', discriminator: 'tour' });
      }
    });
  }

  /** Keyed by the time it reminds of: a retry never sends twice, a reschedule sends anew. */
  remind(): void {
    const at = this.state.scheduledAt!;
    this.notices.push({ kind: 'reminder', discriminator: at });
    this.state.reminderSentFor = at;
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
        await mail.sendBookingNotice({ bookingId: this.bookingId, ...n });
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
  if (!booking.load(await db.loadBookingForWorkflow(input.bookingId))) return state;

  for (;;) {
    await booking.sendNotices();
    if (!booking.settled() && patched(WAIT_FOR_COMMANDS_PATCH)) {
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
      const ms = atMs - Date.now();
      return ms > 0 ? condition(woken, ms) : woken();
    };

    if (state.status === BOOKING_STATUS.pending) {
      if (await waitUntil(Date.parse(state.scheduledAt!) - expiryLeadMs)) continue;
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
      if (await waitUntil(Date.parse(state.scheduledAt!) - BOOKING_REMINDER_LEAD_MS)) continue;
      booking.remind();
      continue;
    }
    const endMs = Date.parse(state.scheduledAt!) + state.durationMinutes! * 60_000;
    if (await waitUntil(endMs + BOOKING_COMPLETION_GRACE_MS)) continue;
    booking.tourFinished('completed');
  }
  return state;
}
