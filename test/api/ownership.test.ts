import request from 'supertest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { buildTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { createTimeSkippingEnv } from '../support/temporal';
import { signUp, type SignedIn } from '../support/users';

/**
 * Two buyers and two realtors: each reads, changes and deletes the other's objects and
 * gets 404 (never 403: no existence leak). Each owned resource adds a row to OWNED.
 */
interface OwnedResource {
  name: string;
  ownerRole: 'buyer' | 'realtor';
  /** Creates one for `owner`, returns its base path. */
  create(t: TestApp, owner: SignedIn): Promise<string>;
  update: Record<string, unknown>;
}

let n = 0;
/** Lists the properties that bookings are made for (no worker here: a peer's call must 404 before any workflow is touched). */
let listingRealtor: SignedIn | undefined;
const OWNED: OwnedResource[] = [
  {
    name: 'property',
    ownerRole: 'realtor',
    async create(t, owner) {
      n += 1;
      const res = await request(t.callback)
        .post('/api/v1/realtors/properties')
        .set(owner.auth)
        .send({ address: `${n} Owner Way`, mls_id: `OWN-${Date.now()}-${n}`, price: 100000 });
      return `/api/v1/realtors/properties/${res.body.data.id}`;
    },
    update: { price: 1 },
  },
  {
    name: 'booking',
    ownerRole: 'buyer',
    async create(t, owner) {
      n += 1;
      listingRealtor ??= await signUp(t, 'realtor', 'Listing Realtor');
      const property = await request(t.callback)
        .post('/api/v1/realtors/properties')
        .set(listingRealtor.auth)
        .send({ address: `${n} Booking Way`, mls_id: `OWN-B-${Date.now()}-${n}`, price: 100000 });
      // Days apart, so no two of one buyer's requests overlap.
      const scheduledAt = new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000 + n * 24 * 3_600_000).toISOString();
      const res = await request(t.callback)
        .post('/api/v1/buyers/bookings')
        .set(owner.auth)
        .send({ property_id: Number(property.body.data.id), scheduled_at: scheduledAt, notes: 'mine' });
      if (res.status !== 201) throw new Error(`booking: ${res.status} ${JSON.stringify(res.body)}`);
      return `/api/v1/buyers/bookings/${res.body.data.id}`;
    },
    update: { notes: 'x' },
  },
];

describe('cross-user access is 404', () => {
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  let t: TestApp;
  const people = {} as Record<'buyer' | 'realtor', [SignedIn, SignedIn]>;

  beforeAll(async () => {
    [db, env] = await Promise.all([createTestDatabase(), createTimeSkippingEnv()]);
    t = await buildTestApp({ knex: db.knex, env });
    people.buyer = [await signUp(t, 'buyer'), await signUp(t, 'buyer')];
    people.realtor = [await signUp(t, 'realtor'), await signUp(t, 'realtor')];
  });

  afterAll(async () => {
    t?.cleanup();
    await Promise.all([db?.destroy(), env?.teardown()]);
  });

  const cases = OWNED.flatMap((r) => [[r.name, 0, 1, r] as const, [r.name, 1, 0, r] as const]);

  it.each(cases)("when %s #%i's owner's peer (#%i) reads, changes and deletes it, then 404 each time and it is intact", async (_n, owner, peer, r) => {
    const [a, b] = [people[r.ownerRole][owner], people[r.ownerRole][peer]];
    const path = await r.create(t, a);
    const before = await request(t.callback).get(path).set(a.auth);
    expect(before.status).toBe(200);
    expect((await request(t.callback).get(path).set(b.auth)).status).toBe(404);
    expect((await request(t.callback).put(path).set(b.auth).send(r.update)).status).toBe(404);
    expect((await request(t.callback).delete(path).set(b.auth)).status).toBe(404);
    const after = await request(t.callback).get(path).set(a.auth);
    expect(after.status).toBe(200);
    expect(after.body.data.attributes).toEqual(before.body.data.attributes);
  });
});
