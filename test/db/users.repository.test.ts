import { usersRepository } from '../../db/repositories/users.repository';
import { UserCache } from '../../api/middleware/user-cache';
import type { UserRecord } from '../../db/repositories/users.repository';
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

  it('when accounts are read through a scope, then deleted ones are never seen and a user scope sees only that user', async () => {
    const users = usersRepository(db.knex);
    const kept = await users.insert({ cognito_sub: 'sub-scope-1', email: 'scope-one@example.com', full_name: 'Scope One', role: 'buyer' });
    const other = await users.insert({ cognito_sub: 'sub-scope-2', email: 'scope-two@example.com', full_name: 'Scope Two', role: 'buyer' });
    expect(await users.findInScope({}, kept.id)).toEqual(kept);
    expect(await users.findInScope({ userId: kept.id }, kept.id)).toEqual(kept);
    expect(await users.findInScope({ userId: kept.id }, other.id)).toBeUndefined();
    await users.update(other.id, { deleted_at: new Date() });
    expect(await users.findInScope({}, other.id)).toBeUndefined();
    expect(await users.findById(other.id)).toMatchObject({ id: other.id, deleted_at: expect.any(Date) });
  });

  it('when an account is changed, then the row comes back as it now is, with updated_at moved by the database', async () => {
    const users = usersRepository(db.knex);
    const created = await users.insert({ cognito_sub: 'sub-update-1', email: 'update-one@example.com', full_name: 'Before', role: 'buyer' });
    expect(Object.getPrototypeOf(created)).toBe(Object.prototype);
    // The trigger writes now(); a row written "earlier" shows it moved.
    await db.knex.raw('ALTER TABLE users DISABLE TRIGGER users_set_updated_at');
    await db.knex('users').where({ id: created.id }).update({ updated_at: new Date('2020-01-01T00:00:00Z') });
    await db.knex.raw('ALTER TABLE users ENABLE TRIGGER users_set_updated_at');
    const disabledAt = new Date('2026-12-01T12:00:00Z');
    const changed = await users.update(created.id, { full_name: 'After', role: 'realtor', disabled_at: disabledAt, avatar_key: 'avatars/1/a.webp' });
    expect(changed).toMatchObject({ id: created.id, full_name: 'After', role: 'realtor', disabled_at: disabledAt, avatar_key: 'avatars/1/a.webp', created_at: created.created_at });
    expect(changed!.updated_at.getTime()).toBeGreaterThan(new Date('2020-01-01T00:00:00Z').getTime());
    expect(await users.findById(created.id)).toEqual(changed);
    expect(await users.update(created.id + 10_000, { full_name: 'Nobody' })).toBeUndefined();
  });

  it('when accounts are listed, then the search matches name or email in any case, with % and _ taken literally, and role and status filter', async () => {
    const users = usersRepository(db.knex);
    const add = (n: string, extra: Partial<{ role: 'buyer' | 'realtor' | 'admin'; email: string }> = {}) =>
      users.insert({ cognito_sub: `sub-list-${n}`, email: extra.email ?? `list-${n}@example.com`, full_name: `Lister ${n}`, role: extra.role ?? 'buyer' });
    const plain = await add('plain');
    const percent = await add('100%', { email: 'list-pct@example.com' });
    const under = await add('a_b', { role: 'realtor', email: 'list-under@example.com' });
    const byEmail = await users.insert({ cognito_sub: 'sub-list-mail', email: 'lister-mail@example.com', full_name: 'Mail Match', role: 'admin' });
    const gone = await add('gone');
    await users.update(gone.id, { deleted_at: new Date() });
    await users.update(plain.id, { disabled_at: new Date() });
    const page = { page: 1, per_page: 50 };
    const ids = async (f: Parameters<typeof users.list>[1]) => (await users.list({}, f, page)).items.map((u) => u.id);

    expect(await ids({ q: 'LISTER' })).toEqual([plain.id, percent.id, under.id, byEmail.id]);
    expect(await ids({ q: '100%' })).toEqual([percent.id]);
    expect(await ids({ q: '%' })).toEqual([percent.id]);
    expect(await ids({ q: 'a_b' })).toEqual([under.id]);
    expect(await ids({ q: 'r_a' })).toEqual([]);
    expect(await ids({ q: 'lister', role: 'realtor' })).toEqual([under.id]);
    expect(await ids({ q: 'lister', status: 'disabled' })).toEqual([plain.id]);
    expect(await ids({ q: 'lister', status: 'active' })).toEqual([percent.id, under.id, byEmail.id]);
    expect((await users.list({ userId: under.id }, { q: 'lister' }, page)).items.map((u) => u.id)).toEqual([under.id]);
  });

  it('when accounts are listed a page at a time, then each page holds the next ids and every page knows the total', async () => {
    const users = usersRepository(db.knex);
    const made: number[] = [];
    for (let i = 0; i < 5; i++) made.push((await users.insert({ cognito_sub: `sub-page-${i}`, email: `pager-${i}@example.com`, full_name: `Pager ${i}`, role: 'buyer' })).id);
    const pageOf = (page: number) => users.list({}, { q: 'pager-' }, { page, per_page: 2 });
    expect(await pageOf(1)).toEqual({ items: [expect.objectContaining({ id: made[0] }), expect.objectContaining({ id: made[1] })], total: 5 });
    expect((await pageOf(3)).items.map((u) => u.id)).toEqual([made[4]]);
    expect(await pageOf(4)).toEqual({ items: [], total: 5 });
    const [first] = (await pageOf(1)).items;
    expect(Object.keys(first!).sort()).toEqual(['avatar_key', 'cognito_sub', 'created_at', 'deleted_at', 'disabled_at', 'email', 'full_name', 'id', 'role', 'updated_at']);
  });
});

describe('the guard\'s user cache', () => {
  const user = (id: number) => ({ id }) as unknown as UserRecord;

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
