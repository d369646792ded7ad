import request from 'supertest';
import { bookingWorkflowSettings } from '../../contracts/bookings';
import { tourStageQuery, tourWorkflowId } from '../../contracts/tours';
import { BookingService } from '../../api/bookings/service';
import { usersRepository } from '../../db/repositories/users.repository';
import { WEEKDAYS } from '../../lib/availability';
import { createLogger } from '../../lib/logger';
import { count, type TestDatabase } from '../support/db';
import { confirmBooking, createBuyers, createProperty, createRealtor, requestBooking, type SignedIn } from '../support/factories';
import { buildTestApp } from '../support/app';
import { readOutbox } from '../support/outbox';
import { startTestSystem, type TestSystem } from '../support/system';
import { eventually } from '../support/wait';
import { startTestWorker } from '../support/worker';

/**
 * Auto-confirm (ShowingTime's auto-approve) over HTTP, against real PostgreSQL and a worker
 * running the BookingWorkflow: a request that fits an auto-confirm listing is confirmed at
 * once by the booking's own workflow, as the realtor, with the same tour, call and emails
 * as a confirmation by hand; two buyers racing for its last slot get one confirmation and
 * one 409.
 */

const DAY = 86_400_000;
const dateIn = (days: number) => new Date(Date.now() + days * DAY).toISOString().slice(0, 10);
/** The test's day, five days ahead: clear of notice and expiry timers. */
const D = dateIn(5);
const on = (time: string, date = D) => `${date}T${time}:00.000Z`;
const hours = (start: string, end: string) => Object.fromEntries(WEEKDAYS.map((d) => [d, [{ start, end }]]));

