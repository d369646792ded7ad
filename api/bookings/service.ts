import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Client, WorkflowHandle, WorkflowUpdateHandle, WorkflowUpdateStage } from '@temporalio/client';
import {
  BOOKING_COMMANDS,
  BOOKING_STATUS,
  bookingRefusal,
  bookingWorkflowId,
  cancelUpdate,
  confirmUpdate,
  declineUpdate,
  isFinalBooking,
  rescheduleUpdate,
  startBookingWorkflow,
  type ActorRef,
  type BookingWorkflowSettings,
  type RescheduleChange,
} from '../../contracts/bookings';
import { changedFields, recordAudit } from '../../db/audit';
import { availabilityRepository, REALTOR_BUFFER_CONSTRAINT } from '../../db/repositories/availability.repository';
import { bookingsRepository, type BookingView } from '../../db/repositories/bookings.repository';
import { toursRepository, type CallRecord, type TourRecord } from '../../db/repositories/tours.repository';
import { AvailabilityConflictError } from '../../lib/availability';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../lib/errors';
import { DEFAULT_WORKFLOW_COMMAND_WAIT_MS } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import { CommandIdempotency, type CommandAnswer, type CommandOutcome } from '../idempotency';
import { runWorkflowCommand, runWorkflowUpdate, type UpdateOutcome } from '../workflow-errors';
import { confirmBookingWithStart } from '../workflow-starters';
import type { Actor } from '../routing';
import { bookingPolicy } from './policy';
import type { BookingFilters } from './schemas';


export interface BookingServiceDeps {
  knex: Knex;
  temporal: Client;
  taskQueue: string;
  minNoticeMinutes: number;
  /** Latest a booking may be for, in days from now: no workflow sleeping until year 9999. */
  maxAheadDays: number;
  workflowSettings: BookingWorkflowSettings;
  logger: Logger;
  /** How long a command is waited for before it is answered 202 (WORKFLOW_COMMAND_WAIT_MS). */
  commandWaitMs?: number;
  now?: () => number;
}

/** What a confirmation answers: the booking with the tour and call it made. */
export interface Confirmation {
  booking: BookingView;
  tour: TourRecord;
  call: CallRecord;
}

/** A command's answer: finished (200), or taken by the workflow and still at work (202 with the booking as it is). */
export type BookingCommandAnswer<Done = BookingView> = CommandAnswer<Done, BookingView>;

export interface CreateBookingInput {
  property_id: number;
  scheduled_at: string;
  /** Left out: the listing's default tour length. */
  duration_minutes?: number;
  notes?: string | null;
}

/** What a booking request answers: the booking and, when its listing confirmed it at once, its tour and call. */
export interface CreatedBooking {
  booking: BookingView;
  replayed: boolean;
  confirmation?: { tour: TourRecord; call: CallRecord };
}

const actorRef = (actor: Actor): ActorRef => ({ userId: actor.user.id, role: actor.user.role });

function requestHash(body: unknown): string {
  return createHash('sha256').update(JSON.stringify(body, Object.keys(body as object).sort())).digest('hex');
}

function pgCode(err: unknown): { code?: string; constraint?: string } {
  const e = err as { code?: string; constraint?: string; nativeError?: { code?: string; constraint?: string } };
  return e.nativeError ?? e;
}

export class BookingService {
  private readonly now: () => number;
  private readonly keys: CommandIdempotency;

  constructor(private readonly deps: BookingServiceDeps) {
    this.now = deps.now ?? Date.now;
    this.keys = new CommandIdempotency(deps.knex);
  }

  async list(actor: Actor, f: Partial<BookingFilters> & { page: number; per_page: number }) {
    const { items, total } = await bookingsRepository(this.deps.knex).list(
      bookingPolicy.scope(actor),
      {
        status: f.status,
        property_id: f.property_id,
        buyer_id: f.buyer_id,
        realtor_id: f.realtor_id,
        from: f.from ? new Date(f.from) : undefined,
        to: f.to ? new Date(f.to) : undefined,
      },
      f,
    );
    return { items, meta: { current_page: f.page, per_page: f.per_page, total_pages: Math.ceil(total / f.per_page), total_count: total } };
  }

