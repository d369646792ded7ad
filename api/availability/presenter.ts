import type { AvailabilityExceptionRecord, ListingRules, PropertyAvailabilityRecord, RealtorAvailabilityRecord } from '../../db/repositories/availability.repository';
import { normalizeWeeklyHours, type Interval } from '../../lib/availability';
import { resource } from '../envelope';

const iso = (ts: number) => new Date(ts).toISOString();

export function presentRealtorAvailability(realtorId: number, row: RealtorAvailabilityRecord | undefined) {
  return resource('realtor_availability', realtorId, {
    hours_set: Boolean(row),
    time_zone: row?.time_zone ?? null,
    weekly_hours: row ? normalizeWeeklyHours(row.weekly_hours) : null,
    buffer_minutes: row?.buffer_minutes ?? 0,
    min_notice_minutes: row?.min_notice_minutes ?? null,
    updated_at: row ? row.updated_at.toISOString() : null,
  });
}

/** The listing's own settings and what applies once its realtor's fill the gaps. */
export function presentListingAvailability(propertyId: number, row: PropertyAvailabilityRecord | undefined, rules: ListingRules, minNoticeMinutes: number) {
  return resource('property_availability', propertyId, {
    property_id: propertyId,
    duration_minutes: rules.durationMinutes,
    auto_confirm: rules.autoConfirm,
    override: {
      time_zone: row?.time_zone ?? null,
      weekly_hours: row?.weekly_hours ? normalizeWeeklyHours(row.weekly_hours) : null,
      buffer_minutes: row?.buffer_minutes ?? null,
      min_notice_minutes: row?.min_notice_minutes ?? null,
    },
    effective: {
      hours_set: rules.hoursSet,
      source: rules.source,
      time_zone: rules.timeZone,
      weekly_hours: rules.weekly,
      buffer_minutes: rules.bufferMinutes,
      min_notice_minutes: minNoticeMinutes,
    },
    updated_at: row ? row.updated_at.toISOString() : null,
  });
}

export function presentException(row: AvailabilityExceptionRecord) {
  return resource('availability_exception', row.id, {
    realtor_id: row.realtor_id,
    property_id: row.property_id,
    date: row.date,
    kind: row.kind,
    start_time: row.start_time,
    end_time: row.end_time,
    note: row.note,
    created_at: row.created_at.toISOString(),
  });
}

export interface SlotsView {
  propertyId: number;
  rules: ListingRules;
  minNoticeMinutes: number;
  from: number;
  to: number;
  slots: Interval[];
}

export function presentSlots(v: SlotsView) {
  return resource('property_availability_slots', v.propertyId, {
    property_id: v.propertyId,
    hours_set: v.rules.hoursSet,
    time_zone: v.rules.timeZone,
    duration_minutes: v.rules.durationMinutes,
    auto_confirm: v.rules.autoConfirm,
    buffer_minutes: v.rules.bufferMinutes,
    min_notice_minutes: v.minNoticeMinutes,
    from: iso(v.from),
    to: iso(v.to),
    slots: v.slots.map((s) => ({ start: iso(s.start), end: iso(s.end) })),
  });
}
