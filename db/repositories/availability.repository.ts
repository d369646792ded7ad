import type { Knex } from 'knex';
import { BOOKING_STATUS } from '../../contracts/bookings';
import { TOUR_CANCELLABLE } from '../../contracts/tours';
import {
  AvailabilityConflictError,
  checkRequest,
  describeDay,
  localDate,
  localDatesAround,
  normalizeWeeklyHours,
  openIntervals,
  type BusyInterval,
  type DateException,
  type ExceptionKind,
  type Interval,
  type Refusal,
  type Schedule,
  type WeeklyHours,
} from '../../lib/availability';
import { pageOf, type Page, type PageRequest } from './page';

/**
 * The availability aggregate: a realtor's hours, a listing's overrides, dated exceptions,
 * and the busy times (live bookings and tours) the rules are checked against. Plain
 * records; takes the knex instance or the caller's transaction.
 *
 * `enforce` is the one place a booking's time is judged: the bookings repository calls it
 * on every insert and reschedule, for the API and the booking activities alike.
 */

export interface RealtorAvailabilityRecord {
  realtor_id: number;
  time_zone: string;
  weekly_hours: WeeklyHours;
  buffer_minutes: number;
  min_notice_minutes: number | null;
  created_at: Date;
  updated_at: Date;
}

