import {
  checkRequest,
  describeDay,
  freeSlots,
  normalizeWeeklyHours,
  openIntervals,
  wallTimeToInstant,
  type BusyInterval,
  type DateException,
  type Schedule,
  type TimeRange,
  type Weekday,
} from '../../lib/availability';

/**
 * The availability rules as pure functions: wall-clock hours in a zone (DST included),
 * exceptions, buffers, notice, and the verdict on a requested time.
 */

const NY = 'America/New_York';
const MIN = 60_000;
const at = (iso: string) => Date.parse(iso);
const iso = (ts: number) => new Date(ts).toISOString().replace('.000Z', 'Z');

function schedule(timeZone: string, days: Partial<Record<Weekday, TimeRange[]>>, layers: DateException[][] = []): Schedule {
  return { timeZone, weekly: normalizeWeeklyHours(days), layers };
}

/** Slot starts in [from, to) with no busy times and no notice. */
function slotStarts(s: Schedule, from: string, to: string, opts: { duration?: number; busy?: BusyInterval[]; buffer?: number; earliest?: string } = {}): string[] {
  const f = at(from);
  const t = at(to);
  return freeSlots({
    open: openIntervals(s, f, t),
    busy: opts.busy ?? [],
    durationMinutes: opts.duration ?? 30,
    bufferMinutes: opts.buffer ?? 0,
    from: f,
    to: t,
    earliest: opts.earliest ? at(opts.earliest) : 0,
    latest: Number.MAX_SAFE_INTEGER,
  }).map((slot) => iso(slot.start));
}

const busy = (start: string, end: string, bufferMinutes = 0): BusyInterval => ({ start: at(start), end: at(end), bufferMinutes });

