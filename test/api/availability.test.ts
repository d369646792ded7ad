import type request from 'supertest';
import { DateTime } from 'luxon';
import { WEEKDAYS } from '../../lib/availability';
import type { TestDatabase } from '../support/db';
import { count } from '../support/db';
import { confirmBooking, createBuyers, createProperty, createRealtor, requestBooking, type SignedIn } from '../support/factories';
import { startTestSystem, type TestSystem } from '../support/system';

/**
 * Availability over HTTP against real PostgreSQL and a worker running the BookingWorkflow:
 * realtors' hours and exceptions, listings' overrides, buyers' free slots, and bookings
 * and reschedules refused with 409 outside the hours, inside a buffer or too soon.
 */

const DAY = 86_400_000;
const dateIn = (days: number) => new Date(Date.now() + days * DAY).toISOString().slice(0, 10);
/** The test's working day (UTC hours), five days ahead: clear of notice and expiry timers. */
const D = dateIn(5);
const D1 = new Date(Date.parse(D) + DAY).toISOString().slice(0, 10);
const on = (time: string, date = D) => `${date}T${time}:00.000Z`;
const NY = 'America/New_York';

/**
 * The next two Sundays on which `zone` changes its clocks, at least three days ahead (so
 * their Saturdays are clear of any notice), and whether each springs forward.
 */
function nextClockChanges(zone: string): Array<{ sunday: DateTime; spring: boolean }> {
  const changes: Array<{ sunday: DateTime; spring: boolean }> = [];
  let day = DateTime.now().setZone(zone).startOf('day').plus({ days: 3, hours: 12 });
  while (changes.length < 2) {
    const next = day.plus({ days: 1 });
    if (next.offset !== day.offset) changes.push({ sunday: next.startOf('day'), spring: next.offset > day.offset });
    day = next;
  }
  return changes;
}

const NINE_TO_FIVE = Object.fromEntries(WEEKDAYS.map((d) => [d, [{ start: '09:00', end: '17:00' }]]));

