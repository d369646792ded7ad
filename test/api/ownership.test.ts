import type { Knex } from 'knex';
import request from 'supertest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { buildTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { createTimeSkippingEnv } from '../support/temporal';
import { createBuyer, createProperty, createRealtor, insertProperty, requestBooking, type SignedIn } from '../support/factories';

/**
 * Two buyers and two realtors: each reads, changes and deletes the other's objects and
 * gets 404 (never 403: no existence leak). Each owned resource adds a row to OWNED.
 */
interface OwnedResource {
  name: string;
  ownerRole: 'buyer' | 'realtor';
  /** Creates one for `owner`, returns its base path. */
  create(t: TestApp, knex: Knex, owner: SignedIn): Promise<string>;
  update: Record<string, unknown>;
}

const OWNED: OwnedResource[] = [
  {
    name: 'property',
    ownerRole: 'realtor',
    async create(t, _knex, owner) {
      return `/api/v1/realtors/properties/${await createProperty(t, owner, { price: 100000 })}`;
    },
    update: { price: 1 },
  },
  {
    name: 'booking',
    ownerRole: 'buyer',
    async create(t, knex, owner) {
      // Only something to book: inserted, its owner never signs in. No worker here either:
      // a peer's call must 404 before any workflow is touched.
      const property = await insertProperty(knex);
      return `/api/v1/buyers/bookings/${(await requestBooking(t, owner, property.id, { notes: 'mine' })).id}`;
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
    people.buyer = [await createBuyer(t), await createBuyer(t)];
    people.realtor = [await createRealtor(t), await createRealtor(t)];
  });

  afterAll(async () => {
    t?.cleanup();
    await Promise.all([db?.destroy(), env?.teardown()]);
  });

  const cases = OWNED.flatMap((r) => [[r.name, 0, 1, r] as const, [r.name, 1, 0, r] as const]);

  it.each(cases)("when %s #%i's owner's peer (#%i) reads, changes and deletes it, then 404 each time and it is intact", async (_n, owner, peer, r) => {
    const [a, b] = [people[r.ownerRole][owner], people[r.ownerRole][peer]];
    const path = await r.create(t, db.knex, a);
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
