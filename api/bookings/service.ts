import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Client } from '@temporalio/client';
import {
  bookingWorkflowId,
  cancelUpdate,
  confirmUpdate,
  declineUpdate,
  isFinalBooking,
  rescheduleUpdate,
  startBookingWorkflow,
  type ActorRef,
  type BookingWorkflowSettings,
} from '../../contracts/bookings';
import { changedFields, recordAudit } from '../../db/audit';
import { bookingsRepository, type BookingView } from '../../db/repositories/bookings.repository';
import { toursRepository, type CallRecord, type TourRecord } from '../../db/repositories/tours.repository';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { runWorkflowCommand } from '../workflow-errors';
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
  now?: () => number;
}

export interface CreateBookingInput {
  property_id: number;
  scheduled_at: string;
  duration_minutes: number;
  notes?: string | null;
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

  constructor(private readonly deps: BookingServiceDeps) {
    this.now = deps.now ?? Date.now;
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
   * Creates a pending booking and starts its workflow. If the start fails (Temporal
   * unreachable), the booking is kept and the worker's sweeper starts the workflow with
   * the same id shortly after; the answer is still 201 with the pending booking.
   */
  async create(actor: Actor, input: CreateBookingInput, idempotencyKey?: string): Promise<{ booking: BookingView; replayed: boolean }> {
    bookingPolicy.assertCanRequest(actor);
    const hash = requestHash(input);
    if (idempotencyKey) {
      const replay = await this.replay(actor, idempotencyKey, hash);
      if (replay) return { booking: replay, replayed: true };
    }
    const at = this.assertTime(input.scheduled_at);
    let id: number;
    try {
      id = await this.deps.knex.transaction(async (trx) => {
        const repo = bookingsRepository(trx);
        const property = await repo.holdBookableProperty(input.property_id);
        if (!property) throw new AppError(404, 'NOT_FOUND', 'Property not found or not open for tours', 'property_id');
        const bookingId = await repo.insert({
          buyer_id: actor.user.id,
          property_id: property.id,
          realtor_id: property.realtor_id,
          scheduled_at: at,
          duration_minutes: input.duration_minutes,
          notes: input.notes ?? null,
        });
        if (idempotencyKey) {
          await trx('idempotency_keys').insert({ user_id: actor.user.id, key: idempotencyKey, request_hash: hash, resource_type: 'booking', resource_id: bookingId });
        }
        await recordAudit(trx, {
          actorId: actor.user.id,
          action: 'booking_requested',
          resourceType: 'booking',
          resourceId: bookingId,
          details: { property_id: property.id, scheduled_at: at.toISOString(), duration_minutes: input.duration_minutes },
          requestId: actor.requestId,
        });
        return bookingId;
      });
    } catch (err) {
      const { code, constraint } = pgCode(err);
      const raced = (code === '23505' && constraint === 'idempotency_keys_user_key_unique') || code === '23P01';
      if (raced && idempotencyKey) {
        // The same key raced us and won: answer with its booking. A concurrent retry usually
        // loses on the buyer's overlap constraint first (its booking row is inserted before
        // its key), once the winner commits.
        const replay = await this.replay(actor, idempotencyKey, hash);
        if (replay) return { booking: replay, replayed: true };
      }
      if (code === '23P01') throw new ConflictError('You already have a booking that overlaps this time', 'scheduled_at');
      throw err;
    }

    try {
      await startBookingWorkflow(this.deps.temporal, this.deps.taskQueue, id, this.deps.workflowSettings);
    } catch (err) {
      this.deps.logger.warn({ err, bookingId: id }, 'booking workflow not started; the sweeper will start it');
    }
    return { booking: await this.get(actor, id), replayed: false };
  }

  private async replay(actor: Actor, key: string, hash: string): Promise<BookingView | undefined> {
    const row = await this.deps.knex('idempotency_keys').where({ user_id: actor.user.id, key }).first<{ request_hash: string; resource_id: number } | undefined>();
    if (!row) return undefined;
    if (row.request_hash !== hash) {
      throw new AppError(422, 'UNPROCESSABLE_ENTITY', 'This Idempotency-Key was used for a different request', 'Idempotency-Key');
    }
    return this.get(actor, row.resource_id);
  }

  /**
   * Plain data (notes) is written here; a new time goes through the booking's workflow.
   * Everything is checked before anything is written, and the time (which the workflow
   * may refuse) goes first, so a refused request leaves the notes as they were too.
   */
  async update(actor: Actor, id: number, body: { scheduled_at?: string; duration_minutes?: number; notes?: string | null }): Promise<BookingView> {
    const booking = await this.get(actor, id);
    const editsNotes = body.notes !== undefined;
    const moves = body.scheduled_at !== undefined || body.duration_minutes !== undefined;
    if (editsNotes) {
      bookingPolicy.assertCanEditNotes(actor);
      if (isFinalBooking(booking.status)) throw new ConflictError(`This booking is ${booking.status}; it can no longer be changed`);
    }
    if (moves) {
      const at = body.scheduled_at !== undefined ? this.assertTime(body.scheduled_at) : booking.scheduled_at;
      if (body.scheduled_at === undefined && at.getTime() < this.now()) throw new ConflictError('This booking has already started');
      await this.runUpdate(booking, (h) =>
        h.executeUpdate(rescheduleUpdate, {
          args: [actorRef(actor), { scheduledAt: at.toISOString(), durationMinutes: body.duration_minutes ?? booking.duration_minutes }],
        }),
      );
    }
    if (editsNotes) {
      await this.deps.knex.transaction(async (trx) => {
        const changes = changedFields(booking as unknown as Record<string, unknown>, { notes: body.notes });
        if (!Object.keys(changes).length) return;
        await bookingsRepository(trx).updateNotes(id, body.notes ?? null);
        await recordAudit(trx, { actorId: actor.user.id, action: 'booking_notes_updated', resourceType: 'booking', resourceId: id, details: { changes }, requestId: actor.requestId });
      });
    }
    return this.get(actor, id);
  }

  async cancel(actor: Actor, id: number, reason: string | undefined): Promise<BookingView> {
    const booking = await this.get(actor, id);
    await this.runUpdate(booking, (h) => h.executeUpdate(cancelUpdate, { args: [actorRef(actor), reason ?? null] }));
    return this.get(actor, id);
  }

  async decline(actor: Actor, id: number, reason: string | undefined): Promise<BookingView> {
    bookingPolicy.assertCanAnswer(actor);
    const booking = await this.get(actor, id);
    await this.runUpdate(booking, (h) => h.executeUpdate(declineUpdate, { args: [actorRef(actor), reason ?? null] }));
    return this.get(actor, id);
  }

  async confirm(actor: Actor, id: number): Promise<{ booking: BookingView; tour: TourRecord; call: CallRecord }> {
    bookingPolicy.assertCanAnswer(actor);
    const booking = await this.get(actor, id);
    const result = await this.runUpdate(booking, (h) => h.executeUpdate(confirmUpdate, { args: [actorRef(actor)] }));
    const [fresh, tour, call] = await Promise.all([
      this.get(actor, id),
      toursRepository(this.deps.knex).find(result.tourId),
      toursRepository(this.deps.knex).calls.find(result.callId),
    ]);
    return { booking: fresh, tour: tour!, call: call! };
  }

  /**
   * Sends a command to the booking's workflow and turns its refusal into a 409 that says
   * why. A booking whose workflow has ended answers with its final status.
   */
  private async runUpdate<T>(booking: BookingView, fn: (h: ReturnType<Client['workflow']['getHandle']>) => Promise<T>): Promise<T> {
    const handle = this.deps.temporal.workflow.getHandle(bookingWorkflowId(booking.id));
    return runWorkflowCommand(() => fn(handle), {
      refused: 'The booking cannot change that way now',
      whenGone: async () => {
        const row = await bookingsRepository(this.deps.knex).find(booking.id);
        if (row && isFinalBooking(row.status)) throw new ConflictError(`This booking is ${row.status}; it can no longer be changed`);
        throw new AppError(503, 'SERVICE_UNAVAILABLE', 'This booking is still being set up; try again in a minute');
      },
    });
  }
}
