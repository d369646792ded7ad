import request from 'supertest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { buildTestApp, type TestApp } from './app';
import { createTestDatabase, type TestDatabase } from './db';
import {
  confirmBooking, createAdmin, createBuyer, createBuyers, createProperty, createRealtor, createTour, insertBooking, insertProperties, insertProperty, insertTour,
  insertUser, requestBooking, type SignedIn,
} from './factories';
import { createTimeSkippingEnv } from './temporal';
import { startTestWorker } from './worker';

/** The factory makes what it says, through the API where it says so, and fails loudly when refused. */
describe('test data factory', () => {
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  let t: TestApp;
  let worker: Awaited<ReturnType<typeof startTestWorker>>;
  let realtor: SignedIn;
  let buyer: SignedIn;
  const http = () => request(t.callback);

  beforeAll(async () => {
    [db, env] = await Promise.all([createTestDatabase(), createTimeSkippingEnv()]);
    t = await buildTestApp({ knex: db.knex, env });
    worker = await startTestWorker(env, t, db.knex);
    [realtor, buyer] = await Promise.all([createRealtor(t), createBuyer(t)]);
  });

  afterAll(async () => {
    await worker?.stop();
    t?.cleanup();
    await Promise.all([db?.destroy(), env?.teardown()]);
  });

  it('when users are made, then each is signed in with its role', async () => {
    const admin = await createAdmin(t, db.knex);
    const roles = await db.knex('users').whereIn('id', [buyer.id, realtor.id, admin.id]).orderBy('id').pluck('role');
    expect(roles.sort()).toEqual(['admin', 'buyer', 'realtor']);
    expect((await http().get('/api/v1/buyers/properties').set(buyer.auth)).status).toBe(200);
    expect((await http().get('/api/v1/realtors/properties').set(realtor.auth)).status).toBe(200);
    expect((await http().get('/api/v1/admin/users').set(admin.auth)).status).toBe(200);
  });

  it('when a property is made through the API, then its realtor reads it back with the overrides', async () => {
    const id = await createProperty(t, realtor, { address: '9 Factory Court', price: 123000 });
    const res = await http().get(`/api/v1/realtors/properties/${id}`).set(realtor.auth);
    expect(res.status).toBe(200);
    expect(res.body.data.attributes).toMatchObject({ address: '9 Factory Court', city: 'Springfield' });
    expect(Number(res.body.data.attributes.price)).toBe(123000);
  });

  it('when two properties are made with defaults, then both are accepted (unique MLS ids)', async () => {
    const [a, b] = await Promise.all([createProperty(t, realtor), createProperty(t, realtor)]);
    expect(a).not.toBe(b);
    const mls = await db.knex('properties').whereIn('id', [a, b]).pluck('mls_id');
    expect(new Set(mls).size).toBe(2);
  });

  it('when the API refuses a property, then the factory throws with the status and body', async () => {
    await expect(createProperty(t, realtor, { price: -1 })).rejects.toThrow(/create property: 4\d\d .*VALIDATION_ERROR/);
    await expect(createProperty(t, buyer)).rejects.toThrow(/create property: 403/);
  });

  it('when a property is inserted directly for a signed-in realtor, then the API shows it as theirs', async () => {
    const { id, realtorId } = await insertProperty(db.knex, { realtor_id: realtor.id, address: '3 Direct Drive' });
    expect(realtorId).toBe(realtor.id);
    const res = await http().get(`/api/v1/realtors/properties/${id}`).set(realtor.auth);
    expect(res.status).toBe(200);
    expect(res.body.data.attributes.address).toBe('3 Direct Drive');
  });

  it('when a property is inserted without an owner, then a realtor row is inserted for it', async () => {
    const { id, realtorId } = await insertProperty(db.knex);
    const owner = await db.knex('users').where({ id: realtorId }).first();
    expect(owner.role).toBe('realtor');
    expect(Number((await db.knex('properties').where({ id }).first()).realtor_id)).toBe(realtorId);
    const other = await insertUser(db.knex, 'buyer');
    expect((await db.knex('users').where({ id: other.id }).first()).email).toBe(other.email);
  });

  it('when bookings are requested with default times, then each is pending and none overlaps the last', async () => {
    const propertyId = await createProperty(t, realtor);
    const first = await requestBooking(t, buyer, propertyId);
    const second = await requestBooking(t, buyer, propertyId, { notes: 'second' });
    expect(new Date(second.scheduledAt).getTime() - new Date(first.scheduledAt).getTime()).toBeGreaterThanOrEqual(30 * 60_000);
    const rows = await db.knex('bookings').whereIn('id', [first.id, second.id]).orderBy('id');
    expect(rows.map((r) => [r.status, r.notes])).toEqual([['pending', null], ['pending', 'second']]);
    expect(new Date(rows[0].scheduled_at).toISOString()).toBe(first.scheduledAt);
  });

  it('when a tour is made, then its booking is confirmed and the tour and its call exist', async () => {
    const tour = await createTour(t, { realtor, buyer });
    expect(tour.bookingId).toBe(tour.id);
    expect((await db.knex('bookings').where({ id: tour.bookingId }).first()).status).toBe('confirmed');
    const row = await db.knex('tours').where({ id: tour.tourId }).first();
    expect({ booking: Number(row.booking_id), property: Number(row.property_id) }).toEqual({ booking: tour.bookingId, property: tour.propertyId });
    expect(Number((await db.knex('calls').where({ id: tour.callId }).first()).tour_id)).toBe(tour.tourId);
  });

  it('when another realtor confirms, then the factory throws with the refusal and the booking stays pending', async () => {
    const booking = await requestBooking(t, buyer, await createProperty(t, realtor));
    const stranger = await createRealtor(t, 'Stranger Realtor');
    await expect(confirmBooking(t, stranger, booking.id)).rejects.toThrow(/confirm booking: 404 .*NOT_FOUND/);
    expect((await db.knex('bookings').where({ id: booking.id }).first()).status).toBe('pending');
  });

  it('when several buyers are made, then each is a distinct signed-in buyer with the name asked for', async () => {
    const buyers = await createBuyers(t, 7, (i) => `Crowd ${i}`);
    expect(new Set(buyers.map((b) => b.id)).size).toBe(7);
    const rows = await db.knex('users').whereIn('id', buyers.map((b) => b.id)).orderBy('id');
    expect(rows.every((r) => r.role === 'buyer')).toBe(true);
    expect(rows.map((r) => r.full_name).sort()).toEqual(Array.from({ length: 7 }, (_, i) => `Crowd ${i}`).sort());
  });

  it('when properties are inserted in one go, then their ids follow the order given and each row is as given', async () => {
    const ids = await insertProperties(db.knex, ['1 First St', '2 Second St', '3 Third St'].map((address) => ({ realtor_id: realtor.id, address, city: 'Shelbyville' })));
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    const rows = await db.knex('properties').whereIn('id', ids).orderBy('id');
    expect(rows.map((r) => [r.address, r.city, Number(r.realtor_id), r.mls_id])).toEqual([
      ['1 First St', 'Shelbyville', realtor.id, null],
      ['2 Second St', 'Shelbyville', realtor.id, null],
      ['3 Third St', 'Shelbyville', realtor.id, null],
    ]);
  });

  it("when a booking row is inserted, then it is the property's realtor's, for a new buyer unless one is named, at a time of its own", async () => {
    const { id: propertyId } = await insertProperty(db.knex, { realtor_id: realtor.id });
    const anyone = await insertBooking(db.knex, { property_id: propertyId });
    const mine = await insertBooking(db.knex, { property_id: propertyId, buyer_id: buyer.id, status: 'confirmed' });
    expect(anyone.buyerId).not.toBe(buyer.id);
    const rows = await db.knex('bookings').whereIn('id', [anyone.id, mine.id]).orderBy('id');
    expect(rows.map((r) => [Number(r.realtor_id), Number(r.buyer_id), r.status])).toEqual([
      [realtor.id, anyone.buyerId, 'pending'],
      [realtor.id, buyer.id, 'confirmed'],
    ]);
    expect(rows[1].scheduled_at.getTime()).toBeGreaterThan(rows[0].scheduled_at.getTime());
  });

  it('when a tour row is inserted, then it belongs to a confirmed booking with the same people, property and time, and its realtor reads it', async () => {
    const { id: propertyId } = await insertProperty(db.knex, { realtor_id: realtor.id });
    const { tourId, booking } = await insertTour(db.knex, { property_id: propertyId, buyer_id: buyer.id, duration_minutes: 45 });
    const tour = await db.knex('tours').where({ id: tourId }).first();
    expect({ booking: Number(tour.booking_id), property: Number(tour.property_id), realtor: Number(tour.realtor_id), buyer: Number(tour.buyer_id), at: tour.scheduled_at, minutes: tour.duration_minutes, status: tour.status }).toEqual({
      booking: booking.id, property: propertyId, realtor: realtor.id, buyer: buyer.id, at: booking.scheduledAt, minutes: 45, status: 'scheduled',
    });
    expect((await db.knex('bookings').where({ id: booking.id }).first()).status).toBe('confirmed');
    expect((await http().get(`/api/v1/realtors/tours/${tourId}`).set(realtor.auth)).status).toBe(200);
  });
});