  async get(actor: Actor, id: number): Promise<BookingView> {
    const booking = await bookingsRepository(this.deps.knex).findView(bookingPolicy.scope(actor), id);
    if (!booking) throw new NotFoundError('Booking');
    return booking;
  }

  private assertTime(scheduledAt: string): Date {
    const at = new Date(scheduledAt);
    const earliest = this.now() + this.deps.minNoticeMinutes * 60_000;
    if (at.getTime() < earliest) {
      throw new ValidationError([
        { field: 'scheduled_at', message: `must be at least ${this.deps.minNoticeMinutes} minutes from now (${new Date(earliest).toISOString()} or later)` },
      ]);
    }
    const latest = this.now() + this.deps.maxAheadDays * 86_400_000;
    if (at.getTime() > latest) {
      throw new ValidationError([
        { field: 'scheduled_at', message: `must be at most ${this.deps.maxAheadDays} days from now (${new Date(latest).toISOString()} or earlier)` },
      ]);
    }
    return at;
  }

  /**
   * Creates a pending booking (of the listing's default length unless the request gives
   * one) and starts its workflow. If the start fails (Temporal unreachable), the booking is
   * kept and the worker's sweeper starts the workflow with the same id shortly after; the
   * answer is still 201 with the pending booking.
   *
   * A listing that auto-confirms has its request confirmed at once, as its realtor, by the
   * booking's workflow (Update-with-Start): the answer is the confirmed booking with its
   * tour and call. Where that cannot be done now, the booking stays a pending request.
   */
  async create(actor: Actor, input: CreateBookingInput, idempotencyKey?: string): Promise<CreatedBooking> {
    bookingPolicy.assertCanRequest(actor);
    const hash = requestHash(input);
    if (idempotencyKey) {
      const replay = await this.replay(actor, idempotencyKey, hash);
      if (replay) return replay;
    }
    const at = this.assertTime(input.scheduled_at);
    let made: { id: number; realtorId: number; autoConfirm: boolean };
    try {
      made = await this.deps.knex.transaction(async (trx) => {
        const repo = bookingsRepository(trx);
        const property = await repo.holdBookableProperty(input.property_id);
        if (!property) throw new AppError(404, 'NOT_FOUND', 'Property not found or not open for tours', 'property_id');
        const rules = await availabilityRepository(trx).rules(property.realtor_id, property.id);
        const durationMinutes = input.duration_minutes ?? rules.durationMinutes;
        const bookingId = await repo.insert({
          buyer_id: actor.user.id,
          property_id: property.id,
          realtor_id: property.realtor_id,
          scheduled_at: at,
          duration_minutes: durationMinutes,
          notes: input.notes ?? null,
          auto_confirm: rules.autoConfirm,
        });
        if (idempotencyKey) {
          await trx('idempotency_keys').insert({ user_id: actor.user.id, key: idempotencyKey, request_hash: hash, resource_type: 'booking', resource_id: bookingId });
        }
        await recordAudit(trx, {
          actorId: actor.user.id,
          action: 'booking_requested',
          resourceType: 'booking',
          resourceId: bookingId,
          details: { property_id: property.id, scheduled_at: at.toISOString(), duration_minutes: durationMinutes, ...(rules.autoConfirm ? { auto_confirm: true } : {}) },
          requestId: actor.requestId,
        });
        return { id: bookingId, realtorId: property.realtor_id, autoConfirm: rules.autoConfirm };
      });
    } catch (err) {
      const { code, constraint } = pgCode(err);
      const raced =
        (code === '23505' && constraint === 'idempotency_keys_user_key_unique') || code === '23P01' || err instanceof AvailabilityConflictError;
      if (raced && idempotencyKey) {
        // The same key raced us and won: answer with its booking. A concurrent retry usually
        // loses on an overlap first (the buyer's constraint, or the listing's availability
        // finding the winner's booking), once the winner commits.
        const replay = await this.replay(actor, idempotencyKey, hash);
        if (replay) return replay;
      }
      if (code === '23P01' && constraint === REALTOR_BUFFER_CONSTRAINT) {
        throw new ConflictError('That time is taken, or too close to another tour of this realtor', 'scheduled_at');
      }
      if (code === '23P01') throw new ConflictError('You already have a booking that overlaps this time', 'scheduled_at');
      throw err;
    }

    if (made.autoConfirm) {
      const confirmed = await this.autoConfirm(actor, made.id, made.realtorId);
      if (confirmed) return { ...confirmed, replayed: false };
      return { booking: await this.get(actor, made.id), replayed: false };
    }
    try {
      await startBookingWorkflow(this.deps.temporal, this.deps.taskQueue, made.id, this.deps.workflowSettings);
    } catch (err) {
      this.deps.logger.warn({ err, bookingId: made.id }, 'booking workflow not started; the sweeper will start it');
    }
    return { booking: await this.get(actor, made.id), replayed: false };
  }