describe('availability rules', () => {
  describe('time zones and DST', () => {
    it('when weekday hours are 09:00–10:00 in New York, then across the March change the slots stay at 09:00 local and move an hour earlier in UTC', () => {
      const s = schedule(NY, { mon: [{ start: '09:00', end: '10:00' }], fri: [{ start: '09:00', end: '10:00' }] });
      // Friday 12 March is EST (UTC-5); Monday 15 March is EDT (UTC-4).
      expect(slotStarts(s, '2027-03-12T00:00:00Z', '2027-03-16T00:00:00Z')).toEqual([
        '2027-03-12T14:00:00Z', '2027-03-12T14:30:00Z',
        '2027-03-15T13:00:00Z', '2027-03-15T13:30:00Z',
      ]);
    });

    it('when the November change falls in between, then the slots move an hour later in UTC', () => {
      const s = schedule(NY, { fri: [{ start: '09:00', end: '10:00' }], mon: [{ start: '09:00', end: '10:00' }] });
      expect(slotStarts(s, '2027-11-05T00:00:00Z', '2027-11-09T00:00:00Z')).toEqual([
        '2027-11-05T13:00:00Z', '2027-11-05T13:30:00Z',
        '2027-11-08T14:00:00Z', '2027-11-08T14:30:00Z',
      ]);
    });

    it('when a window spans the spring-forward night (Sunday 2027-03-14, 01:00–04:00), then it holds two real hours: 01:00, 01:30, 03:00, 03:30 local', () => {
      const s = schedule(NY, { sun: [{ start: '01:00', end: '04:00' }] });
      expect(slotStarts(s, '2027-03-14T00:00:00Z', '2027-03-15T00:00:00Z')).toEqual([
        '2027-03-14T06:00:00Z', // 01:00 EST
        '2027-03-14T06:30:00Z', // 01:30 EST
        '2027-03-14T07:00:00Z', // 03:00 EDT: 02:00–03:00 never happens
        '2027-03-14T07:30:00Z', // 03:30 EDT
      ]);
    });

    it('when a window spans the fall-back night (Sunday 2027-11-07, 01:00–04:00), then it holds four real hours, the repeated hour twice', () => {
      const s = schedule(NY, { sun: [{ start: '01:00', end: '04:00' }] });
      const starts = slotStarts(s, '2027-11-07T00:00:00Z', '2027-11-08T00:00:00Z');
      expect(starts).toHaveLength(8);
      expect(starts[0]).toBe('2027-11-07T05:00:00Z'); // 01:00 EDT
      expect(starts[2]).toBe('2027-11-07T06:00:00Z'); // 01:00 EST, the second time
      expect(starts[7]).toBe('2027-11-07T08:30:00Z'); // 03:30 EST, ending at 04:00 EST
    });

    it('when a whole day is open, then the spring-forward day has 23 hours of slots and the fall-back day 25', () => {
      const s = schedule(NY, { sun: [{ start: '00:00', end: '24:00' }] });
      expect(slotStarts(s, '2027-03-14T00:00:00Z', '2027-03-15T12:00:00Z', { duration: 60 })).toHaveLength(23);
      expect(slotStarts(s, '2027-11-07T00:00:00Z', '2027-11-08T12:00:00Z', { duration: 60 })).toHaveLength(25);
    });

    it('when a window starts at a time the clocks skip (02:30 on 2027-03-14), then it starts when they jump (03:00 EDT)', () => {
      expect(iso(wallTimeToInstant(NY, '2027-03-14', 150))).toBe('2027-03-14T07:00:00Z');
      const s = schedule(NY, { sun: [{ start: '02:30', end: '04:00' }] });
      expect(slotStarts(s, '2027-03-14T00:00:00Z', '2027-03-15T00:00:00Z')).toEqual(['2027-03-14T07:00:00Z', '2027-03-14T07:30:00Z']);
    });

    it('when a wall time happens twice (01:30 on 2027-11-07), then it means the first (EDT)', () => {
      expect(iso(wallTimeToInstant(NY, '2027-11-07', 90))).toBe('2027-11-07T05:30:00Z');
      expect(iso(wallTimeToInstant(NY, '2027-11-07', 24 * 60))).toBe('2027-11-08T05:00:00Z');
    });

    it('when a zone east of UTC has hours, then its local date decides the weekday', () => {
      // Monday 08:00 in Tokyo (UTC+9) is Sunday 23:00 UTC.
      const s = schedule('Asia/Tokyo', { mon: [{ start: '08:00', end: '09:00' }] });
      expect(slotStarts(s, '2030-01-06T00:00:00Z', '2030-01-07T00:00:00Z', { duration: 60 })).toEqual(['2030-01-06T23:00:00Z']);
    });
  });

  describe('exceptions', () => {
    const week = { mon: [{ start: '09:00', end: '12:00' }], sat: [] };
    const monday = ['2030-01-07T00:00:00Z', '2030-01-08T00:00:00Z'] as const;

    it('when a whole-day day_off is set, then that date has no slots and the next week is untouched', () => {
      const s = schedule('UTC', week, [[{ date: '2030-01-07', kind: 'day_off', start: null, end: null }]]);
      expect(slotStarts(s, ...monday, { duration: 60 })).toEqual([]);
      expect(slotStarts(s, '2030-01-14T00:00:00Z', '2030-01-15T00:00:00Z', { duration: 60 })).toHaveLength(3);
    });

    it('when a day_off covers only 10:00–11:00, then the hours around it stay', () => {
      const s = schedule('UTC', week, [[{ date: '2030-01-07', kind: 'day_off', start: '10:00', end: '11:00' }]]);
      expect(slotStarts(s, ...monday, { duration: 60 })).toEqual(['2030-01-07T09:00:00Z', '2030-01-07T11:00:00Z']);
    });

    it('when extra_hours open a closed Saturday, then it has slots; on an open day they add to the hours', () => {
      const s = schedule('UTC', week, [[
        { date: '2030-01-12', kind: 'extra_hours', start: '10:00', end: '11:00' },
        { date: '2030-01-07', kind: 'extra_hours', start: '12:00', end: '13:00' },
      ]]);
      expect(slotStarts(s, '2030-01-12T00:00:00Z', '2030-01-13T00:00:00Z', { duration: 60 })).toEqual(['2030-01-12T10:00:00Z']);
      expect(slotStarts(s, ...monday, { duration: 60 })).toEqual(['2030-01-07T09:00:00Z', '2030-01-07T10:00:00Z', '2030-01-07T11:00:00Z', '2030-01-07T12:00:00Z']);
    });

    it("when the realtor takes a day off and the listing adds extra hours that day, then the listing's layer (applied after) reopens them", () => {
      const realtorLayer: DateException[] = [{ date: '2030-01-07', kind: 'day_off', start: null, end: null }];
      const listingLayer: DateException[] = [{ date: '2030-01-07', kind: 'extra_hours', start: '15:00', end: '16:00' }];
      expect(slotStarts(schedule('UTC', week, [realtorLayer, listingLayer]), ...monday, { duration: 60 })).toEqual(['2030-01-07T15:00:00Z']);
      // The other order: the listing's extra hours, then the realtor's day off, which wins.
      expect(slotStarts(schedule('UTC', week, [listingLayer, realtorLayer]), ...monday, { duration: 60 })).toEqual([]);
    });

    it('when an exception is dated in the listing zone, then it follows the local date, not the UTC one', () => {
      // 20:00–23:00 New York on Monday 2030-01-07 is 01:00–04:00 UTC on Tuesday.
      const s = schedule(NY, { mon: [{ start: '20:00', end: '23:00' }] }, [[{ date: '2030-01-07', kind: 'day_off', start: '21:00', end: '22:00' }]]);
      expect(slotStarts(s, '2030-01-08T00:00:00Z', '2030-01-09T00:00:00Z', { duration: 60 })).toEqual(['2030-01-08T01:00:00Z', '2030-01-08T03:00:00Z']);
    });
  });

  describe('buffers, busy times and notice', () => {
    const s = schedule('UTC', { mon: [{ start: '09:00', end: '12:00' }] });
    const monday = ['2030-01-07T00:00:00Z', '2030-01-08T00:00:00Z'] as const;

    it('when a tour holds 10:00–10:30 and the listing keeps 15 minutes, then the slots touching it or its buffer are gone on both sides', () => {
      expect(slotStarts(s, ...monday, { busy: [busy('2030-01-07T10:00:00Z', '2030-01-07T10:30:00Z')], buffer: 15 })).toEqual([
        '2030-01-07T09:00:00Z',
        // 09:30 would end at 10:00, 10:30 start at its end: both within 15 minutes.
        '2030-01-07T11:00:00Z',
        '2030-01-07T11:30:00Z',
      ]);
    });

    it('when there is no buffer, then a slot may start the moment another tour ends', () => {
      expect(slotStarts(s, ...monday, { busy: [busy('2030-01-07T10:00:00Z', '2030-01-07T10:30:00Z')] })).toEqual([
        '2030-01-07T09:00:00Z', '2030-01-07T09:30:00Z', '2030-01-07T10:30:00Z', '2030-01-07T11:00:00Z', '2030-01-07T11:30:00Z',
      ]);
    });

    it("when the neighbour was booked with a larger buffer (30) than this listing's (0), then the larger one is kept", () => {
      expect(slotStarts(s, ...monday, { busy: [busy('2030-01-07T10:00:00Z', '2030-01-07T10:30:00Z', 30)] })).toEqual([
        '2030-01-07T09:00:00Z', '2030-01-07T11:00:00Z', '2030-01-07T11:30:00Z',
      ]);
    });

    it('when the minimum notice reaches 10:15, then slots start at 10:30', () => {
      expect(slotStarts(s, ...monday, { earliest: '2030-01-07T10:15:00Z' })).toEqual(['2030-01-07T10:30:00Z', '2030-01-07T11:00:00Z', '2030-01-07T11:30:00Z']);
    });

    it('when [from, to) cuts a window, then the slots keep the grid of the whole window', () => {
      expect(slotStarts(s, '2030-01-07T09:15:00Z', '2030-01-07T10:45:00Z')).toEqual(['2030-01-07T09:30:00Z', '2030-01-07T10:00:00Z', '2030-01-07T10:30:00Z']);
    });

    it('when the length is 45 minutes, then slots of 45 minutes fit the window and no slot runs past its end', () => {
      expect(slotStarts(s, ...monday, { duration: 45 })).toEqual(['2030-01-07T09:00:00Z', '2030-01-07T09:45:00Z', '2030-01-07T10:30:00Z', '2030-01-07T11:15:00Z']);
    });
  });

  describe('the verdict on a requested time', () => {
    const s = schedule('UTC', { mon: [{ start: '09:00', end: '10:00' }, { start: '10:00', end: '11:00' }, { start: '13:00', end: '17:00' }] });
    const open = openIntervals(s, at('2030-01-06T00:00:00Z'), at('2030-01-09T00:00:00Z'));
    const verdict = (start: string, minutes: number, opts: { busy?: BusyInterval[]; buffer?: number; earliest?: string } = {}) =>
      checkRequest({ open, busy: opts.busy ?? [], start: at(start), end: at(start) + minutes * MIN, bufferMinutes: opts.buffer ?? 0, earliest: opts.earliest ? at(opts.earliest) : 0 });

    it('when a time fits inside the hours, off the slot grid, then it is allowed; touching windows count as one', () => {
      expect(verdict('2030-01-07T09:10:00Z', 30)).toBeNull();
      expect(verdict('2030-01-07T09:45:00Z', 30)).toBeNull();
    });

    it('when a time starts before the hours, runs past them or falls on a closed day, then it is outside_hours', () => {
      expect(verdict('2030-01-07T08:45:00Z', 30)).toEqual({ reason: 'outside_hours' });
      expect(verdict('2030-01-07T10:45:00Z', 30)).toEqual({ reason: 'outside_hours' });
      expect(verdict('2030-01-08T09:00:00Z', 30)).toEqual({ reason: 'outside_hours' });
    });

    it('when a time overlaps a live booking, then it is taken; when it only comes within the buffer, then buffer with the gap kept', () => {
      const b = [busy('2030-01-07T14:00:00Z', '2030-01-07T14:30:00Z', 20)];
      expect(verdict('2030-01-07T14:15:00Z', 30, { busy: b })).toEqual({ reason: 'taken' });
      expect(verdict('2030-01-07T14:40:00Z', 30, { busy: b, buffer: 10 })).toEqual({ reason: 'buffer', gapMinutes: 20 });
      expect(verdict('2030-01-07T13:20:00Z', 30, { busy: b, buffer: 10 })).toEqual({ reason: 'buffer', gapMinutes: 20 });
      expect(verdict('2030-01-07T14:50:00Z', 30, { busy: b, buffer: 10 })).toBeNull();
    });

    it('when a time is sooner than the notice, then min_notice, before any other reason', () => {
      expect(verdict('2030-01-07T08:00:00Z', 30, { earliest: '2030-01-07T12:00:00Z' })).toEqual({ reason: 'min_notice' });
      expect(verdict('2030-01-07T13:00:00Z', 30, { earliest: '2030-01-07T12:00:00Z' })).toBeNull();
    });

    it("when a refusal describes the day, then it lists that day's hours in local time", () => {
      expect(describeDay(open, 'UTC', '2030-01-07')).toBe('09:00–11:00, 13:00–17:00');
      expect(describeDay(open, 'UTC', '2030-01-08')).toBe('closed');
      const ny = schedule(NY, { sun: [{ start: '01:00', end: '04:00' }] });
      expect(describeDay(openIntervals(ny, at('2027-03-13T00:00:00Z'), at('2027-03-16T00:00:00Z')), NY, '2027-03-14')).toBe('01:00–04:00');
    });
  });

  describe('weekly hours as written', () => {
    it('when windows are given out of order, then they are sorted and every day is present', () => {
      const hours = normalizeWeeklyHours({ tue: [{ start: '13:00', end: '17:00' }, { start: '09:00', end: '12:00' }] });
      expect(Object.keys(hours)).toEqual(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
      expect(hours.tue.map((r) => r.start)).toEqual(['09:00', '13:00']);
      expect(hours.mon).toEqual([]);
    });

    it('when two windows of a day overlap, then they are joined into one', () => {
      const s = schedule('UTC', { mon: [{ start: '13:00', end: '15:00' }, { start: '09:00', end: '13:30' }] });
      expect(openIntervals(s, at('2030-01-07T00:00:00Z'), at('2030-01-08T00:00:00Z')).map((i) => [iso(i.start), iso(i.end)])).toEqual([['2030-01-07T09:00:00Z', '2030-01-07T15:00:00Z']]);
    });
  });

  describe('windows past midnight', () => {
    it("when a window ends before it starts (Friday 22:00–02:00), then it runs into Saturday and joins Saturday's own hours", () => {
      const s = schedule('UTC', { fri: [{ start: '22:00', end: '02:00' }], sat: [{ start: '01:00', end: '03:00' }] });
      expect(openIntervals(s, at('2030-01-11T00:00:00Z'), at('2030-01-13T00:00:00Z')).map((i) => [iso(i.start), iso(i.end)])).toEqual([['2030-01-11T22:00:00Z', '2030-01-12T03:00:00Z']]);
      expect(slotStarts(s, '2030-01-12T00:00:00Z', '2030-01-13T00:00:00Z', { duration: 60 })).toEqual(['2030-01-12T00:00:00Z', '2030-01-12T01:00:00Z', '2030-01-12T02:00:00Z']);
    });

    it('when a window ends when it starts (09:00–09:00), then it is 24 hours long', () => {
      const s = schedule('UTC', { mon: [{ start: '09:00', end: '09:00' }] });
      expect(openIntervals(s, at('2030-01-07T00:00:00Z'), at('2030-01-09T00:00:00Z')).map((i) => [iso(i.start), iso(i.end)])).toEqual([['2030-01-07T09:00:00Z', '2030-01-08T09:00:00Z']]);
    });

    it("when the next date is a day off, then it closes the part of the window that reaches into it", () => {
      const s = schedule('UTC', { fri: [{ start: '22:00', end: '02:00' }] }, [[{ date: '2030-01-12', kind: 'day_off', start: null, end: null }]]);
      expect(slotStarts(s, '2030-01-11T00:00:00Z', '2030-01-13T00:00:00Z', { duration: 60 })).toEqual(['2030-01-11T22:00:00Z', '2030-01-11T23:00:00Z']);
    });

    it('when extra hours run past midnight in New York on the fall-back night, then they hold the repeated hour too', () => {
      // Saturday 2027-11-06 23:00 EDT to Sunday 02:00 EST: four real hours.
      const s = schedule(NY, {}, [[{ date: '2027-11-06', kind: 'extra_hours', start: '23:00', end: '02:00' }]]);
      expect(slotStarts(s, '2027-11-06T00:00:00Z', '2027-11-08T00:00:00Z', { duration: 60 })).toEqual([
        '2027-11-07T03:00:00Z', '2027-11-07T04:00:00Z', '2027-11-07T05:00:00Z', '2027-11-07T06:00:00Z',
      ]);
    });
  });
});
