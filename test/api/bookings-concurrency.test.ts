import type request from 'supertest';
import type { TestApp } from '../support/app';
import { type TestDatabase, count } from '../support/db';
import { createBuyers, createProperty, createRealtor, requestBooking, type SignedIn } from '../support/factories';
import { startTestSystem, type TestSystem } from '../support/system';

/**
 * Double-booking under concurrency: the database's exclusion constraints decide, the
 * workflow turns a lost race into a refusal, and the API answers 409 with a reason.
 */

const HOUR = 3_600_000;
const MINUTE = 60_000;
const BASE = Math.ceil((Date.now() + 4 * 24 * HOUR) / HOUR) * HOUR;
let slots = 0;
/** A fresh hour-aligned start, six hours after the previous one. */
function nextSlot(): number {
  slots += 1;
  return BASE + slots * 6 * HOUR;
}
const iso = (ms: number) => new Date(ms).toISOString();

const statuses = (responses: request.Response[]) => responses.map((r) => r.status).sort((a, b) => a - b);

describe('bookings under concurrency', () => {
  let sys: TestSystem;
  let db: TestDatabase;
  let t: TestApp;
  let realtor: SignedIn;
  let buyers: SignedIn[];
  const http = () => sys.http();

  const property = (who: SignedIn = realtor): Promise<number> => createProperty(t, who, { price: 100000 });

  const book = async (who: SignedIn, propertyId: number, startMs: number, minutes = 30): Promise<number> =>
    (await requestBooking(t, who, propertyId, { scheduledAt: iso(startMs), durationMinutes: minutes })).id;

  /** The confirmation itself is what these tests race, so its answer is theirs to check. */
  const confirm = (id: number, who: SignedIn = realtor) => http().put(`/api/v1/realtors/bookings/${id}/confirm`).set(who.auth);

  beforeAll(async () => {
    sys = await startTestSystem({ worker: true });
    ({ db, t } = sys);
    realtor = await createRealtor(t);
    buyers = await createBuyers(t, 20);
  });

  afterAll(() => sys?.stop());

  it('when 20 buyers hold overlapping requests for one property and all 20 are confirmed at once, then exactly one is 200 and the other 19 are 409', async () => {
    const propertyId = await property();
    const start = nextSlot();
    // Starts one minute apart, 30 minutes long: every pair overlaps.
    const ids = await Promise.all(buyers.map((b, i) => book(b, propertyId, start + i * MINUTE, 30)));

    const responses = await Promise.all(ids.map((id) => confirm(id)));
    expect(statuses(responses)).toEqual([200, ...Array(19).fill(409)]);
    for (const r of responses.filter((x) => x.status === 409)) {
      expect(r.body.errors[0]).toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/already has a tour/) });
    }
    const winner = responses.find((r) => r.status === 200)!.body.data;
    expect(winner.tour.attributes).toMatchObject({ property_id: propertyId, status: 'scheduled' });

    expect(await count(db.knex('tours').where({ property_id: propertyId }))).toBe(1);
    expect(await count(db.knex('calls').whereIn('tour_id', db.knex('tours').select('id').where({ property_id: propertyId })))).toBe(1);
    const rows = await db.knex('bookings').whereIn('id', ids).select('id', 'status');
    expect(rows.filter((r: { status: string }) => r.status === 'confirmed').map((r: { id: number }) => r.id)).toEqual([Number(winner.booking.id)]);
    expect(rows.filter((r: { status: string }) => r.status === 'pending')).toHaveLength(19);
    expect(await count(db.knex('audit_logs').where({ action: 'booking_confirmed' }).whereIn('resource_id', ids))).toBe(1);

    // The losers stay pending and can still be declined.
    const loser = ids.find((id) => id !== Number(winner.booking.id))!;
    expect((await http().put(`/api/v1/realtors/bookings/${loser}/decline`).set(realtor.auth).send({ reason: 'Taken' })).status).toBe(200);
  });

  it('when two bookings are back to back (the end of one is the start of the next), then both confirm', async () => {
    const propertyId = await property();
    const start = nextSlot();
    const first = await book(buyers[0]!, propertyId, start, 60);
    const second = await book(buyers[1]!, propertyId, start + 60 * MINUTE, 45);
    const responses = await Promise.all([confirm(first), confirm(second)]);
    expect(statuses(responses)).toEqual([200, 200]);
    expect(await count(db.knex('tours').where({ property_id: propertyId, status: 'scheduled' }))).toBe(2);

    // One minute of overlap is enough to be refused.
    const overlapping = await book(buyers[2]!, propertyId, start + 104 * MINUTE, 30);
    const res = await confirm(overlapping);
    expect(res.status).toBe(409);
  });

  it('when one buyer sends 20 requests for overlapping times at once, then exactly one is 201 and the other 19 are 409', async () => {
    const buyer = buyers[3]!;
    const properties = await Promise.all(Array.from({ length: 4 }, () => property()));
    const start = nextSlot();
    const requestsBefore = await count(db.knex('audit_logs').where({ action: 'booking_requested', user_id: buyer.id }));
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        http()
          .post('/api/v1/buyers/bookings')
          .set(buyer.auth)
          .send({ property_id: properties[i % 4], scheduled_at: iso(start + i * MINUTE), duration_minutes: 30 }),
      ),
    );
    expect(statuses(responses)).toEqual([201, ...Array(19).fill(409)]);
    for (const r of responses.filter((x) => x.status === 409)) {
      expect(r.body.errors[0]).toMatchObject({ code: 'CONFLICT', field: 'scheduled_at' });
    }
    const live = db.knex('bookings').where({ buyer_id: buyer.id }).whereIn('status', ['pending', 'confirmed']).whereBetween('scheduled_at', [new Date(start), new Date(start + HOUR)]);
    expect(await count(live)).toBe(1);
    expect(await count(db.knex('audit_logs').where({ action: 'booking_requested', user_id: buyer.id }))).toBe(requestsBefore + 1);
  });

  it('when one create is sent 20 times at once with the same Idempotency-Key, then every answer is 201 with the same booking and only one row exists', async () => {
    const buyer = buyers[4]!;
    const propertyId = await property();
    const body = { property_id: propertyId, scheduled_at: iso(nextSlot()), duration_minutes: 30 };
    const key = `race-${Date.now()}`;
    const responses = await Promise.all(Array.from({ length: 20 }, () => http().post('/api/v1/buyers/bookings').set(buyer.auth).set('Idempotency-Key', key).send(body)));
    expect(statuses(responses)).toEqual(Array(20).fill(201));
    expect(new Set(responses.map((r) => r.body.data.id)).size).toBe(1);
    expect(responses.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(19);
    expect(await count(db.knex('bookings').where({ buyer_id: buyer.id, property_id: propertyId }))).toBe(1);
  });

  it("when a realtor's two listings are booked at the same time, then the first confirm is 200 and the second 409: a realtor is in one tour at a time", async () => {
    const [p1, p2] = await Promise.all([property(), property()]);
    const start = nextSlot();
    const a = await book(buyers[5]!, p1, start, 60);
    const b = await book(buyers[6]!, p2, start + 30 * MINUTE, 60);
    expect((await confirm(a)).status).toBe(200);
    const res = await confirm(b);
    expect(res.status).toBe(409);
    expect(res.body.errors[0].message).toMatch(/already has a tour/);
    expect((await db.knex('bookings').where({ id: b }).first()).status).toBe('pending');
    expect(await count(db.knex('tours').where({ realtor_id: realtor.id }).whereIn('property_id', [p1, p2]))).toBe(1);
  });

  it('when another realtor confirms at the same time on their own listing, then both confirm: the rule is per realtor', async () => {
    const other = await createRealtor(t, 'Other Realtor');
    const [p1, p2] = await Promise.all([property(), property(other)]);
    const start = nextSlot();
    const a = await book(buyers[7]!, p1, start, 60);
    const b = await book(buyers[8]!, p2, start, 60);
    expect(statuses(await Promise.all([confirm(a), confirm(b, other)]))).toEqual([200, 200]);
  });
});
