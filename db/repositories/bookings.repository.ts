import type { Knex } from 'knex';
import { BOOKING_STATUS, type BookingNoticeFacts, type BookingSnapshot, type BookingStatus } from '../../contracts/bookings';
import { availabilityRepository } from './availability.repository';

/**
 * The booking aggregate: the `bookings` row, and the tour and call its confirmation creates.
 * Plain records, shared by the bookings API and the booking activities. Takes the knex
 * instance or the caller's transaction.
 *
 * A booking's realtor is `bookings.realtor_id`: the property's realtor when it was
 * requested. Access checks, emails and the tour all read it, so handing a listing to another
 * realtor later moves new requests, never the ones already made.
 */

export interface BookingRecord {
  id: number;
  buyer_id: number;
  property_id: number;
  realtor_id: number;
  status: BookingStatus;
  scheduled_at: Date;
  ends_at: Date;
  duration_minutes: number;
  notes: string | null;
  decline_reason: string | null;
  cancellation_reason: string | null;
  cancelled_by: number | null;
  ics_sequence: number;
  workflow_started_at: Date | null;
  status_changed_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** A booking as the API shows it: the row, its property's address and its tour's id. */
export interface BookingView extends BookingRecord {
  property_address: string;
  tour_id: number | null;
}

export interface NewBooking {
  buyer_id: number;
  property_id: number;
  realtor_id: number;
  scheduled_at: Date;
  duration_minutes: number;
  notes: string | null;
  /** Made to an auto-confirm listing: the API confirms it as the realtor at once. */
  auto_confirm?: boolean;
}

/** Whose bookings a query may see: a buyer's own, a realtor's own, or (empty) all. */
export interface BookingScope {
  buyerId?: number;
  realtorId?: number;
}

export interface BookingFilter {
  status?: BookingStatus;
  property_id?: number;
  buyer_id?: number;
  realtor_id?: number;
  from?: Date;
  to?: Date;
}

/** The status change a transition writes, with its reason. */
export interface BookingStatusPatch {
  status: BookingStatus;
  decline_reason?: string | null;
  cancellation_reason?: string | null;
  cancelled_by?: number | null;
}

/** Listings that take tour requests. */
const BOOKABLE_LISTING = ['active', 'coming_soon'];

const COLUMNS = [
  'id', 'buyer_id', 'property_id', 'realtor_id', 'status', 'scheduled_at', 'ends_at', 'duration_minutes', 'notes', 'decline_reason',
  'cancellation_reason', 'cancelled_by', 'ics_sequence', 'workflow_started_at', 'status_changed_at', 'created_at', 'updated_at',
].map((c) => `b.${c}`);

/** Runs `fn` in the caller's transaction, or in a new one. */
function inTransaction<T>(db: Knex | Knex.Transaction, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db as Knex.Transaction) : db.transaction(fn);
}

