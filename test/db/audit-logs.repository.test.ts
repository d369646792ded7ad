import { recordAudit } from '../../db/audit';
import { auditLogsRepository } from '../../db/repositories/audit-logs.repository';
import { insertUser } from '../support/factories';
import { createTestDatabase, type TestDatabase } from '../support/db';

/** The audit trail's read side against real PostgreSQL: filters, newest first, pages with the full count. */
describe('audit logs repository', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db?.destroy();
  });

  const all = { page: 1, per_page: 100 };

  it('when entries are recorded, then they come back as plain records, newest first, ties by id, with numbers for ids', async () => {
    const actor = await insertUser(db.knex, 'admin');
    await recordAudit(db.knex, { actorId: actor.id, action: 'order_first', resourceType: 'order_probe', resourceId: 7, details: { a: 1 }, requestId: 'req-1' });
    await recordAudit(db.knex, { actorId: null, action: 'order_second', resourceType: 'order_probe', resourceId: null });
    // Same created_at for both (one transaction's now()): the later id comes first.
    await db.knex.transaction(async (trx) => {
      await recordAudit(trx, { actorId: actor.id, action: 'order_tie_a', resourceType: 'order_probe', resourceId: 8 });
      await recordAudit(trx, { actorId: actor.id, action: 'order_tie_b', resourceType: 'order_probe', resourceId: 9 });
    });
    const { items, total } = await auditLogsRepository(db.knex).list({ resource_type: 'order_probe' }, all);
    expect(total).toBe(4);
    expect(items.map((e) => e.action)).toEqual(['order_tie_b', 'order_tie_a', 'order_second', 'order_first']);
    const first = items[3]!;
    expect(first).toEqual({ id: expect.any(Number), user_id: actor.id, action: 'order_first', resource_type: 'order_probe', resource_id: 7, details: '{"a":1}', request_id: 'req-1', created_at: expect.any(Date) });
    expect(Object.getPrototypeOf(first)).toBe(Object.prototype);
    expect(items[2]).toMatchObject({ user_id: null, resource_id: null, details: '{}', request_id: null });
  });

  it('when filtered by user, action, resource and time, then only the matching entries count; from is inclusive, to is not', async () => {
    const alice = await insertUser(db.knex, 'admin');
    const bob = await insertUser(db.knex, 'admin');
    const at = (iso: string) => new Date(iso);
    const rows = [
      { user_id: alice.id, action: 'filter_probe_made', resource_type: 'filter_probe', resource_id: 1, created_at: at('2027-03-01T00:00:00Z') },
      { user_id: alice.id, action: 'filter_probe_changed', resource_type: 'filter_probe', resource_id: 1, created_at: at('2027-03-02T00:00:00Z') },
      { user_id: bob.id, action: 'filter_probe_changed', resource_type: 'filter_probe', resource_id: 2, created_at: at('2027-03-03T00:00:00Z') },
      { user_id: bob.id, action: 'filter_probe_changed', resource_type: 'filter_probe_other', resource_id: 2, created_at: at('2027-03-04T00:00:00Z') },
    ];
    const ids = (await db.knex('audit_logs').insert(rows.map((r) => ({ ...r, details: '{}' }))).returning('id')).map((r: { id: number }) => Number(r.id));
    const repo = auditLogsRepository(db.knex);
    const match = async (f: Parameters<typeof repo.list>[0]) => {
      const { items, total } = await repo.list(f, all);
      expect(total).toBe(items.length);
      return items.map((e) => ids.indexOf(e.id));
    };

    expect(await match({ resource_type: 'filter_probe' })).toEqual([2, 1, 0]);
    expect(await match({ user_id: alice.id })).toEqual([1, 0]);
    expect(await match({ action: 'filter_probe_changed' })).toEqual([3, 2, 1]);
    expect(await match({ resource_type: 'filter_probe', resource_id: 2 })).toEqual([2]);
    expect(await match({ user_id: bob.id, action: 'filter_probe_changed', resource_type: 'filter_probe_other' })).toEqual([3]);
    expect(await match({ resource_type: 'filter_probe', from: at('2027-03-02T00:00:00Z') })).toEqual([2, 1]);
    expect(await match({ resource_type: 'filter_probe', to: at('2027-03-02T00:00:00Z') })).toEqual([0]);
    expect(await match({ action: 'filter_probe_changed', from: at('2027-03-02T00:00:00Z'), to: at('2027-03-04T00:00:00Z') })).toEqual([2, 1]);
    expect(await match({ action: 'no_such_action' })).toEqual([]);
  });

  it('when read a page at a time, then the pages follow each other and each knows the total', async () => {
    for (let i = 0; i < 5; i++) await recordAudit(db.knex, { actorId: null, action: `page_probe_${i}`, resourceType: 'page_probe', resourceId: i });
    const repo = auditLogsRepository(db.knex);
    const page = (n: number) => repo.list({ resource_type: 'page_probe' }, { page: n, per_page: 2 });
    const pages = [await page(1), await page(2), await page(3), await page(4)];
    expect(pages.map((p) => p.total)).toEqual([5, 5, 5, 5]);
    expect(pages.map((p) => p.items.map((e) => e.action))).toEqual([['page_probe_4', 'page_probe_3'], ['page_probe_2', 'page_probe_1'], ['page_probe_0'], []]);
  });
});