  /**
   * The first answer again, as things stand now. A request to an auto-confirm listing
   * answers with its tour and call once confirmed, and is confirmed now if it still waits
   * (its first confirmation did not finish): the retry attaches to it if it is running.
   */
  private async replay(actor: Actor, key: string, hash: string): Promise<CreatedBooking | undefined> {
    const row = await this.deps.knex('idempotency_keys').where({ user_id: actor.user.id, key }).first<{ request_hash: string; resource_id: number } | undefined>();
    if (!row) return undefined;
    if (row.request_hash !== hash) {
      throw new AppError(422, 'UNPROCESSABLE_ENTITY', 'This Idempotency-Key was used for a different request', 'Idempotency-Key');
    }
    const booking = await this.get(actor, row.resource_id);
    if (!(await bookingsRepository(this.deps.knex).isAutoConfirm(booking.id))) return { booking, replayed: true };
    if (booking.status === BOOKING_STATUS.pending) {
      const confirmed = await this.autoConfirm(actor, booking.id, booking.realtor_id);
      return { ...(confirmed ?? { booking: await this.get(actor, booking.id) }), replayed: true };
    }
    const made = await bookingsRepository(this.deps.knex).findTourAndCall(booking.id);
    return { ...(made ? await this.confirmation(actor, booking.id, made) : { booking }), replayed: true };
  }

  /**
   * Confirms a request to an auto-confirm listing as the listing's realtor (marked auto),
   * through the booking's workflow: the confirm update, sent with the workflow's start.
   * Undefined when that cannot be done now (no worker, Temporal unreachable, the workflow
   * refused): the booking then stays a pending request for the realtor to answer, its
   * workflow started (or left to the sweeper), and a retry with the same Idempotency-Key
   * tries again.
   */
  private async autoConfirm(actor: Actor, bookingId: number, realtorId: number): Promise<Omit<CreatedBooking, 'replayed'> | undefined> {
    const realtor = { userId: realtorId, role: 'realtor' as const, auto: true as const };
    try {
      const result = await runWorkflowCommand(
        () => confirmBookingWithStart(this.deps.temporal, this.deps.taskQueue, bookingId, this.deps.workflowSettings, realtor),
        {
          refused: 'The booking could not be confirmed at once',
          whenGone: () => Promise.reject(new ConflictError('The booking has ended')),
        },
      );
      return await this.confirmation(actor, bookingId, result);
    } catch (err) {
      this.deps.logger.warn({ err, bookingId }, 'auto-confirm did not complete; the booking stays a pending request');
    }
    // Confirmed all the same in the meantime (by the realtor, or an earlier attempt)?
    const made = await bookingsRepository(this.deps.knex).findTourAndCall(bookingId);
    if (made) return this.confirmation(actor, bookingId, made);
    try {
      await startBookingWorkflow(this.deps.temporal, this.deps.taskQueue, bookingId, this.deps.workflowSettings);
    } catch (err) {
      this.deps.logger.warn({ err, bookingId }, 'booking workflow not started; the sweeper will start it');
    }
    return undefined;
  }

