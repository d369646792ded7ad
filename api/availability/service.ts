import type { Knex } from 'knex';
import type { z } from 'zod';
import { changedValues, recordAudit } from '../../db/audit';
import {
  availabilityRepository,
  type AvailabilityExceptionRecord,
  type ExceptionOwner,
  type ListingRules,
  type PropertyAvailabilityRecord,
  type RealtorAvailabilityRecord,
} from '../../db/repositories/availability.repository';
import { propertiesRepository, type PropertyRecord } from '../../db/repositories/properties.repository';
import { freeSlots, normalizeWeeklyHours, openIntervals, type Interval } from '../../lib/availability';
import { NotFoundError } from '../../lib/errors';
import { pageMeta, type PageRequest } from '../pagination';
import type { Actor } from '../routing';
import { availabilityPolicy } from './policy';
import { DEFAULT_RANGE_DAYS, MAX_RANGE_DAYS, type exceptionBody, type listingAvailabilityBody, type realtorHoursBody } from './schemas';

export interface AvailabilityServiceDeps {
  knex: Knex;
  /** BOOKING_MIN_NOTICE_MINUTES: the default notice, and the floor under every listing's own. */
  minNoticeMinutes: number;
  /** BOOKING_MAX_AHEAD_DAYS: no slot is offered later than a booking may be. */
  maxAheadDays: number;
  now?: () => number;
}

type RealtorHoursInput = z.output<typeof realtorHoursBody>;
type ListingInput = z.output<typeof listingAvailabilityBody>;
type ExceptionInput = z.output<typeof exceptionBody>;

const DAY = 86_400_000;

/**
 * Bookable hours: the realtor's weekly hours and exceptions, a listing's overrides, and the
 * free slots buyers are offered. Whether a booking's time is allowed is decided where
 * bookings are written (the bookings repository), with the same rules as the slots here.
 */
export class AvailabilityService {
  private readonly now: () => number;

  constructor(private readonly deps: AvailabilityServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** A listing's notice in force: its own (or its realtor's), never under the service-wide one. */
  private noticeOf(rules: ListingRules): number {
    return Math.max(rules.minNoticeMinutes ?? this.deps.minNoticeMinutes, this.deps.minNoticeMinutes);
  }

  private async ownListing(actor: Actor, propertyId: number, trx: Knex | Knex.Transaction = this.deps.knex): Promise<PropertyRecord> {
    availabilityPolicy.assertRealtor(actor);
    const property = await propertiesRepository(trx).find(availabilityPolicy.editableListings(actor), propertyId);
    if (!property) throw new NotFoundError('Property');
    return property;
  }

  /** The realtor's own exceptions, or (with a property id) those of one of their listings. */
  private async ownerOf(actor: Actor, propertyId: number | undefined, trx?: Knex.Transaction): Promise<ExceptionOwner> {
    availabilityPolicy.assertRealtor(actor);
    if (propertyId === undefined) return { realtorId: actor.user.id };
    return { propertyId: (await this.ownListing(actor, propertyId, trx)).id };
  }

  // A realtor's hours ---------------------------------------------------------------------------

  async getRealtorHours(actor: Actor): Promise<RealtorAvailabilityRecord | undefined> {
    availabilityPolicy.assertRealtor(actor);
    return availabilityRepository(this.deps.knex).findRealtor(actor.user.id);
  }

  /** Replaces the weekly hours, buffer and notice. Bookings already made stay as they are. */
  async setRealtorHours(actor: Actor, input: RealtorHoursInput): Promise<RealtorAvailabilityRecord> {
    availabilityPolicy.assertRealtor(actor);
    return this.deps.knex.transaction(async (trx) => {
      const repo = availabilityRepository(trx);
      const before = await repo.findRealtor(actor.user.id);
      const row = { time_zone: input.time_zone, weekly_hours: normalizeWeeklyHours(input.weekly_hours), buffer_minutes: input.buffer_minutes, min_notice_minutes: input.min_notice_minutes };
      const saved = await repo.upsertRealtor(actor.user.id, row);
      await recordAudit(trx, {
        actorId: actor.user.id,
        action: 'availability_hours_set',
        resourceType: 'realtor_availability',
        resourceId: actor.user.id,
        details: { changes: changedValues(before, row) },
        requestId: actor.requestId,
      });
      return saved;
    });
  }