describe('availability API', () => {
  let sys: TestSystem;
  let db: TestDatabase;
  let realtor: SignedIn;
  let otherRealtor: SignedIn;
  let buyers: SignedIn[];
  let listing: number;
  let sibling: number;
  let otherListing: number;
  const http = () => sys.http();

  const slotsOf = async (property: number, from = on('00:00'), to = on('00:00', D1)) => {
    const res = await http().get(`/api/v1/buyers/properties/${property}/availability`).query({ from, to }).set(buyers[0]!.auth);
    expect(res.status).toBe(200);
    return res.body.data.attributes as { hours_set: boolean; slots: Array<{ start: string; end: string }>; duration_minutes: number; min_notice_minutes: number; buffer_minutes: number; time_zone: string | null };
  };
  const starts = async (property: number, from?: string, to?: string) => (await slotsOf(property, from, to)).slots.map((s) => s.start);
  const book = (who: SignedIn, property: number, scheduledAt: string, minutes = 30) =>
    http().post('/api/v1/buyers/bookings').set(who.auth).send({ property_id: property, scheduled_at: scheduledAt, duration_minutes: minutes });
  // The main realtor's: other tests' realtors keep their own.
  const audits = (action: string) => count(db.knex('audit_logs').where({ action, user_id: realtor.id }));

  function expectConflict(res: request.Response, text: RegExp): void {
    expect(res.status).toBe(409);
    expect(res.body.success).toBe(false);
    expect(res.body.errors[0]).toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(text) });
  }

  function expect400(res: request.Response, field: string): void {
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { code: string; field: string }) => [e.code, e.field])).toContainEqual(['VALIDATION_ERROR', field]);
  }

  beforeAll(async () => {
    // The clock changes the DST test books on can be up to a year and three days ahead.
    sys = await startTestSystem({ worker: true, config: { BOOKING_MAX_AHEAD_DAYS: '400' } });
    ({ db } = sys);
    [realtor, otherRealtor] = await Promise.all([createRealtor(sys.t, 'Rita Realtor'), createRealtor(sys.t, 'Rob Realtor')]);
    buyers = await createBuyers(sys.t, 6);
    [listing, sibling, otherListing] = await Promise.all([
      createProperty(sys.t, realtor, { address: '1 Hour Street' }),
      createProperty(sys.t, realtor, { address: '2 Hour Street' }),
      createProperty(sys.t, otherRealtor, { address: '3 Free Street' }),
    ]);
  });

  afterAll(() => sys?.stop());

  it('when no hours are set, then the listing reports hours_set false with no slots and any time may still be requested', async () => {
    const free = await slotsOf(otherListing);
    expect(free).toMatchObject({ hours_set: false, time_zone: null, slots: [], duration_minutes: 30, min_notice_minutes: 60 });
    const me = await http().get('/api/v1/realtors/availability').set(otherRealtor.auth);
    expect(me.status).toBe(200);
    expect(me.body.data).toMatchObject({ id: String(otherRealtor.id), type: 'realtor_availability', attributes: { hours_set: false, weekly_hours: null } });
    // 03:00 UTC: outside any hours anyone would set, and still accepted.
    expect((await book(buyers[5]!, otherListing, on('03:00'))).status).toBe(201);
  });

  it('when a realtor sets weekly hours, then they read back normalised, an audit row records them, and buyers see the slots', async () => {
    const res = await http()
      .put('/api/v1/realtors/availability')
      .set(realtor.auth)
      .send({ time_zone: 'UTC', weekly_hours: NINE_TO_FIVE, buffer_minutes: 15 });
    expect(res.status).toBe(200);
    expect(res.body.data.attributes).toMatchObject({ hours_set: true, time_zone: 'UTC', buffer_minutes: 15, min_notice_minutes: null });
    expect(res.body.data.attributes.weekly_hours.mon).toEqual([{ start: '09:00', end: '17:00' }]);
    expect(await audits('availability_hours_set')).toBe(1);

    const got = await http().get('/api/v1/realtors/availability').set(realtor.auth);
    expect(got.body.data.attributes).toEqual(res.body.data.attributes);

    const day = await slotsOf(listing);
    expect(day).toMatchObject({ hours_set: true, time_zone: 'UTC', duration_minutes: 30, buffer_minutes: 15, min_notice_minutes: 60 });
    expect(day.slots).toHaveLength(16);
    expect(day.slots[0]).toEqual({ start: on('09:00'), end: on('09:30') });
    expect(day.slots[15]).toEqual({ start: on('16:30'), end: on('17:00') });
  });

  it('when hours or slot queries are malformed, then 400 names the field and nothing is stored', async () => {
    const put = (body: object) => http().put('/api/v1/realtors/availability').set(otherRealtor.auth).send(body);
    expect400(await put({ time_zone: 'Mars/Olympus_Mons', weekly_hours: {} }), 'time_zone');
    expect400(await put({ time_zone: '+05:00', weekly_hours: {} }), 'time_zone');
    expect400(await put({ time_zone: 'UTC', weekly_hours: { mon: [{ start: '9:00', end: '17:00' }] } }), 'weekly_hours.mon.0.start');
    expect400(await put({ time_zone: 'UTC', weekly_hours: { mon: [{ start: '24:00', end: '09:00' }] } }), 'weekly_hours.mon.0.start');
    expect400(await put({ time_zone: 'UTC', weekly_hours: { mon: [{ start: '09:00', end: '24:30' }] } }), 'weekly_hours.mon.0.end');
    expect400(await put({ time_zone: 'UTC', weekly_hours: { tue: Array.from({ length: 7 }, (_, i) => ({ start: `0${i}:00`, end: `0${i}:30` })) } }), 'weekly_hours.tue');
    expect400(await put({ time_zone: 'UTC', weekly_hours: { funday: [] } }), 'weekly_hours.funday');
    expect400(await put({ time_zone: 'UTC', weekly_hours: {}, buffer_minutes: 500 }), 'buffer_minutes');
    expect400(await put({ time_zone: 'UTC', weekly_hours: {}, min_notice_minutes: '60' }), 'min_notice_minutes');
    expect400(await put({ weekly_hours: {} }), 'time_zone');
    expect((await http().get('/api/v1/realtors/availability').set(otherRealtor.auth)).body.data.attributes.hours_set).toBe(false);

    const listingPut = await http().put(`/api/v1/realtors/properties/${otherListing}/availability`).set(otherRealtor.auth).send({ time_zone: 'Etc/Nowhere', weekly_hours: { mon: [] } });
    expect400(listingPut, 'time_zone');
    expect400(await http().put(`/api/v1/realtors/properties/${otherListing}/availability`).set(otherRealtor.auth).send({ duration_minutes: 10 }), 'duration_minutes');

    const exception = (body: object) => http().post('/api/v1/realtors/availability/exceptions').set(otherRealtor.auth).send(body);
    expect400(await exception({ date: '2030-02-30', kind: 'day_off' }), 'date');
    expect400(await exception({ date: '1969-12-31', kind: 'day_off' }), 'date');
    expect400(await exception({ date: '2030-02-03', kind: 'extra_hours', start_time: '24:00' }), 'start_time');
    expect400(await exception({ date: '2030-02-03', kind: 'day_off', end_time: '10:0' }), 'end_time');
    expect400(await exception({ date: '2030-02-03', kind: 'holiday' }), 'kind');

    const slots = (query: Record<string, string>) => http().get(`/api/v1/buyers/properties/${listing}/availability`).query(query).set(buyers[0]!.auth);
    expect400(await slots({ from: 'tomorrow' }), 'from');
    expect400(await slots({ from: on('12:00'), to: on('09:00') }), 'from');
    expect400(await slots({ tz: 'UTC' }), 'tz');

    expect(await count(db.knex('availability_exceptions'))).toBe(0);
    expect(await count(db.knex('property_availability'))).toBe(0);
  });

  it('when the slot window is past or longer than 31 days, then it holds no slots or is cut to 31 days, never a 400', async () => {
    const past = await http().get(`/api/v1/buyers/properties/${listing}/availability`).query({ to: '2020-01-01T00:00:00Z' }).set(buyers[0]!.auth);
    expect(past.status).toBe(200);
    expect(past.body.data.attributes.slots).toEqual([]);
    const long = await http().get(`/api/v1/buyers/properties/${listing}/availability`).query({ from: on('00:00'), to: on('00:00', dateIn(45)) }).set(buyers[0]!.auth);
    expect(long.status).toBe(200);
    expect(Date.parse(long.body.data.attributes.to) - Date.parse(long.body.data.attributes.from)).toBe(31 * DAY);
    expect(long.body.data.attributes.slots.length).toBeGreaterThan(16 * 30);
  });

  it("when hours run past midnight, exceptions give one time or none, and a listing's hours have no zone, then each means what it says", async () => {
    const owner = await createRealtor(sys.t, 'Nina Night');
    const [late, zoneless] = await Promise.all([createProperty(sys.t, owner), createProperty(sys.t, owner)]);
    // The realtor: 22:00–02:00 every day, in New York.
    const hours = await http()
      .put('/api/v1/realtors/availability')
      .set(owner.auth)
      .send({ time_zone: NY, weekly_hours: Object.fromEntries(WEEKDAYS.map((d) => [d, [{ start: '22:00', end: '02:00' }]])) });
    expect(hours.status).toBe(200);
    const day = DateTime.fromISO(D, { zone: NY });
    const local = (date: DateTime, time: string) => DateTime.fromISO(`${date.toISODate()}T${time}`, { zone: NY }).toUTC().toISO({ suppressMilliseconds: true })!.replace('Z', '.000Z');
    const from = local(day, '12:00');
    const to = local(day.plus({ days: 1 }), '12:00');
    expect(await starts(late, from, to)).toEqual(['22:00', '22:30', '23:00', '23:30', '00:00', '00:30', '01:00', '01:30'].map((t, i) => local(i < 4 ? day : day.plus({ days: 1 }), t)));

    // A day off from 23:00 (no end: to the end of the date) closes 23:00–24:00 only.
    const off = await http().post('/api/v1/realtors/availability/exceptions').set(owner.auth).send({ date: day.toISODate(), kind: 'day_off', start_time: '23:00' });
    expect(off.body.data.attributes).toMatchObject({ start_time: '23:00', end_time: '24:00' });
    expect(await starts(late, from, to)).toEqual(['22:00', '22:30', '00:00', '00:30', '01:00', '01:30'].map((t, i) => local(i < 2 ? day : day.plus({ days: 1 }), t)));

    // Extra hours with no times open the listing's whole date.
    const extra = await http().post(`/api/v1/realtors/properties/${late}/availability/exceptions`).set(owner.auth).send({ date: day.plus({ days: 2 }).toISODate(), kind: 'extra_hours' });
    expect(extra.body.data.attributes).toMatchObject({ start_time: null, end_time: null });
    const whole = await slotsOf(late, local(day.plus({ days: 2 }), '00:00'), local(day.plus({ days: 3 }), '00:00'));
    expect(whole.slots).toHaveLength(48);

    // The other listing's own hours without a zone are read in the realtor's (New York).
    const own = await http().put(`/api/v1/realtors/properties/${zoneless}/availability`).set(owner.auth).send({ weekly_hours: Object.fromEntries(WEEKDAYS.map((d) => [d, [{ start: '09:00', end: '10:00' }]])) });
    expect(own.status).toBe(200);
    expect(own.body.data.attributes.effective).toMatchObject({ source: 'listing', time_zone: NY });
    expect(await starts(zoneless, local(day, '00:00'), local(day.plus({ days: 1 }), '00:00'))).toEqual([local(day, '09:00'), local(day, '09:30')]);
  });

  it('when a buyer books inside the hours, then its slot, its neighbours within the buffer and the same slots of the realtor\'s other listing are gone', async () => {
    expect((await book(buyers[0]!, listing, on('10:00'))).status).toBe(201);
    const left = await starts(listing);
    expect(left).toContain(on('09:00'));
    expect(left).not.toContain(on('09:30')); // would end at 10:00: inside the 15-minute buffer
    expect(left).not.toContain(on('10:00'));
    expect(left).not.toContain(on('10:30')); // would start as it ends
    expect(left).toContain(on('11:00'));
    // The realtor attends every listing's tours: the sibling listing loses the same times.
    expect(await starts(sibling)).toEqual(left);
  });

  it('when a booking falls outside the hours, then 409 says what the hours are that day, and nothing is stored', async () => {
    const before = await count(db.knex('bookings'));
    const early = await book(buyers[1]!, listing, on('08:30'));
    expectConflict(early, /outside this listing's tour hours: on \d{4}-\d\d-\d\d they are 09:00–17:00 \(UTC time\)/);
    expect(early.body.errors[0].field).toBe('scheduled_at');
    // Starts inside, runs past 17:00.
    expectConflict(await book(buyers[1]!, listing, on('16:45')), /outside this listing's tour hours/);
    expect(await count(db.knex('bookings'))).toBe(before);
  });

  it('when a booking overlaps another buyer\'s request, then 409 taken; within the buffer, then 409 buffer; clear of it (off the slot grid), then 201', async () => {
    expectConflict(await book(buyers[1]!, listing, on('10:15')), /taken/);
    expectConflict(await book(buyers[1]!, sibling, on('10:35')), /too close to another tour: the realtor keeps 15 minutes/);
    expect((await book(buyers[1]!, listing, on('10:45'))).status).toBe(201);
  });

  it('when two buyers race for the same free slot, then one gets it and the other 409', async () => {
    const [a, b] = await Promise.all([book(buyers[2]!, listing, on('13:00')), book(buyers[3]!, listing, on('13:00'))]);
    expect([a.status, b.status].sort()).toEqual([201, 409]);
    // The loser waited for the winner's check and write, and was told why.
    expectConflict(a.status === 409 ? a : b, /taken/);
    expect(await count(db.knex('bookings').where({ property_id: listing, scheduled_at: new Date(on('13:00')) }))).toBe(1);
  });

  it('when the realtor confirms a booking, then its tour keeps its time and buffer busy', async () => {
    const booked = await db.knex('bookings').where({ buyer_id: buyers[0]!.id, scheduled_at: new Date(on('10:00')) }).first();
    const { tourId } = await confirmBooking(sys.t, realtor, booked.id);
    expect(tourId).toBeGreaterThan(0);
    const left = await starts(listing);
    expect(left).toContain(on('09:00'));
    expect(left).not.toContain(on('09:30'));
    expect(left).not.toContain(on('10:00'));
  });

  it('when the database is written around the API, then the exclusion constraint still refuses two live bookings within the buffer', async () => {
    await requestBooking(sys.t, buyers[4]!, listing, { scheduledAt: on('15:00') });
    const row = { buyer_id: buyers[5]!.id, property_id: sibling, realtor_id: realtor.id, duration_minutes: 30, status: 'pending', buffer_minutes: 15 };
    await expect(db.knex('bookings').insert({ ...row, scheduled_at: new Date(on('15:40')) })).rejects.toMatchObject({ code: '23P01', constraint: 'bookings_realtor_buffer_no_overlap' });
    // A booking made where no hours apply (no buffer) stays outside the constraint, as before.
    const [free] = await db.knex('bookings').insert({ ...row, buffer_minutes: null, scheduled_at: new Date(on('15:40')) }).returning('id');
    await db.knex('bookings').where({ id: free.id }).update({ status: 'cancelled' });
  });

  it('when a listing needs more notice than the service, then its slots start later and an earlier request is 409', async () => {
    const res = await http()
      .put(`/api/v1/realtors/properties/${sibling}/availability`)
      .set(realtor.auth)
      .send({ min_notice_minutes: 10 * 24 * 60 });
    expect(res.status).toBe(200);
    expect(res.body.data.attributes).toMatchObject({
      property_id: sibling,
      duration_minutes: 30,
      override: { time_zone: null, weekly_hours: null, buffer_minutes: null, min_notice_minutes: 14400 },
      effective: { hours_set: true, source: 'realtor', time_zone: 'UTC', buffer_minutes: 15, min_notice_minutes: 14400 },
    });
    expect(await audits('listing_availability_set')).toBe(1);
    expect(await slotsOf(sibling)).toMatchObject({ min_notice_minutes: 14400, slots: [] });
    expectConflict(await book(buyers[2]!, sibling, on('16:00')), /at least 14400 minutes ahead/);

    // A notice under the service-wide one leaves the service's in force.
    await http().put(`/api/v1/realtors/properties/${sibling}/availability`).set(realtor.auth).send({ min_notice_minutes: 0 });
    expect((await slotsOf(sibling)).min_notice_minutes).toBe(60);
  });

  it("when a listing has its own hours, zone and tour length, then its slots follow them across the DST change and the realtor's other listing does not", async () => {
    const own = await createProperty(sys.t, realtor, { address: '4 Zone Street' });
    const res = await http()
      .put(`/api/v1/realtors/properties/${own}/availability`)
      .set(realtor.auth)
      .send({ time_zone: 'America/New_York', weekly_hours: { sat: [{ start: '09:00', end: '10:30' }], sun: [{ start: '09:00', end: '10:30' }] }, duration_minutes: 45, buffer_minutes: 0 });
    expect(res.status).toBe(200);
    expect(res.body.data.attributes.effective).toMatchObject({ source: 'listing', time_zone: 'America/New_York', buffer_minutes: 0 });
    // The next two US clock changes (a spring-forward and a fall-back Sunday, in some order):
    // 09:00 is 14:00Z on EST (UTC-5) and 13:00Z on EDT (UTC-4).
    const [first, second] = nextClockChanges(NY);
    for (const change of [first!, second!]) {
      const [before, after] = change.spring ? ['14', '13'] : ['13', '14'];
      const sat = change.sunday.minus({ days: 1 }).toISODate()!;
      const sun = change.sunday.toISODate()!;
      expect((await slotsOf(own, on('00:00', sat), on('00:00', change.sunday.plus({ days: 1 }).toISODate()!))).slots).toEqual([
        { start: on(`${before}:00`, sat), end: on(`${before}:45`, sat) },
        { start: on(`${before}:45`, sat), end: on(`${Number(before) + 1}:30`, sat) },
        { start: on(`${after}:00`, sun), end: on(`${after}:45`, sun) },
        { start: on(`${after}:45`, sun), end: on(`${Number(after) + 1}:30`, sun) },
      ]);
    }
    const spring = first!.spring ? first! : second!;
    const sunday = spring.sunday.toISODate()!;
    // 14:00Z on the spring Sunday is 10:00 EDT: the 45 minutes would run past 10:30.
    expectConflict(await book(buyers[3]!, own, on('14:00', sunday), 45), new RegExp(`on ${sunday} they are 09:00–10:30 \\(America/New_York time\\)`));
    expect((await book(buyers[3]!, own, on('13:00', sunday), 45)).status).toBe(201);
    // The realtor's own (UTC) hours still apply to the sibling listing that Sunday, less the
    // tour just booked and the sibling's 15-minute buffer around it: the realtor is one person.
    const siblingSunday = await starts(sibling, on('00:00', sunday), on('00:00', spring.sunday.plus({ days: 1 }).toISODate()!));
    expect(siblingSunday).toHaveLength(13);
    expect(siblingSunday).not.toContain(on('12:30', sunday));
    expect(siblingSunday).toContain(on('14:00', sunday));
  });

  it('when the realtor takes part of a day off and a listing adds extra hours, then slots and bookings follow, and removing the day off restores them', async () => {
    const off = await http()
      .post('/api/v1/realtors/availability/exceptions')
      .set(realtor.auth)
      .send({ date: D, kind: 'day_off', start_time: '16:00', end_time: '17:00', note: 'Dentist' });
    expect(off.status).toBe(201);
    expect(off.body.data).toMatchObject({ type: 'availability_exception', attributes: { realtor_id: realtor.id, property_id: null, date: D, kind: 'day_off', start_time: '16:00', end_time: '17:00', note: 'Dentist' } });
    const extra = await http()
      .post(`/api/v1/realtors/properties/${listing}/availability/exceptions`)
      .set(realtor.auth)
      .send({ date: D, kind: 'extra_hours', start_time: '18:00', end_time: '19:00' });
    expect(extra.status).toBe(201);
    expect(extra.body.data.attributes).toMatchObject({ realtor_id: null, property_id: listing });
    expect(await audits('availability_exception_added')).toBe(2);

    const left = await starts(listing);
    expect(left).not.toContain(on('16:00'));
    expect(left).toEqual(expect.arrayContaining([on('18:00'), on('18:30')]));
    expect(await starts(sibling)).not.toContain(on('18:00'));
    expectConflict(await book(buyers[4]!, listing, on('16:15')), /they are 09:00–16:00, 18:00–19:00/);
    expect((await book(buyers[4]!, listing, on('18:00'))).status).toBe(201);

    const list = await http().get('/api/v1/realtors/availability/exceptions').query({ from: D, to: D }).set(realtor.auth);
    expect(list.status).toBe(200);
    expect(list.body.data.map((e: { id: string }) => e.id)).toEqual([off.body.data.id]);
    expect(list.body.meta).toMatchObject({ total_count: 1, current_page: 1 });
    expect((await http().get('/api/v1/realtors/availability/exceptions').query({ to: '2020-01-01' }).set(realtor.auth)).body.data).toEqual([]);
    const listed = await http().get(`/api/v1/realtors/properties/${listing}/availability/exceptions`).set(realtor.auth);
    expect(listed.body.data.map((e: { id: string }) => e.id)).toEqual([extra.body.data.id]);

    // Hours to the end of a day are written 24:00 and read back so.
    const late = await http()
      .post('/api/v1/realtors/availability/exceptions')
      .set(realtor.auth)
      .send({ date: dateIn(25), kind: 'extra_hours', start_time: '22:00', end_time: '24:00' });
    expect(late.body.data.attributes).toMatchObject({ start_time: '22:00', end_time: '24:00' });
    expect(await starts(listing, on('00:00', dateIn(25)), on('00:00', dateIn(26)))).toContain(on('23:30', dateIn(25)));

    expect((await http().delete(`/api/v1/realtors/availability/exceptions/${off.body.data.id}`).set(realtor.auth)).status).toBe(204);
    expect(await audits('availability_exception_removed')).toBe(1);
    expect(await starts(listing)).toContain(on('16:00'));
  });

  it('when a booking is rescheduled outside the hours or into a buffer, then 409 with the reason and it stays; inside them, then it moves and frees its old slot', async () => {
    const { id } = await requestBooking(sys.t, buyers[5]!, listing, { scheduledAt: on('11:30') });
    const move = (who: SignedIn, area: 'buyers' | 'realtors', scheduledAt: string) => http().put(`/api/v1/${area}/bookings/${id}`).set(who.auth).send({ scheduled_at: scheduledAt });

    expectConflict(await move(buyers[5]!, 'buyers', on('07:00')), /outside this listing's tour hours/);
    expectConflict(await move(realtor, 'realtors', on('20:00')), /outside this listing's tour hours/);
    // 10:45–11:15 is booked: 11:20 is inside its 15-minute buffer.
    expectConflict(await move(buyers[5]!, 'buyers', on('11:20')), /too close to another tour/);
    expect((await db.knex('bookings').where({ id }).first()).scheduled_at.toISOString()).toBe(on('11:30'));

    const moved = await move(buyers[5]!, 'buyers', on('14:00'));
    expect(moved.status).toBe(200);
    expect(moved.body.data.attributes.scheduled_at).toBe(on('14:00'));
    const left = await starts(listing);
    expect(left).toContain(on('12:00'));
    expect(left).not.toContain(on('14:00'));
    // Moving within its own buffer (its old time is not in its way).
    expect((await move(buyers[5]!, 'buyers', on('14:10'))).status).toBe(200);
  });

  it("when another realtor or a buyer reaches for a listing's availability that is not theirs, then 404 and nothing changes", async () => {
    const exception = await http().post(`/api/v1/realtors/properties/${listing}/availability/exceptions`).set(realtor.auth).send({ date: dateIn(20), kind: 'day_off' });
    const own = await http().post('/api/v1/realtors/availability/exceptions').set(realtor.auth).send({ date: dateIn(21), kind: 'day_off' });
    const theirs = exception.body.data.id as string;
    const mine = own.body.data.id as string;
    const rob = (method: 'get' | 'put' | 'delete' | 'post', path: string, body?: object) => http()[method](path).set(otherRealtor.auth).send(body ?? {});

    for (const res of [
      await rob('get', `/api/v1/realtors/properties/${listing}/availability`),
      await rob('put', `/api/v1/realtors/properties/${listing}/availability`, { duration_minutes: 60 }),
      await rob('delete', `/api/v1/realtors/properties/${listing}/availability`),
      await rob('get', `/api/v1/realtors/properties/${listing}/availability/exceptions`),
      await rob('post', `/api/v1/realtors/properties/${listing}/availability/exceptions`, { date: dateIn(22), kind: 'day_off' }),
      await rob('delete', `/api/v1/realtors/properties/${listing}/availability/exceptions/${theirs}`),
      // Another realtor's exception through one's own listing, or as one's own.
      await rob('delete', `/api/v1/realtors/properties/${otherListing}/availability/exceptions/${theirs}`),
      await rob('delete', `/api/v1/realtors/availability/exceptions/${mine}`),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.errors[0].code).toBe('NOT_FOUND');
    }
    expect(await count(db.knex('availability_exceptions').whereIn('id', [Number(theirs), Number(mine)]))).toBe(2);
    expect((await db.knex('property_availability').where({ property_id: listing }).first()) ?? null).toBeNull();
    // Their own view is their own.
    expect((await rob('get', '/api/v1/realtors/availability/exceptions')).body.data).toEqual([]);

    // A listing not open for tours has no availability for buyers.
    await db.knex('properties').where({ id: otherListing }).update({ status: 'withdrawn' });
    const hidden = await http().get(`/api/v1/buyers/properties/${otherListing}/availability`).set(buyers[0]!.auth);
    expect(hidden.status).toBe(404);
    await db.knex('properties').where({ id: otherListing }).update({ status: 'active' });
    expect((await http().get('/api/v1/buyers/properties/999999/availability').set(buyers[0]!.auth)).status).toBe(404);
  });

  it('when the realtor removes the hours and a listing its overrides, then any time may be requested again', async () => {
    expect((await http().delete(`/api/v1/realtors/properties/${sibling}/availability`).set(realtor.auth)).status).toBe(204);
    expect((await http().delete('/api/v1/realtors/availability').set(realtor.auth)).status).toBe(204);
    expect(await audits('availability_hours_cleared')).toBe(1);
    expect(await audits('listing_availability_cleared')).toBe(1);
    expect(await slotsOf(listing)).toMatchObject({ hours_set: false, slots: [] });
    expect((await book(buyers[0]!, sibling, on('03:00'))).status).toBe(201);
    // Removing what is not there is still 204, and records nothing.
    expect((await http().delete('/api/v1/realtors/availability').set(realtor.auth)).status).toBe(204);
    expect(await audits('availability_hours_cleared')).toBe(1);
  });
});