  /** The booking with the tour and call its confirmation made. */
  private async confirmation(actor: Actor, bookingId: number, made: { tourId: number; callId: number }): Promise<Omit<CreatedBooking, 'replayed'>> {
    const tours = toursRepository(this.deps.knex);
    const [booking, tour, call] = await Promise.all([this.get(actor, bookingId), tours.find(made.tourId), tours.calls.find(made.callId)]);
    return { booking, confirmation: { tour: tour!, call: call! } };
  }

  /**
   * Plain data (notes) is written here; a new time goes through the booking's workflow.
   * Everything is checked before anything is written, and the time (which the workflow
   * may refuse) goes first: a refused request leaves the notes as they were too, and the
   * notes of one still at work when answered 202 are written when it is repeated with its
   * Idempotency-Key (after the new time is settled).
   */
  async update(
    actor: Actor,
    id: number,
    body: { scheduled_at?: string; duration_minutes?: number; notes?: string | null },
    key?: string,
  ): Promise<BookingCommandAnswer> {
    const booking = await this.get(actor, id);
    const editsNotes = body.notes !== undefined;
    const moves = body.scheduled_at !== undefined || body.duration_minutes !== undefined;
    const change: RescheduleChange = {
      scheduledAt: (body.scheduled_at !== undefined ? new Date(body.scheduled_at) : booking.scheduled_at).toISOString(),
      durationMinutes: body.duration_minutes ?? booking.duration_minutes,
    };
    const outcome = await this.keys.run<unknown>(actor, { key, kind: 'booking_update', resourceId: id, request: body }, {
      before: async () => {
        if (editsNotes) {
          bookingPolicy.assertCanEditNotes(actor);
          if (isFinalBooking(booking.status)) throw new ConflictError(`This booking is ${booking.status}; it can no longer be changed`);
        }
        if (!moves) return;
        if (body.scheduled_at !== undefined) this.assertTime(body.scheduled_at);
        else if (booking.scheduled_at.getTime() < this.now()) throw new ConflictError('This booking has already started');
      },
      send: async (updateId) => {
        if (moves) {
          const moved = await this.send(id, BOOKING_COMMANDS.reschedule.verb, updateId, (h, opts) => h.startUpdate(rescheduleUpdate, { ...opts, args: [actorRef(actor), change] }));
          if (moved.state === 'accepted') return moved;
        }
        if (editsNotes) await this.writeNotes(actor, id, body.notes ?? null);
        return { state: 'completed', result: undefined };
      },
    });
    return this.answer(actor, id, outcome);
  }

  private async writeNotes(actor: Actor, id: number, notes: string | null): Promise<void> {
    await this.deps.knex.transaction(async (trx) => {
      const current = await bookingsRepository(trx).find(id);
      const changes = changedFields({ notes: current?.notes ?? null } as Record<string, unknown>, { notes });
      if (!Object.keys(changes).length) return;
      await bookingsRepository(trx).updateNotes(id, notes);
      await recordAudit(trx, { actorId: actor.user.id, action: 'booking_notes_updated', resourceType: 'booking', resourceId: id, details: { changes }, requestId: actor.requestId });
    });
  }

  async cancel(actor: Actor, id: number, reason: string | undefined, key?: string): Promise<BookingCommandAnswer> {
    await this.get(actor, id);
    const outcome = await this.keys.run(actor, { key, kind: 'booking_cancel', resourceId: id, request: { reason: reason ?? null } }, {
      send: (updateId) => this.send(id, BOOKING_COMMANDS.cancel.verb, updateId, (h, opts) => h.startUpdate(cancelUpdate, { ...opts, args: [actorRef(actor), reason ?? null] })),
    });
    return this.answer(actor, id, outcome);
  }

