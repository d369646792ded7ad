import { DateTime, IANAZone } from 'luxon';
import { ConflictError } from './errors';

/**
 * Bookable hours as pure functions (no I/O, no clock): a realtor's weekly hours in an IANA
 * time zone, date exceptions layered over them, and the free slots and the verdict on a
 * requested time that follow, given the busy times (live bookings and tours) and buffers.
 * The bookings repository applies `checkRequest` on every insert and reschedule; the
 * buyers' availability endpoint lists `freeSlots`. All instants are epoch milliseconds.
 *
 * Wall-clock times are read in the schedule's zone on each local date, so 09:00 stays
 * 09:00 across a DST change (and its UTC instant moves). A wall time that happens twice
 * (clocks fall back) means its first occurrence; one that never happens (clocks spring
 * forward) means the moment the clocks jump. A window is the instants between the two, so
 * 01:00–04:00 is two real hours on a spring-forward night and four on a fall-back one.
 *
 * Every pair of times is a window: one that ends at or before its start runs past midnight
 * and ends at that time the next day (22:00–02:00; 09:00–09:00 is a whole day), and windows
 * that overlap, on one day or across midnight, are joined.
 */

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/**
 * `HH:MM`, 24-hour; an end may be `24:00` (midnight at the end of the day). An end at or
 * before the start is on the next day.
 */
export interface TimeRange {
  start: string;
  end: string;
}

/** Every weekday's windows (none: closed), sorted by start; overlapping ones are joined when applied. */
export type WeeklyHours = Record<Weekday, TimeRange[]>;

/**
 * `day_off` closes start–end of the date, `extra_hours` opens it on top of the week's hours;
 * with no times, the whole date.
 */
export const EXCEPTION_KINDS = ['day_off', 'extra_hours'] as const;
export type ExceptionKind = (typeof EXCEPTION_KINDS)[number];

export interface DateException {
  /** The local date, `YYYY-MM-DD`, in the schedule's zone. */
  date: string;
  kind: ExceptionKind;
  start: string | null;
  end: string | null;
}

export interface Schedule {
  timeZone: string;
  weekly: WeeklyHours;
  /**
   * Exceptions in the order they apply (the realtor's, then the listing's): each layer adds
   * its extra hours and then takes out its days off, so a later layer overrides an earlier.
   */
  layers: DateException[][];
}

export interface Interval {
  start: number;
  end: number;
}

/** A live booking or tour: no other may start within its buffer after it, or end within one before it. */
export interface BusyInterval extends Interval {
  bufferMinutes: number;
}

/** Why a requested time is refused, most basic first. */
export const AVAILABILITY_REFUSALS = ['min_notice', 'outside_hours', 'taken', 'buffer'] as const;
export type AvailabilityRefusal = (typeof AVAILABILITY_REFUSALS)[number];