describe('auto-confirm', () => {
  let sys: TestSystem;
  let db: TestDatabase;
  let realtor: SignedIn;
  let buyers: SignedIn[];
  let listing: number;
  const http = () => sys.http();

  const book = (who: SignedIn, property: number, scheduledAt: string, extra: { key?: string; minutes?: number } = {}) => {
    const req = http().post('/api/v1/buyers/bookings').set(who.auth);
    if (extra.key) req.set('Idempotency-Key', extra.key);
    return req.send({ property_id: property, scheduled_at: scheduledAt, duration_minutes: extra.minutes ?? 30 });
  };
  const setListing = (who: SignedIn, property: number, body: object) => http().put(`/api/v1/realtors/properties/${property}/availability`).set(who.auth).send(body);

  /** A realtor of their own (whose tours take no one else's time) with one listing set as `body` says. */
  async function autoListing(name: string, body: object): Promise<{ realtor: SignedIn; property: number }> {
    const owner = await createRealtor(sys.t, name);
    const property = await createProperty(sys.t, owner, { address: `${name}'s Listing` });
    const res = await setListing(owner, property, { ...body, auto_confirm: true });
    expect(res.status).toBe(200);
    return { realtor: owner, property };
  }

  /** The emails a booking's notices sent, as (template, to whom) pairs. */
  async function emailsOf(bookingId: number, people: { buyer: number; realtor: number }): Promise<string[]> {
    const rows: Array<{ template: string; recipient_user_id: number }> = await db
      .knex('notifications')
      .where('idempotency_key', 'like', `booking:${bookingId}:%`)
      .select('template', 'recipient_user_id');
    return rows.map((r) => `${r.template} → ${r.recipient_user_id === people.buyer ? 'buyer' : r.recipient_user_id === people.realtor ? 'realtor' : 'someone else'}`).sort();
  }

  function expectConfirmed(res: request.Response): { bookingId: number; tourId: number; callId: number } {
    expect(res.body.errors).toBeUndefined();
    expect(res.status).toBe(201);
    const { booking, tour, call } = res.body.data;
    expect(booking).toMatchObject({ type: 'booking', attributes: { status: 'confirmed' } });
    expect(tour).toMatchObject({ type: 'tour', attributes: { status: 'scheduled', scheduled_at: booking.attributes.scheduled_at } });
    expect(call).toMatchObject({ type: 'call' });
    expect(booking.relationships.tour.data.id).toBe(tour.id);
    return { bookingId: Number(booking.id), tourId: Number(tour.id), callId: Number(call.id) };
  }

  beforeAll(async () => {
    sys = await startTestSystem({ worker: true });
    ({ db } = sys);
    realtor = await createRealtor(sys.t, 'Ava Auto');
    buyers = await createBuyers(sys.t, 6);
    listing = await createProperty(sys.t, realtor, { address: '1 Instant Way' });
  }, 180_000);

  afterAll(() => sys?.stop());

  it('when a realtor turns auto-confirm on for a listing, then it reads back, is audited, and buyers see it with the slots', async () => {
    const res = await setListing(realtor, listing, { time_zone: 'UTC', weekly_hours: hours('09:00', '17:00'), buffer_minutes: 15, auto_confirm: true });
    expect(res.status).toBe(200);
    expect(res.body.data.attributes).toMatchObject({ auto_confirm: true, effective: { hours_set: true, source: 'listing' } });
    const audit = await db.knex('audit_logs').where({ action: 'listing_availability_set', resource_id: listing }).first();
    expect(JSON.parse(audit.details).changes.auto_confirm).toEqual({ from: null, to: true });
    const slots = await http().get(`/api/v1/buyers/properties/${listing}/availability`).query({ from: on('00:00'), to: on('23:59') }).set(buyers[0]!.auth);
    expect(slots.body.data.attributes).toMatchObject({ auto_confirm: true, hours_set: true });
  });

  it('when a request fits, then it is confirmed at once by its workflow as the realtor (marked auto), with the tour, call and emails of a confirmation by hand', async () => {
    const res = await book(buyers[0]!, listing, on('10:00'));
    const { bookingId, tourId, callId } = expectConfirmed(res);
    const booking = await db.knex('bookings').where({ id: bookingId }).first();
    expect(booking).toMatchObject({ status: 'confirmed', auto_confirm: true, realtor_id: realtor.id });
    expect(await db.knex('tours').where({ id: tourId }).first()).toMatchObject({ booking_id: bookingId, status: 'scheduled', realtor_id: realtor.id, buyer_id: buyers[0]!.id });
    expect(await db.knex('calls').where({ id: callId }).first()).toMatchObject({ tour_id: tourId, status: 'created' });
    // The tour's own workflow runs, started by the booking's.
    expect(await sys.env.client.workflow.getHandle(tourWorkflowId(tourId)).query(tourStageQuery)).toBe('scheduled');

    // Confirmed as the realtor, marked auto; the request records that it was one.
    const confirmed = await db.knex('audit_logs').where({ action: 'booking_confirmed', resource_id: bookingId }).first();
    expect(confirmed).toMatchObject({ user_id: realtor.id });
    expect(JSON.parse(confirmed.details)).toMatchObject({ auto: true, tour_id: tourId, call_id: callId });
    const requested = await db.knex('audit_logs').where({ action: 'booking_requested', resource_id: bookingId }).first();
    expect(JSON.parse(requested.details)).toMatchObject({ auto_confirm: true });

    // The same emails as a request confirmed by hand on a listing without auto-confirm.
    const manualRealtor = await createRealtor(sys.t, 'Hal Hand');
    const manualListing = await createProperty(sys.t, manualRealtor);
    const manual = await requestBooking(sys.t, buyers[1]!, manualListing, { scheduledAt: on('10:00') });
    await confirmBooking(sys.t, manualRealtor, manual.id);
    const expected = ['booking-confirmed → buyer', 'booking-confirmed → realtor', 'booking-request → realtor'];
    const auto = await eventually('the auto-confirmed booking\'s emails', async () => {
      const e = await emailsOf(bookingId, { buyer: buyers[0]!.id, realtor: realtor.id });
      return e.length >= expected.length && e;
    });
    const byHand = await eventually('the hand-confirmed booking\'s emails', async () => {
      const e = await emailsOf(manual.id, { buyer: buyers[1]!.id, realtor: manualRealtor.id });
      return e.length >= expected.length && e;
    });
    expect(auto).toEqual(expected);
    expect(byHand).toEqual(expected);
    const invite = (await readOutbox(sys.t.config.email.outboxDir)).find((m) => m.idempotencyKey.startsWith(`booking:${bookingId}:confirmed:`) && m.to.includes(buyers[0]!.email));
    expect(invite?.attachments.map((a) => a.filename)).toEqual(['tour.ics']);
  });

  it('when two buyers race for the last slot of an auto-confirm listing, then one is confirmed and the other gets 409', async () => {
    const { property } = await autoListing('Tina Tight', { time_zone: 'UTC', weekly_hours: hours('10:00', '10:30') });
    const slots = async () =>
      (await http().get(`/api/v1/buyers/properties/${property}/availability`).query({ from: on('00:00'), to: on('23:59') }).set(buyers[2]!.auth)).body.data.attributes.slots;
    expect(await slots()).toEqual([{ start: on('10:00'), end: on('10:30') }]);

    const [a, b] = await Promise.all([book(buyers[2]!, property, on('10:00')), book(buyers[3]!, property, on('10:00'))]);
    expect([a.status, b.status].sort()).toEqual([201, 409]);
    const [won, lost] = a.status === 201 ? [a, b] : [b, a];
    const { tourId } = expectConfirmed(won);
    expect(lost.body.errors[0]).toMatchObject({ code: 'CONFLICT', field: 'scheduled_at', message: expect.stringMatching(/taken/) });
    expect(await count(db.knex('bookings').where({ property_id: property }))).toBe(1);
    expect((await db.knex('tours').where({ property_id: property }).select('id')).map((t: { id: number }) => t.id)).toEqual([tourId]);
    expect(await slots()).toEqual([]);
  });

  it("when an auto-confirm listing has no hours, then any time is confirmed at once, but not one that another of the realtor's tours holds", async () => {
    const { property } = await autoListing('Nora Nohours', {});
    const first = await book(buyers[4]!, property, on('03:00'));
    expectConfirmed(first);
    const clash = await book(buyers[5]!, property, on('03:15'));
    expect(clash.status).toBe(409);
    expect(clash.body.errors[0].message).toMatch(/taken/);
    expectConfirmed(await book(buyers[5]!, property, on('03:30')));
  });

  it('when the request is retried with the same Idempotency-Key, then the same confirmation comes back and there is one tour', async () => {
    const first = await book(buyers[1]!, listing, on('14:00'), { key: 'auto-retry-1' });
    const ids = expectConfirmed(first);
    const again = await book(buyers[1]!, listing, on('14:00'), { key: 'auto-retry-1' });
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(expectConfirmed(again)).toEqual(ids);
    expect(await count(db.knex('tours').where({ booking_id: ids.bookingId }))).toBe(1);
    expect(await count(db.knex('audit_logs').where({ action: 'booking_confirmed', resource_id: ids.bookingId }))).toBe(1);
  });

  it('when no worker can confirm it in time, then the request is kept pending (201), and a retry with the same key confirms it once a worker runs', async () => {
    // The same database and server; its own task queue, with no worker yet, and a short Temporal deadline.
    const lonely = await buildTestApp({
      knex: db.knex,
      env: sys.env,
      config: { DATA_DIR: sys.t.config.paths.data, TEMPORAL_TASK_QUEUE: 'rfy-auto-confirm-no-worker', TEMPORAL_RPC_TIMEOUT_MS: '1500' },
    });
    sys.onStop(() => lonely.cleanup());
    const send = () =>
      request(lonely.callback).post('/api/v1/buyers/bookings').set(buyers[4]!.auth).set('Idempotency-Key', 'auto-no-worker').send({ property_id: listing, scheduled_at: on('16:00'), duration_minutes: 30 });
    const first = await send();
    expect(first.status).toBe(201);
    expect(first.body.data).toMatchObject({ type: 'booking', attributes: { status: 'pending' } });
    const bookingId = Number(first.body.data.id);
    expect(await count(db.knex('tours').where({ booking_id: bookingId }))).toBe(0);

    const worker = await startTestWorker(sys.env, lonely, db.knex);
    sys.onStop(() => worker.stop());
    const again = await send();
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(expectConfirmed(again).bookingId).toBe(bookingId);
    expect(await count(db.knex('tours').where({ booking_id: bookingId }))).toBe(1);
  });

  it('when auto-confirm is off again, then a request waits for the realtor as before', async () => {
    expect((await setListing(realtor, listing, { time_zone: 'UTC', weekly_hours: hours('09:00', '17:00'), buffer_minutes: 15 })).body.data.attributes.auto_confirm).toBe(false);
    const res = await book(buyers[2]!, listing, on('15:00'));
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({ type: 'booking', attributes: { status: 'pending' } });
    expect(await db.knex('bookings').where({ id: Number(res.body.data.id) }).first()).toMatchObject({ auto_confirm: false });
  });

  it("when a request gives no tour length, then the listing's default length is booked (the service; see createBookingBody)", async () => {
    const owner = await createRealtor(sys.t, 'Lena Long');
    const property = await createProperty(sys.t, owner);
    expect((await setListing(owner, property, { duration_minutes: 45 })).body.data.attributes.duration_minutes).toBe(45);
    const service = new BookingService({
      knex: db.knex,
      temporal: sys.env.client,
      taskQueue: sys.t.config.temporal.taskQueue,
      minNoticeMinutes: sys.t.config.bookings.minNoticeMinutes,
      maxAheadDays: sys.t.config.bookings.maxAheadDays,
      workflowSettings: bookingWorkflowSettings(sys.t.config),
      logger: createLogger(sys.t.config, 'test-api'),
    });
    const user = (await usersRepository(db.knex).findById(buyers[3]!.id))!;
    const { booking } = await service.create({ user, requestId: 'test-default-length' }, { property_id: property, scheduled_at: on('05:00') });
    expect(booking).toMatchObject({ duration_minutes: 45, status: 'pending' });
    expect(booking.ends_at.toISOString()).toBe(on('05:45'));
  });
});