  async decline(actor: Actor, id: number, reason: string | undefined, key?: string): Promise<BookingCommandAnswer> {
    bookingPolicy.assertCanAnswer(actor);
    await this.get(actor, id);
    const outcome = await this.keys.run(actor, { key, kind: 'booking_decline', resourceId: id, request: { reason: reason ?? null } }, {
      send: (updateId) => this.send(id, BOOKING_COMMANDS.decline.verb, updateId, (h, opts) => h.startUpdate(declineUpdate, { ...opts, args: [actorRef(actor), reason ?? null] })),
    });
    return this.answer(actor, id, outcome);
  }

  /**
   * Confirms a pending request: the booking with the tour and call it made. A repeat by the
   * realtor who confirmed it (a retry whose first answer was lost) answers the same, as does a
   * retry with the same Idempotency-Key; a booking confirmed by no one of theirs, or in another
   * status, is still a 409.
   */
  async confirm(actor: Actor, id: number, key?: string): Promise<BookingCommandAnswer<Confirmation>> {
    bookingPolicy.assertCanAnswer(actor);
    await this.get(actor, id);
    const outcome = await this.keys.run(actor, { key, kind: 'booking_confirm', resourceId: id, request: {} }, {
      settled: () => this.confirmedBy(actor, id),
      send: (updateId) => this.send(id, BOOKING_COMMANDS.confirm.verb, updateId, (h, opts) => h.startUpdate(confirmUpdate, { ...opts, args: [actorRef(actor)] })),
    });
    if (outcome.state === 'accepted') return { state: 'accepted', value: await this.get(actor, id), replayed: outcome.replayed };
    const made = outcome.result ?? (await bookingsRepository(this.deps.knex).findTourAndCall(id));
    if (!made) throw new Error(`Booking ${id} was confirmed but has no tour and call`);
    const { booking, confirmation } = await this.confirmation(actor, id, made);
    return { state: 'completed', value: { booking, ...confirmation! }, replayed: outcome.replayed };
  }

  /** Whether the booking is confirmed by this realtor: by hand, or by the listing's auto-confirm on their behalf. */
  private async confirmedBy(actor: Actor, id: number): Promise<boolean> {
    const row = await bookingsRepository(this.deps.knex).find(id);
    if (row?.status !== BOOKING_STATUS.confirmed) return false;
    const confirmed = await this.deps.knex('audit_logs')
      .where({ action: 'booking_confirmed', resource_type: 'booking', resource_id: id })
      .orderBy('id', 'desc')
      .first<{ user_id: number | string | null } | undefined>('user_id');
    return confirmed?.user_id !== undefined && confirmed.user_id !== null && Number(confirmed.user_id) === actor.user.id;
  }

  /** A command's answer with the booking as it is now. */
  private async answer(actor: Actor, id: number, outcome: CommandOutcome<unknown>): Promise<BookingCommandAnswer> {
    return { state: outcome.state, value: await this.get(actor, id), replayed: outcome.replayed };
  }

  /**
   * Sends a command to the booking's workflow and waits for it as long as commands are
   * waited for; its refusal becomes a 409 that says why. A booking whose workflow has ended
   * answers with its final status, in the words the workflow refuses with (so a command
   * repeated just after its workflow ended is refused alike).
   */
  private send<T>(
    id: number,
    verb: string,
    updateId: string | undefined,
    start: (h: WorkflowHandle, opts: { updateId?: string; waitForStage: typeof WorkflowUpdateStage.ACCEPTED }) => Promise<WorkflowUpdateHandle<T>>,
  ): Promise<UpdateOutcome<T>> {
    const handle = this.deps.temporal.workflow.getHandle(bookingWorkflowId(id));
    return runWorkflowUpdate(handle, (opts) => start(handle, opts), {
      connection: this.deps.temporal.connection,
      waitMs: this.deps.commandWaitMs ?? DEFAULT_WORKFLOW_COMMAND_WAIT_MS,
      updateId,
      refused: 'The booking cannot change that way now',
      whenGone: async () => {
        const row = await bookingsRepository(this.deps.knex).find(id);
        if (row && isFinalBooking(row.status)) throw new ConflictError(bookingRefusal(row.status, verb));
        throw new AppError(503, 'SERVICE_UNAVAILABLE', 'This booking is still being set up; try again in a minute');
      },
    });
  }
}