export interface PropertyAvailabilityRecord {
  property_id: number;
  time_zone: string | null;
  weekly_hours: WeeklyHours | null;
  buffer_minutes: number | null;
  min_notice_minutes: number | null;
  duration_minutes: number;
  /** Requests that fit are confirmed at once, as the listing's realtor. */
  auto_confirm: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface AvailabilityExceptionRecord {
  id: number;
  realtor_id: number | null;
  property_id: number | null;
  date: string;
  kind: ExceptionKind;
  start_time: string | null;
  end_time: string | null;
  note: string | null;
  created_at: Date;
}

export type NewRealtorAvailability = Pick<RealtorAvailabilityRecord, 'time_zone' | 'weekly_hours' | 'buffer_minutes' | 'min_notice_minutes'>;
export type NewPropertyAvailability = Pick<PropertyAvailabilityRecord, 'time_zone' | 'weekly_hours' | 'buffer_minutes' | 'min_notice_minutes' | 'duration_minutes' | 'auto_confirm'>;
export type NewAvailabilityException = Pick<AvailabilityExceptionRecord, 'date' | 'kind' | 'start_time' | 'end_time' | 'note'>;

/** Whose exceptions: a realtor's own (all their listings) or one listing's. */
export type ExceptionOwner = { realtorId: number } | { propertyId: number };

/** A listing's rules as they apply now: its overrides over its realtor's hours. */
export interface ListingRules {
  /** False: no weekly hours anywhere, so any time may be requested (the behaviour before availability). */
  hoursSet: boolean;
  /** Whose weekly hours apply. */
  source: 'listing' | 'realtor' | null;
  timeZone: string | null;
  weekly: WeeklyHours | null;
  bufferMinutes: number;
  /** The listing's or realtor's own; null means BOOKING_MIN_NOTICE_MINUTES. */
  minNoticeMinutes: number | null;
  durationMinutes: number;
  /**
   * The listing confirms a request that fits at once. Even with no hours set, its requests
   * are then checked against its realtor's other bookings and tours (and buffer), so an
   * instant confirmation never finds the time taken.
   */
  autoConfirm: boolean;
}

export const DEFAULT_TOUR_MINUTES = 30;
/** The exclusion constraint that keeps two live bookings of a realtor a buffer apart (its 23P01). */
export const REALTOR_BUFFER_CONSTRAINT = 'bookings_realtor_buffer_no_overlap';
/** Buffers never exceed this, so busy times this far outside a window cannot reach into it. */
const MAX_BUFFER_MS = 240 * 60_000;
const DAY_MS = 24 * 3_600_000;
const LIVE_BOOKINGS = [BOOKING_STATUS.pending, BOOKING_STATUS.confirmed];

// Dates and times as the API writes them (YYYY-MM-DD, HH:MM): never Dates shifted by a zone.
const exceptionColumns = (db: Knex | Knex.Transaction) => [
  'id', 'realtor_id', 'property_id', db.raw("to_char(date, 'YYYY-MM-DD') AS date"), 'kind',
  db.raw("to_char(start_time, 'HH24:MI') AS start_time"), db.raw("to_char(end_time, 'HH24:MI') AS end_time"), 'note', 'created_at',
];

/** A refusal in words, with what the caller needs to pick another time. */
function refusalMessage(r: Refusal, c: { open: Interval[]; start: number; earliest: number; zone: string; minNoticeMinutes: number | null }): string {
  switch (r.reason) {
    case 'min_notice':
      return `This listing takes tour requests at least ${c.minNoticeMinutes} minutes ahead (${new Date(c.earliest).toISOString()} or later)`;
    case 'outside_hours': {
      const date = localDate(c.start, c.zone);
      return `That time is outside this listing's tour hours: on ${date} they are ${describeDay(c.open, c.zone, date)} (${c.zone} time), and the tour must fit within them`;
    }
    case 'taken':
      return 'That time is taken: the realtor has another tour or tour request then';
    case 'buffer':
      return `That time is too close to another tour: the realtor keeps ${r.gapMinutes} minutes between tours there`;
  }
}

const ownerWhere = (owner: ExceptionOwner) => ('realtorId' in owner ? { realtor_id: owner.realtorId } : { property_id: owner.propertyId });

export function availabilityRepository(db: Knex | Knex.Transaction) {
  const exceptions = db('availability_exceptions');
  const EXCEPTION_COLUMNS = exceptionColumns(db);
  /** The one settings row keyed by `key` = `id`, inserted or replaced by `values`. */
  const upsert = async <T>(table: string, key: string, id: number, values: Record<string, unknown>): Promise<T> => {
    const [saved] = (await db(table).insert({ [key]: id, ...values }).onConflict(key).merge(values).returning('*')) as T[];
    return saved!;
  };

  const repo = {
    async findRealtor(realtorId: number): Promise<RealtorAvailabilityRecord | undefined> {
      return db('realtor_availability').where({ realtor_id: realtorId }).first<RealtorAvailabilityRecord | undefined>();
    },

    async upsertRealtor(realtorId: number, row: NewRealtorAvailability): Promise<RealtorAvailabilityRecord> {
      return upsert<RealtorAvailabilityRecord>('realtor_availability', 'realtor_id', realtorId, { ...row, weekly_hours: JSON.stringify(row.weekly_hours) });
    },

    async deleteRealtor(realtorId: number): Promise<boolean> {
      return (await db('realtor_availability').where({ realtor_id: realtorId }).delete()) > 0;
    },

    async findProperty(propertyId: number): Promise<PropertyAvailabilityRecord | undefined> {
      return db('property_availability').where({ property_id: propertyId }).first<PropertyAvailabilityRecord | undefined>();
    },

    async upsertProperty(propertyId: number, row: NewPropertyAvailability): Promise<PropertyAvailabilityRecord> {
      return upsert<PropertyAvailabilityRecord>('property_availability', 'property_id', propertyId, { ...row, weekly_hours: row.weekly_hours === null ? null : JSON.stringify(row.weekly_hours) });
    },

    async deleteProperty(propertyId: number): Promise<boolean> {
      return (await db('property_availability').where({ property_id: propertyId }).delete()) > 0;
    },

    exceptions: {
      /** A page of `owner`'s exceptions dated within [from, to], by date then id, with the count of all. */
      async list(owner: ExceptionOwner, f: { from?: string; to?: string }, page: PageRequest): Promise<Page<AvailabilityExceptionRecord>> {
        const q = exceptions.clone().where(ownerWhere(owner));
        if (f.from) q.where('date', '>=', f.from);
        if (f.to) q.where('date', '<=', f.to);
        return pageOf<AvailabilityExceptionRecord>(
          q,
          (rows) => rows.select(EXCEPTION_COLUMNS).orderBy([{ column: 'availability_exceptions.date', order: 'asc' }, { column: 'id', order: 'asc' }]),
          page,
        );
      },

      async find(owner: ExceptionOwner, id: number): Promise<AvailabilityExceptionRecord | undefined> {
        return exceptions.clone().select(EXCEPTION_COLUMNS).where(ownerWhere(owner)).where({ id }).first<AvailabilityExceptionRecord | undefined>();
      },

      async insert(owner: ExceptionOwner, row: NewAvailabilityException): Promise<AvailabilityExceptionRecord> {
        const [inserted] = await exceptions.clone().insert({ ...ownerWhere(owner), ...row }).returning<Array<{ id: number }>>('id');
        return (await repo.exceptions.find(owner, inserted!.id))!;
      },

      async delete(owner: ExceptionOwner, id: number): Promise<boolean> {
        return (await exceptions.clone().where(ownerWhere(owner)).where({ id }).delete()) > 0;
      },

      /** The realtor's and then the listing's exceptions dated within [from, to]: the schedule's layers. */
      async layers(realtorId: number, propertyId: number, from: string, to: string): Promise<DateException[][]> {
        const rows = await exceptions
          .clone()
          .select(EXCEPTION_COLUMNS)
          .where((w) => w.where({ realtor_id: realtorId }).orWhere({ property_id: propertyId }))
          .whereBetween('date', [from, to]);
        const layer = (mine: (r: AvailabilityExceptionRecord) => boolean) =>
          (rows as AvailabilityExceptionRecord[]).filter(mine).map((r) => ({ date: r.date, kind: r.kind, start: r.start_time, end: r.end_time }));
        return [layer((r) => r.realtor_id === realtorId), layer((r) => r.property_id === propertyId)];
      },
    },

    /** The listing's rules now: each of its overrides, else its realtor's, else the defaults. */
    async rules(realtorId: number, propertyId: number): Promise<ListingRules> {
      // One round trip: this runs on every booking request and reschedule.
      const { rows } = (await db.raw(
        `SELECT pa.weekly_hours AS listing_hours, ra.weekly_hours AS realtor_hours,
                COALESCE(pa.time_zone, ra.time_zone) AS time_zone,
                COALESCE(pa.buffer_minutes, ra.buffer_minutes, 0) AS buffer_minutes,
                COALESCE(pa.min_notice_minutes, ra.min_notice_minutes) AS min_notice_minutes,
                COALESCE(pa.duration_minutes, ?) AS duration_minutes,
                COALESCE(pa.auto_confirm, false) AS auto_confirm
           FROM (SELECT 1) AS one
           LEFT JOIN realtor_availability ra ON ra.realtor_id = ?
           LEFT JOIN property_availability pa ON pa.property_id = ?`,
        [DEFAULT_TOUR_MINUTES, realtorId, propertyId],
      )) as {
        rows: Array<{
          listing_hours: WeeklyHours | null;
          realtor_hours: WeeklyHours | null;
          time_zone: string | null;
          buffer_minutes: number;
          min_notice_minutes: number | null;
          duration_minutes: number;
          auto_confirm: boolean;
        }>;
      };
      const r = rows[0]!;
      const weekly = r.listing_hours ?? r.realtor_hours;
      return {
        hoursSet: weekly !== null,
        source: r.listing_hours ? 'listing' : r.realtor_hours ? 'realtor' : null,
        // Hours without a zone (a listing's own, its realtor having none) are read in UTC.
        timeZone: r.time_zone ?? (weekly ? 'UTC' : null),
        weekly: weekly && normalizeWeeklyHours(weekly),
        bufferMinutes: r.buffer_minutes,
        minNoticeMinutes: r.min_notice_minutes,
        durationMinutes: r.duration_minutes,
        autoConfirm: r.auto_confirm,
      };
    },

    /** The schedule of `rules` with the exceptions that can touch [from, to). */
    async schedule(rules: ListingRules, realtorId: number, propertyId: number, from: number, to: number): Promise<Schedule> {
      const dates = localDatesAround(from, to, rules.timeZone!);
      const layers = await repo.exceptions.layers(realtorId, propertyId, dates[0]!, dates[dates.length - 1]!);
      return { timeZone: rules.timeZone!, weekly: rules.weekly!, layers };
    },

    /**
     * Live bookings (pending, confirmed) and tours (scheduled, in progress) of the realtor or
     * of the listing near [from, to), with the buffer each was booked with; one booking (and
     * its tour) can be left out, the one being moved.
     */
    async busy(realtorId: number, propertyId: number, from: number, to: number, exceptBookingId?: number): Promise<BusyInterval[]> {
      const lo = new Date(from - MAX_BUFFER_MS);
      const hi = new Date(to + MAX_BUFFER_MS);
      const bookings = db('bookings')
        .select('scheduled_at', 'ends_at', db.raw('COALESCE(buffer_minutes, 0) AS buffer_minutes'))
        .whereIn('status', LIVE_BOOKINGS)
        .where((w) => w.where({ realtor_id: realtorId }).orWhere({ property_id: propertyId }))
        .where('scheduled_at', '<', hi)
        .where('ends_at', '>', lo);
      const tours = db('tours as t')
        .leftJoin('bookings as b', 'b.id', 't.booking_id')
        .select('t.scheduled_at', 't.ends_at', db.raw('COALESCE(b.buffer_minutes, 0) AS buffer_minutes'))
        .whereIn('t.status', TOUR_CANCELLABLE)
        .where((w) => w.where('t.realtor_id', realtorId).orWhere('t.property_id', propertyId))
        .where('t.scheduled_at', '<', hi)
        .where('t.ends_at', '>', lo);
      if (exceptBookingId !== undefined) {
        bookings.whereNot({ id: exceptBookingId });
        tours.where((w) => w.whereNull('t.booking_id').orWhereNot('t.booking_id', exceptBookingId));
      }
      const rows = (await bookings.unionAll(tours)) as Array<{ scheduled_at: Date; ends_at: Date; buffer_minutes: number }>;
      return rows.map((r) => ({ start: r.scheduled_at.getTime(), end: r.ends_at.getTime(), bufferMinutes: Number(r.buffer_minutes) }));
    },

    /**
     * Serialises the bookings of one realtor until the transaction ends, so a check and the
     * write it allows are not interleaved with another's (the exclusion constraint on
     * bookings backs it up). A no-op outside a transaction.
     */
    async lockRealtor(realtorId: number): Promise<void> {
      await db.raw("SELECT pg_advisory_xact_lock(hashtextextended('availability:realtor:' || ?::text, 0))", [realtorId]);
    },

    /**
     * Judges a booking's time against its listing's rules, under the realtor's lock: throws
     * AvailabilityConflictError (409) with the reason, or returns the buffer to store with
     * the booking. Returns null, checking nothing, where no hours are set: such a listing
     * takes requests at any time, as before availability existed, unless it auto-confirms:
     * then any time is in its hours, but not one that is taken or inside a buffer (its
     * bookings are confirmed at once, so the check and the exclusion constraint must see
     * them). The service-wide minimum notice is checked by the API; the listing's own here.
     */
    async enforce(
      b: { realtorId: number; propertyId: number; scheduledAt: Date; durationMinutes: number; exceptBookingId?: number },
      now = Date.now(),
    ): Promise<{ bufferMinutes: number } | null> {
      const rules = await repo.rules(b.realtorId, b.propertyId);
      if (!rules.hoursSet && !rules.autoConfirm) return null;
      await repo.lockRealtor(b.realtorId);
      const start = b.scheduledAt.getTime();
      const end = start + b.durationMinutes * 60_000;
      // The whole local day around the time, so a refusal can say what that day's hours are.
      const [schedule, busy] = await Promise.all([
        rules.hoursSet ? repo.schedule(rules, b.realtorId, b.propertyId, start - DAY_MS, end + DAY_MS) : undefined,
        repo.busy(b.realtorId, b.propertyId, start, end, b.exceptBookingId),
      ]);
      const open = schedule ? openIntervals(schedule, start - DAY_MS, end + DAY_MS) : [{ start: -Infinity, end: Infinity }];
      const earliest = now + (rules.minNoticeMinutes ?? 0) * 60_000;
      const refusal = checkRequest({ open, busy, start, end, bufferMinutes: rules.bufferMinutes, earliest });
      if (!refusal) return { bufferMinutes: rules.bufferMinutes };
      throw new AvailabilityConflictError(refusal.reason, refusalMessage(refusal, { open, start, earliest, zone: schedule?.timeZone ?? 'UTC', minNoticeMinutes: rules.minNoticeMinutes }));
    },
  };
  return repo;
}

export type AvailabilityRepository = ReturnType<typeof availabilityRepository>;