/** A time the availability rules refuse: a 409 naming scheduled_at, with the reason in words. */
export class AvailabilityConflictError extends ConflictError {
  constructor(
    readonly reason: AvailabilityRefusal,
    message: string,
  ) {
    super(message, 'scheduled_at');
    this.name = 'AvailabilityConflictError';
  }
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const TIME = /^(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$/;

/** Minutes since midnight of `HH:MM` (`24:00` is 1440); NaN when malformed. */
export function minutesOf(time: string): number {
  const m = TIME.exec(time);
  if (!m) return Number.NaN;
  return m[3] ? 24 * 60 : Number(m[1]) * 60 + Number(m[2]);
}

export const isTime = (time: string): boolean => !Number.isNaN(minutesOf(time));

/** An IANA zone name the runtime knows (`America/New_York`, `UTC`); never a bare offset. */
export function isValidTimeZone(zone: string): boolean {
  return IANAZone.isValidZone(zone);
}

/** A real calendar date written `YYYY-MM-DD`. */
export function isCalendarDate(date: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(date) && DateTime.fromISO(date, { zone: 'UTC' }).isValid;
}

/** All seven days, each sorted by start; a day not given is closed. */
export function normalizeWeeklyHours(hours: Partial<Record<Weekday, TimeRange[]>>): WeeklyHours {
  const out = {} as WeeklyHours;
  for (const day of WEEKDAYS) {
    out[day] = [...(hours[day] ?? [])].map((r) => ({ start: r.start, end: r.end })).sort((a, b) => minutesOf(a.start) - minutesOf(b.start));
  }
  return out;
}

// Zone arithmetic -----------------------------------------------------------------------------

function zoneOf(timeZone: string): IANAZone {
  const zone = IANAZone.create(timeZone);
  if (!zone.isValid) throw new Error(`Unknown time zone ${timeZone}`);
  return zone;
}

/** The zone's offset from UTC at instant `ts`, in milliseconds. */
const offsetAt = (zone: IANAZone, ts: number) => zone.offset(ts) * MINUTE;

/**
 * The instant the wall clock of `zone` shows `minutes` after midnight of local `date`
 * (1440: the next midnight). Of two such instants, the first; of none (a spring-forward
 * gap), the instant the clocks jump, which is the first whose wall time is later.
 */
export function wallTimeToInstant(timeZone: string, date: string, minutes: number): number {
  const zone = zoneOf(timeZone);
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  // The wall time as if it were UTC; the real instant is this minus the offset then in force.
  const naive = Date.UTC(y, m - 1, d) + minutes * MINUTE;
  // Transitions are months apart, so the offsets a day either side are the only candidates.
  const offsets = [...new Set([offsetAt(zone, naive - DAY), offsetAt(zone, naive + DAY)])];
  const valid = offsets.map((o) => naive - o).filter((t) => offsetAt(zone, t) === naive - t);
  if (valid.length) return Math.min(...valid);
  // In the gap: the jump lies between the two readings; find it to the minute.
  let lo = naive - Math.max(...offsets);
  let hi = naive - Math.min(...offsets);
  const after = offsetAt(zone, hi);
  while (hi - lo > MINUTE) {
    const mid = lo + Math.floor((hi - lo) / 2 / MINUTE) * MINUTE;
    if (offsetAt(zone, mid) === after) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The local date (`YYYY-MM-DD`) of instant `ts` in `timeZone`. */
export function localDate(ts: number, timeZone: string): string {
  return DateTime.fromMillis(ts, { zone: timeZone }).toISODate()!;
}

const weekdayOf = (date: string): Weekday => WEEKDAYS[DateTime.fromISO(date, { zone: 'UTC' }).weekday - 1]!;
const nextDate = (date: string, days = 1): string => DateTime.fromISO(date, { zone: 'UTC' }).plus({ days }).toISODate()!;

/** Every local date from the one before `from`'s to the one after `to`'s: windows that reach in from either side. */
export function localDatesAround(from: number, to: number, timeZone: string): string[] {
  const dates: string[] = [];
  const last = nextDate(localDate(to, timeZone));
  for (let date = nextDate(localDate(from, timeZone), -1); date <= last; date = nextDate(date)) dates.push(date);
  return dates;
}

// Interval arithmetic -------------------------------------------------------------------------

/** Sorted, with overlapping and touching intervals joined. */
export function mergeIntervals(intervals: Interval[]): Interval[] {
  const sorted = intervals.filter((i) => i.end > i.start).sort((a, b) => a.start - b.start);
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i.start <= last.end) last.end = Math.max(last.end, i.end);
    else out.push({ start: i.start, end: i.end });
  }
  return out;
}

function subtract(intervals: Interval[], cut: Interval): Interval[] {
  return intervals.flatMap((i) => {
    if (cut.end <= i.start || cut.start >= i.end) return [i];
    return [
      { start: i.start, end: Math.min(i.end, cut.start) },
      { start: Math.max(i.start, cut.end), end: i.end },
    ].filter((p) => p.end > p.start);
  });
}

// Hours ---------------------------------------------------------------------------------------

/** The instants of a window on local `date`: the whole date without times; into the next date when it ends at or before its start. */
function dayWindow(timeZone: string, date: string, range: { start: string | null; end: string | null }): Interval {
  if (range.start === null || range.end === null) {
    return { start: wallTimeToInstant(timeZone, date, 0), end: wallTimeToInstant(timeZone, date, 24 * 60) };
  }
  const start = minutesOf(range.start);
  const end = minutesOf(range.end);
  return { start: wallTimeToInstant(timeZone, date, start), end: wallTimeToInstant(timeZone, end > start ? date : nextDate(date), end) };
}

/**
 * The open hours of `schedule` that overlap [from, to), whole (not cut at the edges, so
 * slots keep their grid): the week's windows of each local date, then, layer by layer, the
 * layer's extra hours added and its days off taken out. Exceptions are spans of time: a day
 * off closes its hours whichever date's window reaches into them (one running past midnight).
 */
export function openIntervals(schedule: Schedule, from: number, to: number): Interval[] {
  const { timeZone } = schedule;
  const dates = new Set(localDatesAround(from, to, timeZone));
  const windows = (kind: ExceptionKind, layer: DateException[]) => layer.filter((e) => e.kind === kind && dates.has(e.date)).map((e) => dayWindow(timeZone, e.date, e));
  let open = mergeIntervals([...dates].flatMap((date) => schedule.weekly[weekdayOf(date)].map((r) => dayWindow(timeZone, date, r))));
  for (const layer of schedule.layers) {
    open = mergeIntervals([...open, ...windows('extra_hours', layer)]);
    for (const off of windows('day_off', layer)) open = subtract(open, off);
  }
  return open.filter((i) => i.end > from && i.start < to);
}

/** A day's open hours in local wall time (`09:00–12:00, 13:00–17:00`), or `closed`. */
export function describeDay(open: Interval[], timeZone: string, date: string): string {
  const dayStart = wallTimeToInstant(timeZone, date, 0);
  const dayEnd = wallTimeToInstant(timeZone, date, 24 * 60);
  const local = (ts: number) => DateTime.fromMillis(ts, { zone: timeZone }).toFormat('HH:mm');
  const parts = open
    .filter((i) => i.end > dayStart && i.start < dayEnd)
    .map((i) => `${local(Math.max(i.start, dayStart))}–${i.end >= dayEnd ? '24:00' : local(i.end)}`);
  return parts.length ? parts.join(', ') : 'closed';
}

// Slots and verdicts --------------------------------------------------------------------------

/** Whether [start, end) with `bufferMinutes` of its own keeps clear of `busy` and its buffer. */
function clashes(start: number, end: number, bufferMinutes: number, busy: BusyInterval, withBuffer: boolean): boolean {
  const gap = withBuffer ? Math.max(bufferMinutes, busy.bufferMinutes) * MINUTE : 0;
  return start < busy.end + gap && busy.start < end + gap;
}

export interface SlotQuery {
  open: Interval[];
  busy: BusyInterval[];
  durationMinutes: number;
  /** The listing's buffer: the gap kept on both sides is the larger of it and the neighbour's. */
  bufferMinutes: number;
  /** Slots start in [from, to). */
  from: number;
  to: number;
  /** No slot starts before this (now plus the minimum notice) or after `latest`. */
  earliest: number;
  latest: number;
}

/**
 * The free slots: every `durationMinutes` from the start of each open window while the slot
 * fits in it, minus those that overlap a busy time or come within a buffer of one.
 */
export function freeSlots(q: SlotQuery): Interval[] {
  const length = q.durationMinutes * MINUTE;
  const slots: Interval[] = [];
  for (const window of q.open) {
    for (let start = window.start; start + length <= window.end; start += length) {
      const end = start + length;
      if (start < q.from || start >= q.to || start < q.earliest || start > q.latest) continue;
      if (q.busy.some((b) => clashes(start, end, q.bufferMinutes, b, true))) continue;
      slots.push({ start, end });
    }
  }
  return slots;
}

export interface RequestCheck {
  open: Interval[];
  busy: BusyInterval[];
  start: number;
  end: number;
  bufferMinutes: number;
  earliest: number;
}

/** Why a time cannot be booked; for `buffer`, the gap that had to be kept. */
export interface Refusal {
  reason: AvailabilityRefusal;
  gapMinutes?: number;
}

/**
 * Why [start, end) cannot be booked, or null when it can: it must start after the minimum
 * notice, lie inside one open window (any start, not only a listed slot), overlap no busy
 * time and keep the buffer on both sides.
 */
export function checkRequest(c: RequestCheck): Refusal | null {
  if (c.start < c.earliest) return { reason: 'min_notice' };
  if (!c.open.some((w) => w.start <= c.start && c.end <= w.end)) return { reason: 'outside_hours' };
  if (c.busy.some((b) => clashes(c.start, c.end, c.bufferMinutes, b, false))) return { reason: 'taken' };
  const near = c.busy.find((b) => clashes(c.start, c.end, c.bufferMinutes, b, true));
  if (near) return { reason: 'buffer', gapMinutes: Math.max(c.bufferMinutes, near.bufferMinutes) };
  return null;
}