export function bookingsRepository(db: Knex | Knex.Transaction) {
  const view = (scope: BookingScope) => {
    const q = db('bookings as b')
      .join('properties as p', 'p.id', 'b.property_id')
      .leftJoin('tours as t', 't.booking_id', 'b.id')
      .select([...COLUMNS, 'p.address as property_address', 't.id as tour_id']);
    if (scope.buyerId !== undefined) q.where('b.buyer_id', scope.buyerId);
    if (scope.realtorId !== undefined) q.where('b.realtor_id', scope.realtorId);
    return q;
  };

  return {
    async find(id: number, opts: { forUpdate?: boolean } = {}): Promise<BookingRecord | undefined> {
      const q = db('bookings as b').select(COLUMNS).where('b.id', id).first<BookingRecord | undefined>();
      return opts.forUpdate ? q.forUpdate() : q;
    },

    /** One booking as `scope` may see it; undefined for another's (a 404, not a 403). */
    async findView(scope: BookingScope, id: number): Promise<BookingView | undefined> {
      return view(scope).where('b.id', id).first<BookingView | undefined>();
    },

    /** A page of the bookings `scope` may see, by time then id, with the count of all matches. */
    async list(scope: BookingScope, f: BookingFilter, page: { page: number; per_page: number }): Promise<{ items: BookingView[]; total: number }> {
      const q = view(scope);
      if (f.status) q.where('b.status', f.status);
      if (f.property_id) q.where('b.property_id', f.property_id);
      if (f.buyer_id) q.where('b.buyer_id', f.buyer_id);
      if (f.realtor_id) q.where('b.realtor_id', f.realtor_id);
      if (f.from) q.where('b.scheduled_at', '>=', f.from);
      if (f.to) q.where('b.scheduled_at', '<', f.to);
      const [items, counted] = await Promise.all([
        q.clone().orderBy([{ column: 'b.scheduled_at', order: 'asc' }, { column: 'b.id', order: 'asc' }]).limit(page.per_page).offset((page.page - 1) * page.per_page),
        q.clone().clearSelect().count<Array<{ count: number | string }>>({ count: '*' }),
      ]);
      return { items: items as BookingView[], total: Number(counted[0]?.count ?? 0) };
    },

    /**
     * The listing a request is for, if it is open for tours, held (FOR SHARE) until the
     * booking commits so it cannot be withdrawn or handed over under it.
     */
    async holdBookableProperty(propertyId: number): Promise<{ id: number; realtor_id: number } | undefined> {
      return db('properties')
        .select('id', 'realtor_id')
        .where({ id: propertyId })
        .whereIn('status', BOOKABLE_LISTING)
        .whereNull('deleted_at')
        .forShare()
        .first<{ id: number; realtor_id: number } | undefined>();
    },

    /**
     * A pending booking, if its listing's availability allows the time (else an
     * AvailabilityConflictError, a 409 with the reason): the one check for requests.
     */
    async insert(b: NewBooking): Promise<number> {
      return inTransaction(db, async (trx) => {
        const allowed = await availabilityRepository(trx).enforce({ realtorId: b.realtor_id, propertyId: b.property_id, scheduledAt: b.scheduled_at, durationMinutes: b.duration_minutes });
        const [row] = await trx('bookings')
          .insert({ ...b, buffer_minutes: allowed?.bufferMinutes ?? null, status: BOOKING_STATUS.pending, status_changed_at: new Date() })
          .returning<Array<{ id: number }>>('id');
        return row!.id;
      });
    },

    /** Whether the booking was made to an auto-confirm listing (so the API confirms it). */
    async isAutoConfirm(id: number): Promise<boolean> {
      const row = await db('bookings').where({ id }).first<{ auto_confirm: boolean } | undefined>('auto_confirm');
      return row?.auto_confirm === true;
    },

    async updateNotes(id: number, notes: string | null): Promise<void> {
      await db('bookings').where({ id }).update({ notes });
    },

    async setStatus(id: number, patch: BookingStatusPatch): Promise<void> {
      await db('bookings').where({ id }).update({ ...patch, status_changed_at: new Date() });
    },

    /**
     * Moves the booking and its live tour; returns the calendar sequence the move gave it.
     * The new time is judged by the listing's availability as a request is (see insert).
     */
    async reschedule(id: number, at: Date, durationMinutes: number): Promise<number> {
      return inTransaction(db, async (trx) => {
        const current = await trx('bookings').where({ id }).first<{ realtor_id: number; property_id: number } | undefined>('realtor_id', 'property_id');
        const allowed = current
          ? await availabilityRepository(trx).enforce({ realtorId: current.realtor_id, propertyId: current.property_id, scheduledAt: at, durationMinutes, exceptBookingId: id })
          : null;
        const [row] = await trx('bookings')
          .where({ id })
          .update({ scheduled_at: at, duration_minutes: durationMinutes, buffer_minutes: allowed?.bufferMinutes ?? null, ics_sequence: trx.raw('ics_sequence + 1') })
          .returning<Array<{ ics_sequence: number }>>('ics_sequence');
        await trx('tours').where({ booking_id: id }).whereNot({ status: 'cancelled' }).update({ scheduled_at: at, duration_minutes: durationMinutes });
        return row!.ics_sequence;
      });
    },

    /** The tour and call a confirmation created, if it did. */
    async findTourAndCall(bookingId: number): Promise<{ tourId: number; callId: number } | undefined> {
      const row = await db('tours as t')
        .join('calls as c', 'c.tour_id', 't.id')
        .where('t.booking_id', bookingId)
        .first<{ tour_id: number; call_id: number } | undefined>('t.id as tour_id', 'c.id as call_id');
      return row && { tourId: row.tour_id, callId: row.call_id };
    },

    /**
     * The tour (`scheduled`) and its call (`created`) a confirmation creates, at the booking's
     * time and with its realtor. Until the meeting exists the call carries the tour's external
     * meeting id, which is unique too.
     */
    async createTourAndCall(b: BookingRecord): Promise<{ tourId: number; callId: number }> {
      const [tour] = await db('tours')
        .insert({
          property_id: b.property_id,
          realtor_id: b.realtor_id,
          buyer_id: b.buyer_id,
          booking_id: b.id,
          status: 'scheduled',
          scheduled_at: b.scheduled_at,
          duration_minutes: b.duration_minutes,
        })
        .returning<Array<{ id: number }>>('id');
      const [call] = await db('calls').insert({ tour_id: tour!.id, chime_meeting_id: `tour-${tour!.id}`, status: 'created' }).returning<Array<{ id: number }>>('id');
      return { tourId: tour!.id, callId: call!.id };
    },

    /** The booking as its workflow starts; null when no such row was ever committed. */
    async snapshot(id: number): Promise<BookingSnapshot | null> {
      const row = await db('bookings as b')
        .leftJoin('tours as t', 't.booking_id', 'b.id')
        .leftJoin('calls as c', 'c.tour_id', 't.id')
        .where('b.id', id)
        .first<
          { status: BookingStatus; scheduled_at: Date; duration_minutes: number; property_id: number; realtor_id: number; buyer_id: number; tour_id: number | null; call_id: number | null } | undefined
        >('b.status', 'b.scheduled_at', 'b.duration_minutes', 'b.property_id', 'b.realtor_id', 'b.buyer_id', 't.id as tour_id', 'c.id as call_id');
      if (!row) return null;
      return {
        status: row.status,
        scheduledAt: row.scheduled_at.toISOString(),
        durationMinutes: row.duration_minutes,
        propertyId: row.property_id,
        realtorId: row.realtor_id,
        buyerId: row.buyer_id,
        tourId: row.tour_id,
        callId: row.call_id,
      };
    },

    /** The sweeper leaves a booking whose workflow has run once. */
    async markWorkflowStarted(id: number): Promise<void> {
      await db('bookings').where({ id }).whereNull('workflow_started_at').update({ workflow_started_at: new Date() });
    },

    async noticeFacts(id: number): Promise<BookingNoticeFacts | undefined> {
      const row = await db('bookings as b')
        .join('properties as p', 'p.id', 'b.property_id')
        .join('users as buyer', 'buyer.id', 'b.buyer_id')
        .join('users as realtor', 'realtor.id', 'b.realtor_id')
        .leftJoin('tours as t', 't.booking_id', 'b.id')
        .where('b.id', id)
        .first<(BookingRecord & { address: string; city: string | null; buyer_name: string; buyer_email: string; realtor_name: string; realtor_email: string; tour_id: number | null }) | undefined>([
          ...COLUMNS,
          'p.address', 'p.city', 'buyer.full_name as buyer_name', 'buyer.email as buyer_email',
          'realtor.full_name as realtor_name', 'realtor.email as realtor_email', 't.id as tour_id',
        ]);
      if (!row) return undefined;
      const { address, city, buyer_name, buyer_email, realtor_name, realtor_email, tour_id, ...booking } = row;
      return {
        booking,
        property: { address, city },
        buyer: { id: booking.buyer_id, name: buyer_name, email: buyer_email },
        realtor: { id: booking.realtor_id, name: realtor_name, email: realtor_email },
        tourId: tour_id,
      };
    },
  };
}

export type BookingsRepository = ReturnType<typeof bookingsRepository>;