  /** Back to no hours: the realtor's listings (without hours of their own) take requests at any time. */
  async clearRealtorHours(actor: Actor): Promise<void> {
    availabilityPolicy.assertRealtor(actor);
    await this.deps.knex.transaction(async (trx) => {
      const before = await availabilityRepository(trx).findRealtor(actor.user.id);
      if (!before || !(await availabilityRepository(trx).deleteRealtor(actor.user.id))) return;
      await recordAudit(trx, {
        actorId: actor.user.id,
        action: 'availability_hours_cleared',
        resourceType: 'realtor_availability',
        resourceId: actor.user.id,
        details: { time_zone: before.time_zone, weekly_hours: before.weekly_hours, buffer_minutes: before.buffer_minutes, min_notice_minutes: before.min_notice_minutes },
        requestId: actor.requestId,
      });
    });
  }

  // Exceptions --------------------------------------------------------------------------------

  async listExceptions(actor: Actor, propertyId: number | undefined, q: { from?: string; to?: string } & PageRequest) {
    const owner = await this.ownerOf(actor, propertyId);
    const { items, total } = await availabilityRepository(this.deps.knex).exceptions.list(owner, q, q);
    return { items, meta: pageMeta(q, total) };
  }

  async addException(actor: Actor, propertyId: number | undefined, input: ExceptionInput): Promise<AvailabilityExceptionRecord> {
    return this.deps.knex.transaction(async (trx) => {
      const owner = await this.ownerOf(actor, propertyId, trx);
      // One time alone reaches to the date's edge; neither: the whole date (no times).
      const timed = input.start_time !== undefined || input.end_time !== undefined;
      const saved = await availabilityRepository(trx).exceptions.insert(owner, {
        date: input.date,
        kind: input.kind,
        start_time: timed ? (input.start_time ?? '00:00') : null,
        end_time: timed ? (input.end_time ?? '24:00') : null,
        note: input.note ?? null,
      });
      await recordAudit(trx, {
        actorId: actor.user.id,
        action: 'availability_exception_added',
        resourceType: 'availability_exception',
        resourceId: saved.id,
        details: { realtor_id: saved.realtor_id, property_id: saved.property_id, date: saved.date, kind: saved.kind, start_time: saved.start_time, end_time: saved.end_time },
        requestId: actor.requestId,
      });
      return saved;
    });
  }

  async deleteException(actor: Actor, propertyId: number | undefined, exceptionId: number): Promise<void> {
    await this.deps.knex.transaction(async (trx) => {
      const owner = await this.ownerOf(actor, propertyId, trx);
      const repo = availabilityRepository(trx);
      const row = await repo.exceptions.find(owner, exceptionId);
      if (!row || !(await repo.exceptions.delete(owner, exceptionId))) throw new NotFoundError('Exception');
      await recordAudit(trx, {
        actorId: actor.user.id,
        action: 'availability_exception_removed',
        resourceType: 'availability_exception',
        resourceId: exceptionId,
        details: { realtor_id: row.realtor_id, property_id: row.property_id, date: row.date, kind: row.kind, start_time: row.start_time, end_time: row.end_time },
        requestId: actor.requestId,
      });
    });
  }

  // A listing's overrides ---------------------------------------------------------------------

  async getListing(actor: Actor, propertyId: number): Promise<{ row: PropertyAvailabilityRecord | undefined; rules: ListingRules; minNoticeMinutes: number }> {
    const property = await this.ownListing(actor, propertyId);
    return this.listingView(this.deps.knex, property);
  }

  private async listingView(db: Knex | Knex.Transaction, property: PropertyRecord) {
    const repo = availabilityRepository(db);
    const [row, rules] = await Promise.all([repo.findProperty(property.id), repo.rules(property.realtor_id, property.id)]);
    return { row, rules, minNoticeMinutes: this.noticeOf(rules) };
  }

