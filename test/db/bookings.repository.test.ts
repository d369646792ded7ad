import { BOOKING_STATUS } from '../../contracts/bookings';
import { bookingsRepository, type NewBooking } from '../../db/repositories/bookings.repository';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { insertProperty, insertUser } from '../support/factories';

/**
 * The bookings repository against real PostgreSQL: plain records (numbers and Dates, no
 * model instances), scopes by the booking's own realtor, and the writes the booking
 * activities make (confirmation's tour and call, reschedule, transitions).
 */

const HOUR = 3_600_000;
const BASE = Date.UTC(2031, 0, 6, 9);

describe('bookings repository', () => {
  let db: TestDatabase;
  let buyer: number;
  let otherBuyer: number;
  let realtor: number;
  let otherRealtor: number;
  let property: number;
  let slot = 0;

  const newBooking = (overrides: Partial<NewBooking> = {}): NewBooking => {
    slot += 1;
    return { buyer_id: buyer, property_id: property, realtor_id: realtor, scheduled_at: new Date(BASE + slot * 3 * HOUR), duration_minutes: 30, notes: null, ...overrides };
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    buyer = (await insertUser(db.knex, 'buyer', { full_name: 'Bea Buyer' })).id;
    otherBuyer = (await insertUser(db.knex, 'buyer')).id;
    realtor = (await insertUser(db.knex, 'realtor', { full_name: 'Rita Realtor' })).id;
    otherRealtor = (await insertUser(db.knex, 'realtor')).id;
    property = (await insertProperty(db.knex, { realtor_id: realtor, address: '1 Elm Street', city: 'Springfield', status: 'active' })).id;
  });

  afterAll(() => db.destroy());

  it('when a booking is inserted, then it reads back as a plain pending record with its realtor, numbers and dates', async () => {
    const repo = bookingsRepository(db.knex);
    const input = newBooking({ notes: 'Ring twice' });
    const id = await repo.insert(input);
    const b = await repo.find(id);
    expect(b).toMatchObject({ id, buyer_id: buyer, property_id: property, realtor_id: realtor, status: BOOKING_STATUS.pending, duration_minutes: 30, notes: 'Ring twice', ics_sequence: 0 });
    expect(Object.getPrototypeOf(b)).toBe(Object.prototype);
    expect(b!.scheduled_at).toEqual(input.scheduled_at);
    expect(b!.ends_at).toEqual(new Date(input.scheduled_at.getTime() + 30 * 60_000));
  });

  it('when a view is read, then its buyer, its realtor and an admin see it with the address, and anyone else gets nothing', async () => {
    const repo = bookingsRepository(db.knex);
    const id = await repo.insert(newBooking());
    expect(await repo.findView({ buyerId: buyer }, id)).toMatchObject({ id, property_address: '1 Elm Street', tour_id: null });
    expect(await repo.findView({ realtorId: realtor }, id)).toMatchObject({ id });
    expect(await repo.findView({}, id)).toMatchObject({ id });
    expect(await repo.findView({ buyerId: otherBuyer }, id)).toBeUndefined();
    expect(await repo.findView({ realtorId: otherRealtor }, id)).toBeUndefined();
  });

  it('when the listing is handed to another realtor, then its bookings stay with the realtor they were made with', async () => {
    const handed = (await insertProperty(db.knex, { realtor_id: realtor, status: 'active' })).id;
    const repo = bookingsRepository(db.knex);
    const id = await repo.insert(newBooking({ property_id: handed }));
    await db.knex('properties').where({ id: handed }).update({ realtor_id: otherRealtor });
    expect(await repo.findView({ realtorId: realtor }, id)).toMatchObject({ id, realtor_id: realtor });
    expect(await repo.findView({ realtorId: otherRealtor }, id)).toBeUndefined();
    expect((await repo.noticeFacts(id))!.realtor).toEqual({ id: realtor, name: 'Rita Realtor', email: expect.any(String) });
    expect((await repo.snapshot(id))!.realtorId).toBe(realtor);
  });

  it('when bookings are listed, then filters apply, the order is by time then id, and the total counts every match', async () => {
    const lister = await insertUser(db.knex, 'buyer');
    const repo = bookingsRepository(db.knex);
    const ids: number[] = [];
    for (let i = 0; i < 5; i += 1) ids.push(await repo.insert(newBooking({ buyer_id: lister.id })));
    await repo.setStatus(ids[1]!, { status: BOOKING_STATUS.declined, decline_reason: 'Busy' });

    const page1 = await repo.list({ buyerId: lister.id }, {}, { page: 1, per_page: 2 });
    expect({ ids: page1.items.map((b) => b.id), total: page1.total }).toEqual({ ids: ids.slice(0, 2), total: 5 });
    const page3 = await repo.list({ buyerId: lister.id }, {}, { page: 3, per_page: 2 });
    expect({ ids: page3.items.map((b) => b.id), total: page3.total }).toEqual({ ids: ids.slice(4), total: 5 });

    const pending = await repo.list({ buyerId: lister.id }, { status: BOOKING_STATUS.pending }, { page: 1, per_page: 10 });
    expect(pending.items.map((b) => b.id)).toEqual([ids[0], ids[2], ids[3], ids[4]]);
    const from = (await repo.find(ids[3]!))!.scheduled_at;
    const late = await repo.list({}, { buyer_id: lister.id, from }, { page: 1, per_page: 10 });
    expect({ ids: late.items.map((b) => b.id), total: late.total }).toEqual({ ids: ids.slice(3), total: 2 });
    const byRealtor = await repo.list({}, { buyer_id: lister.id, realtor_id: otherRealtor }, { page: 1, per_page: 10 });
    expect(byRealtor.total).toBe(0);
  });

  it('when a booking is confirmed, then its tour and call exist with its time and realtor, and the snapshot names them', async () => {
    const id = await bookingsRepository(db.knex).insert(newBooking());
    const created = await db.knex.transaction(async (trx) => {
      const repo = bookingsRepository(trx);
      const b = (await repo.find(id, { forUpdate: true }))!;
      const made = await repo.createTourAndCall(b);
      await repo.setStatus(id, { status: BOOKING_STATUS.confirmed });
      return made;
    });
    const repo = bookingsRepository(db.knex);
    expect(await repo.findTourAndCall(id)).toEqual(created);
    const b = (await repo.find(id))!;
    const tour = await db.knex('tours').where({ id: created.tourId }).first();
    expect(tour).toMatchObject({ booking_id: id, realtor_id: realtor, buyer_id: buyer, status: 'scheduled', duration_minutes: 30 });
    expect(tour.scheduled_at).toEqual(b.scheduled_at);
    expect(await repo.snapshot(id)).toEqual({
      status: BOOKING_STATUS.confirmed,
      scheduledAt: b.scheduled_at.toISOString(),
      durationMinutes: 30,
      propertyId: property,
      realtorId: realtor,
      buyerId: buyer,
      tourId: created.tourId,
      callId: created.callId,
    });
    expect((await repo.findView({ buyerId: buyer }, id))!.tour_id).toBe(created.tourId);
  });

  it('when a confirmed booking is rescheduled, then it and its tour move and its calendar sequence goes up', async () => {
    const repo = bookingsRepository(db.knex);
    const id = await repo.insert(newBooking());
    const { tourId } = await repo.createTourAndCall((await repo.find(id))!);
    const at = new Date(BASE + 900 * HOUR);
    expect(await repo.reschedule(id, at, 45)).toBe(1);
    expect(await repo.find(id)).toMatchObject({ scheduled_at: at, duration_minutes: 45, ics_sequence: 1, ends_at: new Date(at.getTime() + 45 * 60_000) });
    expect(await db.knex('tours').where({ id: tourId }).first()).toMatchObject({ scheduled_at: at, duration_minutes: 45 });
  });

  it('when a notice is composed, then the facts carry the booking, the address, both people and the tour', async () => {
    const repo = bookingsRepository(db.knex);
    const id = await repo.insert(newBooking());
    await repo.setStatus(id, { status: BOOKING_STATUS.cancelled, cancellation_reason: 'Sold', cancelled_by: buyer });
    const facts = (await repo.noticeFacts(id))!;
    expect(facts).toMatchObject({
      booking: { id, status: BOOKING_STATUS.cancelled, cancellation_reason: 'Sold', cancelled_by: buyer },
      property: { address: '1 Elm Street', city: 'Springfield' },
      buyer: { id: buyer, name: 'Bea Buyer' },
      realtor: { id: realtor, name: 'Rita Realtor' },
      tourId: null,
    });
    expect(await repo.noticeFacts(999_999)).toBeUndefined();
    expect(await repo.snapshot(999_999)).toBeNull();
  });

  it('when a listing is withdrawn or deleted, then it is not held for a request; an open one is, with its realtor', async () => {
    const repo = bookingsRepository(db.knex);
    const withdrawn = (await insertProperty(db.knex, { realtor_id: realtor, status: 'withdrawn' })).id;
    const deleted = (await insertProperty(db.knex, { realtor_id: realtor, status: 'active', deleted_at: new Date() })).id;
    await db.knex.transaction(async (trx) => {
      const held = bookingsRepository(trx);
      expect(await held.holdBookableProperty(property)).toEqual({ id: property, realtor_id: realtor });
      expect(await held.holdBookableProperty(withdrawn)).toBeUndefined();
      expect(await held.holdBookableProperty(deleted)).toBeUndefined();
    });
    expect(await repo.holdBookableProperty(property)).toBeDefined();
  });

  it('when a booking has no realtor, then the database refuses it', async () => {
    const { realtor_id: _omitted, ...rest } = newBooking();
    await expect(db.knex('bookings').insert({ ...rest, status: BOOKING_STATUS.pending })).rejects.toMatchObject({ code: '23502', column: 'realtor_id' });
  });
});
