import { usersRepository } from '../../db/repositories/users.repository';
import { UserCache } from '../../api/middleware/user-cache';
import type { User } from '../../db/models';
import { createTestDatabase, type TestDatabase } from '../support/db';

describe('users repository (real PostgreSQL)', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db?.destroy();
  });

  it('when a user is inserted, then it is found by id, sub and email (any case) as a plain record', async () => {
    const users = usersRepository(db.knex);
    const created = await users.insertIfAbsent({ cognito_sub: 'sub-repo-1', email: 'repo-one@example.com', full_name: 'Repo One', role: 'realtor' });
    expect(created).toMatchObject({ cognito_sub: 'sub-repo-1', email: 'repo-one@example.com', role: 'realtor', disabled_at: null, deleted_at: null });
    expect(typeof created!.id).toBe('number');
    expect(Object.getPrototypeOf(created)).toBe(Object.prototype);
    expect(await users.findById(created!.id)).toEqual(created);
    expect(await users.findBySub('sub-repo-1')).toEqual(created);
    expect(await users.findByEmail('  Repo-One@Example.com ')).toEqual(created);
    expect(await users.findBySub('no-such-sub')).toBeUndefined();
  });

  it('when the same sub is inserted twice, then the second insert returns nothing and one row exists', async () => {
    const users = usersRepository(db.knex);
    const first = await users.insertIfAbsent({ cognito_sub: 'sub-repo-2', email: 'repo-two@example.com', full_name: 'Repo Two', role: 'buyer' });
    expect(first).toBeDefined();
    expect(await users.insertIfAbsent({ cognito_sub: 'sub-repo-2', email: 'repo-two-b@example.com', full_name: 'Repo Two', role: 'buyer' })).toBeUndefined();
    expect(await db.knex('users').where({ cognito_sub: 'sub-repo-2' }).count<{ count: number }[]>('* as count')).toEqual([{ count: 1 }]);
  });

  it('when a realtor is deleted or is not a realtor, then findActiveRealtor does not return them', async () => {
    const users = usersRepository(db.knex);
    const realtor = (await users.insertIfAbsent({ cognito_sub: 'sub-repo-3', email: 'repo-three@example.com', full_name: 'R', role: 'realtor' }))!;
    const buyer = (await users.insertIfAbsent({ cognito_sub: 'sub-repo-4', email: 'repo-four@example.com', full_name: 'B', role: 'buyer' }))!;
    expect((await users.findActiveRealtor(realtor.id))?.id).toBe(realtor.id);
    expect(await users.findActiveRealtor(buyer.id)).toBeUndefined();
    await db.knex('users').where({ id: realtor.id }).update({ deleted_at: new Date() });
    expect(await users.findActiveRealtor(realtor.id)).toBeUndefined();
  });
});

describe('the guard\'s user cache', () => {
  const user = (id: number) => ({ id }) as unknown as User;

  it('when an entry is older than the TTL, then it is gone', () => {
    let now = 1_000;
    const cache = new UserCache({ ttlMs: 30_000, maxEntries: 10, now: () => now });
    cache.set('a', user(1));
    now += 29_999;
    expect(cache.get('a')?.id).toBe(1);
    now += 1;
    expect(cache.get('a')).toBeUndefined();
  });

  it('when a user is forgotten, then the next lookup misses', () => {
    const cache = new UserCache({ ttlMs: 30_000, maxEntries: 10 });
    cache.set('a', user(1));
    cache.forget('a');
    expect(cache.get('a')).toBeUndefined();
  });

  it('when more users than the bound are cached, then the oldest entry goes first', () => {
    const cache = new UserCache({ ttlMs: 30_000, maxEntries: 2 });
    cache.set('a', user(1));
    cache.set('b', user(2));
    cache.set('c', user(3));
    expect(cache.size).toBe(2);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')?.id).toBe(2);
    expect(cache.get('c')?.id).toBe(3);
  });
});