  /** Replaces the listing's overrides (a null field falls back to the realtor's), its tour length and auto-confirm. */
  async setListing(actor: Actor, propertyId: number, input: ListingInput) {
    return this.deps.knex.transaction(async (trx) => {
      const property = await this.ownListing(actor, propertyId, trx);
      const repo = availabilityRepository(trx);
      const before = await repo.findProperty(property.id);
      const row = {
        time_zone: input.time_zone,
        weekly_hours: input.weekly_hours ? normalizeWeeklyHours(input.weekly_hours) : null,
        buffer_minutes: input.buffer_minutes,
        min_notice_minutes: input.min_notice_minutes,
        duration_minutes: input.duration_minutes,
        auto_confirm: input.auto_confirm,
      };
      await repo.upsertProperty(property.id, row);
      await recordAudit(trx, {
        actorId: actor.user.id,
        action: 'listing_availability_set',
        resourceType: 'property',
        resourceId: property.id,
        details: { changes: changedValues(before, row) },
        requestId: actor.requestId,
      });
      return this.listingView(trx, property);
    });
  }

  /** Drops the listing's overrides: its realtor's hours apply, and the default tour length. */
  async clearListing(actor: Actor, propertyId: number): Promise<void> {
    await this.deps.knex.transaction(async (trx) => {
      const property = await this.ownListing(actor, propertyId, trx);
      const repo = availabilityRepository(trx);
      const before = await repo.findProperty(property.id);
      if (!before || !(await repo.deleteProperty(property.id))) return;
      await recordAudit(trx, {
        actorId: actor.user.id,
        action: 'listing_availability_cleared',
        resourceType: 'property',
        resourceId: property.id,
        details: {
          time_zone: before.time_zone,
          weekly_hours: before.weekly_hours,
          buffer_minutes: before.buffer_minutes,
          min_notice_minutes: before.min_notice_minutes,
          duration_minutes: before.duration_minutes,
          auto_confirm: before.auto_confirm,
        },
        requestId: actor.requestId,
      });
    });
  }

  // Free slots --------------------------------------------------------------------------------

  /**
   * The free slots of a listing open for tours, of its default length, starting within
   * [from, to): inside its hours, after its notice, clear of live bookings and tours of the
   * listing or its realtor and of their buffers. No hours set: no slots, any time may be
   * requested. A window past its end (`to` before now, from left out) holds none; one longer
   * than MAX_RANGE_DAYS is cut to it (the answer says the window it covers).
   */
  async slots(_actor: Actor, propertyId: number, q: { from?: string; to?: string }) {
    const now = this.now();
    const from = q.from ? Date.parse(q.from) : now;
    const to = Math.max(from, Math.min(q.to ? Date.parse(q.to) : from + DEFAULT_RANGE_DAYS * DAY, from + MAX_RANGE_DAYS * DAY));

    const property = await propertiesRepository(this.deps.knex).find(availabilityPolicy.bookableListings(), propertyId);
    if (!property) throw new NotFoundError('Property');
    const repo = availabilityRepository(this.deps.knex);
    const rules = await repo.rules(property.realtor_id, property.id);
    const minNoticeMinutes = this.noticeOf(rules);
    let slots: Interval[] = [];
    if (rules.hoursSet) {
      const [schedule, busy] = await Promise.all([repo.schedule(rules, property.realtor_id, property.id, from, to), repo.busy(property.realtor_id, property.id, from, to)]);
      slots = freeSlots({
        open: openIntervals(schedule, from, to),
        busy,
        durationMinutes: rules.durationMinutes,
        bufferMinutes: rules.bufferMinutes,
        from,
        to,
        earliest: now + minNoticeMinutes * 60_000,
        latest: now + this.deps.maxAheadDays * DAY,
      });
    }
    return { propertyId: property.id, rules, minNoticeMinutes, from, to, slots };
  }
}
