import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import sharp from 'sharp';
import type { Response } from 'supertest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { AuditLogRecord } from '../../db/repositories/audit-logs.repository';
import { APP_VERSION } from '../../lib/version';
import { buildTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { createTimeSkippingEnv } from '../support/temporal';
import { signUp, signUpAdmin, uniqueEmail, type SignedIn } from '../support/users';

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function expectError(res: Response, status: number, code: string, field: string | null = null): void {
  expect({ status: res.status, body: res.body }).toEqual({
    status,
    body: {
      success: false,
      errors: [{ code, message: expect.any(String), field }],
      meta: { timestamp: expect.stringMatching(ISO_UTC), version: APP_VERSION, request_id: res.headers['x-request-id'] },
    },
  });
}

/** A caller-chosen request id (the API keeps ids that look sane). */
const requestId = (prefix = 'req') => `${prefix}-${randomBytes(8).toString('hex')}`;

/** Request ids with this prefix make the audit insert fail (see the trigger in beforeAll). */
const FAIL_PREFIX = 'fail-audit';

const png = (size: number) => sharp({ create: { width: size, height: size, channels: 3, background: { r: 1, g: 2, b: 3 } } }).png().toBuffer();

describe('audit log', () => {
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  let t: TestApp;
  let admin: SignedIn;
  const http = () => request(t.callback);

  const rowsFor = (where: Partial<AuditLogRecord>) => db.knex<AuditLogRecord>('audit_logs').where(where).orderBy('id', 'asc');
  const rowsByRequest = (id: string) => db.knex<AuditLogRecord>('audit_logs').where({ request_id: id }).orderBy('id', 'asc');
  const auditCount = async () => Number((await db.knex('audit_logs').count<{ count: string }[]>('* as count'))[0]!.count);
  /** The transaction that last wrote a row: equal for rows written in one transaction. */
  const xmin = async (table: string, id: number) => (await db.knex(table).where({ id }).first(db.knex.raw('xmin::text as x'))).x as string;

  beforeAll(async () => {
    [db, env] = await Promise.all([createTestDatabase(), createTimeSkippingEnv()]);
    t = await buildTestApp({ knex: db.knex, env });
    admin = await signUpAdmin(t, db.knex);
    // Lets a test make the audit write of one request fail, to see the change roll back with it.
    await db.knex.raw(`
      CREATE FUNCTION test_refuse_audit() RETURNS trigger AS $$
      BEGIN
        IF NEW.request_id LIKE '${FAIL_PREFIX}-%' THEN
          RAISE EXCEPTION 'audit insert refused by test trigger';
        END IF;
        RETURN NEW;
      END;
      $$ LANGUAGE plpgsql;
    `);
    await db.knex.raw('CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_logs FOR EACH ROW EXECUTE FUNCTION test_refuse_audit()');
  });

  afterAll(async () => {
    t?.cleanup();
    await Promise.all([db?.destroy(), env?.teardown()]);
  });

  describe('every state-changing request writes one entry with its request id', () => {
    it('when someone registers, then user_registered is recorded for the new user in the same transaction', async () => {
      const email = uniqueEmail('audit-reg');
      const rid = requestId();
      const res = await http().post('/api/v1/auth/register').set('X-Request-Id', rid).send({ full_name: 'Reggie', email, password: 'reg-pass-123', role: 'realtor' });
      expect(res.status).toBe(201);
      expect(res.headers['x-request-id']).toBe(rid);
      expect(res.body.meta.request_id).toBe(rid);
      const id = Number(res.body.data.id);
      const rows = await rowsByRequest(rid);
      expect(rows).toEqual([
        {
          id: expect.any(Number),
          user_id: id,
          action: 'user_registered',
          resource_type: 'user',
          resource_id: id,
          details: expect.any(String),
          request_id: rid,
          created_at: expect.any(Date),
        },
      ]);
      expect(JSON.parse(rows[0]!.details!)).toEqual({ role: 'realtor', email });
      expect(await xmin('audit_logs', rows[0]!.id)).toBe(await xmin('users', id));
    });

    it('when no request id is sent, then the generated X-Request-Id is the one recorded', async () => {
      const email = uniqueEmail('audit-gen');
      const res = await http().post('/api/v1/auth/register').send({ full_name: 'Gen', email, password: 'gen-pass-123' });
      expect(res.status).toBe(201);
      const rid = res.headers['x-request-id'] as string;
      expect(rid).toMatch(/^[0-9a-f-]{36}$/);
      const rows = await rowsFor({ resource_type: 'user', resource_id: Number(res.body.data.id) });
      expect(rows.map((r) => [r.action, r.request_id])).toEqual([['user_registered', rid]]);
    });

    it('when a user logs in and out, then user_logged_in and user_logged_out are recorded', async () => {
      const user = await signUp(t, 'buyer', 'Logger');
      const loginRid = requestId();
      const res = await http().post('/api/v1/auth/login').set('X-Request-Id', loginRid).send({ email: user.email, password: user.password });
      expect(res.status).toBe(200);
      expect(await rowsByRequest(loginRid)).toEqual([
        expect.objectContaining({ user_id: user.id, action: 'user_logged_in', resource_type: 'user', resource_id: user.id, details: '{}', request_id: loginRid }),
      ]);

      const logoutRid = requestId();
      const out = await http()
        .post('/api/v1/auth/logout')
        .set(user.auth)
        .set('X-Request-Id', logoutRid)
        .send({ refresh_token: res.body.data.attributes.refresh_token });
      expect(out.status).toBe(200);
      expect(await rowsByRequest(logoutRid)).toEqual([
        expect.objectContaining({ user_id: user.id, action: 'user_logged_out', resource_type: 'user', resource_id: user.id, request_id: logoutRid }),
      ]);
    });

    it('when a user changes their profile, then profile_updated records the changed field in the same transaction', async () => {
      const user = await signUp(t, 'buyer', 'Before Name');
      const rid = requestId();
      const res = await http().put('/api/v1/auth/me').set(user.auth).set('X-Request-Id', rid).send({ full_name: 'After Name' });
      expect(res.status).toBe(200);
      const rows = await rowsByRequest(rid);
      expect(rows).toEqual([expect.objectContaining({ user_id: user.id, action: 'profile_updated', resource_type: 'user', resource_id: user.id, request_id: rid })]);
      expect(JSON.parse(rows[0]!.details!)).toEqual({ changes: { full_name: { from: 'Before Name', to: 'After Name' } } });
      expect(await xmin('audit_logs', rows[0]!.id)).toBe(await xmin('users', user.id));

      // Sending the same name again changes nothing and records nothing.
      const same = requestId();
      expect((await http().put('/api/v1/auth/me').set(user.auth).set('X-Request-Id', same).send({ full_name: 'After Name' })).status).toBe(200);
      expect(await rowsByRequest(same)).toEqual([]);
    });

    it('when an admin changes a user, then user_updated by the admin records each changed field in the same transaction', async () => {
      const user = await signUp(t, 'buyer', 'Target One');
      const rid = requestId();
      const res = await http().put(`/api/v1/admin/users/${user.id}`).set(admin.auth).set('X-Request-Id', rid).send({ full_name: 'Target Renamed', role: 'realtor', disabled: false });
      expect(res.status).toBe(200);
      const rows = await rowsByRequest(rid);
      expect(rows).toEqual([expect.objectContaining({ user_id: admin.id, action: 'user_updated', resource_type: 'user', resource_id: user.id, request_id: rid })]);
      // `disabled: false` on an enabled user is not a change.
      expect(JSON.parse(rows[0]!.details!)).toEqual({
        changes: { full_name: { from: 'Target One', to: 'Target Renamed' }, role: { from: 'buyer', to: 'realtor' } },
      });
      expect(await xmin('audit_logs', rows[0]!.id)).toBe(await xmin('users', user.id));

      const disableRid = requestId();
      expect((await http().put(`/api/v1/admin/users/${user.id}`).set(admin.auth).set('X-Request-Id', disableRid).send({ disabled: true })).status).toBe(200);
      const disabledAt = (await db.knex('users').where({ id: user.id }).first()).disabled_at as Date;
      const disableRows = await rowsByRequest(disableRid);
      expect(disableRows).toHaveLength(1);
      expect(JSON.parse(disableRows[0]!.details!)).toEqual({ changes: { disabled_at: { from: null, to: disabledAt.toISOString() } } });
    });

    it('when an admin deletes a user, then user_deleted is recorded in the same transaction', async () => {
      const user = await signUp(t, 'realtor', 'Deleted One');
      const rid = requestId();
      expect((await http().delete(`/api/v1/admin/users/${user.id}`).set(admin.auth).set('X-Request-Id', rid)).status).toBe(204);
      const rows = await rowsByRequest(rid);
      expect(rows).toEqual([expect.objectContaining({ user_id: admin.id, action: 'user_deleted', resource_type: 'user', resource_id: user.id, request_id: rid })]);
      expect(JSON.parse(rows[0]!.details!)).toEqual({ email: user.email });
      expect(await xmin('audit_logs', rows[0]!.id)).toBe(await xmin('users', user.id));
    });

    it('when an admin sets an avatar, then user_avatar_updated records the old and new keys in the same transaction', async () => {
      const user = await signUp(t, 'buyer', 'Pictured');
      const first = requestId();
      const res1 = await http().post(`/api/v1/admin/users/${user.id}/avatar`).set(admin.auth).set('X-Request-Id', first).attach('avatar', await png(20), { filename: 'a.png', contentType: 'image/png' });
      expect(res1.status).toBe(200);
      const key1 = (await db.knex('users').where({ id: user.id }).first()).avatar_key as string;
      const rows1 = await rowsByRequest(first);
      expect(rows1).toEqual([expect.objectContaining({ user_id: admin.id, action: 'user_avatar_updated', resource_type: 'user', resource_id: user.id, request_id: first })]);
      expect(JSON.parse(rows1[0]!.details!)).toEqual({ avatar_key: { from: null, to: key1 } });
      expect(await xmin('audit_logs', rows1[0]!.id)).toBe(await xmin('users', user.id));

      const second = requestId();
      const res2 = await http().post(`/api/v1/admin/users/${user.id}/avatar`).set(admin.auth).set('X-Request-Id', second).attach('avatar', await png(30), { filename: 'b.png', contentType: 'image/png' });
      expect(res2.status).toBe(200);
      const key2 = (await db.knex('users').where({ id: user.id }).first()).avatar_key as string;
      const rows2 = await rowsByRequest(second);
      expect(JSON.parse(rows2[0]!.details!)).toEqual({ avatar_key: { from: key1, to: key2 } });
    });

    it('when a request is refused or only reads, then nothing is recorded', async () => {
      const buyer = await signUp(t, 'buyer', 'Refused');
      const before = await auditCount();
      const refused: Response[] = [
        await http().put(`/api/v1/admin/users/${buyer.id}`).set(admin.auth).send({ email: 'x@example.com' }),
        await http().put(`/api/v1/admin/users/${buyer.id}`).set(buyer.auth).send({ role: 'admin' }),
        await http().put(`/api/v1/admin/users/${admin.id}`).set(admin.auth).send({ role: 'buyer' }),
        await http().delete(`/api/v1/admin/users/${admin.id}`).set(admin.auth),
        await http().put('/api/v1/admin/users/999999').set(admin.auth).send({ full_name: 'Nobody' }),
        await http().post(`/api/v1/admin/users/${buyer.id}/avatar`).set(admin.auth).attach('avatar', Buffer.from('<svg/>'), { filename: 'a.svg', contentType: 'image/svg+xml' }),
        await http().put('/api/v1/auth/me').set(buyer.auth).send({ full_name: '' }),
        await http().post('/api/v1/auth/register').send({ full_name: 'Dup', email: buyer.email, password: 'dup-pass-123' }),
        await http().get('/api/v1/auth/me').set(buyer.auth),
        await http().get(`/api/v1/admin/users/${buyer.id}`).set(admin.auth),
        await http().get('/api/v1/admin/users').set(admin.auth),
        await http().get('/api/v1/admin/audit_logs').set(admin.auth),
      ];
      expect(refused.map((r) => r.status)).toEqual([400, 403, 409, 409, 404, 415, 400, 409, 200, 200, 200, 200]);
      expect(await auditCount()).toBe(before);
    });
  });

  describe('the change and its entry commit or roll back together', () => {
    it('when the audit write of an admin change fails, then 500 and neither the row nor the identity provider changed', async () => {
      const user = await signUp(t, 'buyer', 'Atomic Target');
      const userBefore = await db.knex('users').where({ id: user.id }).first();
      const idpBefore = await db.knex('local_identity_users').whereRaw('lower(email) = ?', [user.email]).first();
      const before = await auditCount();

      for (const body of [{ role: 'realtor' }, { disabled: true }, { full_name: 'Never Saved', role: 'admin', disabled: true }]) {
        const res = await http().put(`/api/v1/admin/users/${user.id}`).set(admin.auth).set('X-Request-Id', requestId(FAIL_PREFIX)).send(body);
        expectError(res, 500, 'INTERNAL_ERROR');
        expect(JSON.stringify(res.body.errors)).not.toMatch(/audit|trigger|insert|select|refused|at /i);
      }
      const del = await http().delete(`/api/v1/admin/users/${user.id}`).set(admin.auth).set('X-Request-Id', requestId(FAIL_PREFIX));
      expectError(del, 500, 'INTERNAL_ERROR');

      expect(await db.knex('users').where({ id: user.id }).first()).toEqual(userBefore);
      expect(await db.knex('local_identity_users').whereRaw('lower(email) = ?', [user.email]).first()).toEqual(idpBefore);
      expect(await auditCount()).toBe(before);
      // The account still works, with its old role.
      const me = await http().get('/api/v1/auth/me').set(user.auth);
      expect(me.status).toBe(200);
      expect(me.body.data.attributes.role).toBe('buyer');
      expect((await http().post('/api/v1/auth/refresh').send({ refresh_token: user.refreshToken })).status).toBe(200);
    });

    it('when the audit write of an avatar upload fails, then 500, the old avatar stays and no new file is left behind', async () => {
      const user = await signUp(t, 'buyer', 'Atomic Avatar');
      expect((await http().post(`/api/v1/admin/users/${user.id}/avatar`).set(admin.auth).attach('avatar', await png(16), { filename: 'a.png', contentType: 'image/png' })).status).toBe(200);
      const keyBefore = (await db.knex('users').where({ id: user.id }).first()).avatar_key as string;

      const res = await http()
        .post(`/api/v1/admin/users/${user.id}/avatar`)
        .set(admin.auth)
        .set('X-Request-Id', requestId(FAIL_PREFIX))
        .attach('avatar', await png(24), { filename: 'b.png', contentType: 'image/png' });
      expectError(res, 500, 'INTERNAL_ERROR');
      expect((await db.knex('users').where({ id: user.id }).first()).avatar_key).toBe(keyBefore);
      const dir = path.join(t.config.storage.localDir, 'avatars', String(user.id));
      expect(existsSync(dir) ? readdirSync(dir).filter((f) => !f.endsWith('.meta.json')) : []).toEqual([path.basename(keyBefore)]);
    });

    it('when the audit write of a profile change or a registration fails, then 500 and nothing is saved', async () => {
      const user = await signUp(t, 'buyer', 'Atomic Profile');
      const res = await http().put('/api/v1/auth/me').set(user.auth).set('X-Request-Id', requestId(FAIL_PREFIX)).send({ full_name: 'Not Saved' });
      expectError(res, 500, 'INTERNAL_ERROR');
      expect((await db.knex('users').where({ id: user.id }).first()).full_name).toBe('Atomic Profile');

      const email = uniqueEmail('atomic-reg');
      const reg = await http().post('/api/v1/auth/register').set('X-Request-Id', requestId(FAIL_PREFIX)).send({ full_name: 'Not Registered', email, password: 'atomic-pass-1' });
      expectError(reg, 500, 'INTERNAL_ERROR');
      expect(await db.knex('users').where({ email }).first()).toBeUndefined();
    });
  });

  describe('append-only at the database level', () => {
    beforeAll(async () => {
      // Rows to protect (the guard itself is per statement, so it fires even on none).
      await signUp(t, 'buyer', 'Row Maker');
    });

    it.each([
      ['UPDATE', `UPDATE audit_logs SET action = 'tampered'`],
      ['UPDATE one row', `UPDATE audit_logs SET details = '{}' WHERE id = (SELECT max(id) FROM audit_logs)`],
      ['DELETE', 'DELETE FROM audit_logs'],
      ['DELETE one row', 'DELETE FROM audit_logs WHERE id = (SELECT min(id) FROM audit_logs)'],
      ['TRUNCATE', 'TRUNCATE audit_logs'],
      ['TRUNCATE CASCADE', 'TRUNCATE audit_logs CASCADE'],
      ['UPDATE matching no row', `UPDATE audit_logs SET action = 'tampered' WHERE id = -1`],
      ['DELETE matching no row', 'DELETE FROM audit_logs WHERE id = -1'],
    ])('when %s is run, then it fails and every row is kept as it was', async (_name, sql) => {
      const before = await db.knex('audit_logs').orderBy('id');
      expect(before.length).toBeGreaterThan(1);
      await expect(db.knex.raw(sql)).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/append-only/) });
      expect(await db.knex('audit_logs').orderBy('id')).toEqual(before);
    });

    it('when an update is tried inside a transaction with other work, then the whole transaction fails', async () => {
      const user = await signUp(t, 'buyer', 'Trx Victim');
      await expect(
        db.knex.transaction(async (trx) => {
          await trx('users').where({ id: user.id }).update({ full_name: 'Covered Up' });
          await trx('audit_logs').where({ resource_id: user.id }).update({ details: '{}' });
        }),
      ).rejects.toMatchObject({ code: '42501' });
      expect((await db.knex('users').where({ id: user.id }).first()).full_name).toBe('Trx Victim');
    });
  });

  describe('GET /api/v1/admin/audit_logs', () => {
    const probe = `probe_${randomBytes(4).toString('hex')}`;
    const timeProbe = `${probe}_time`;
    const pageProbe = `${probe}_page`;
    const insert = (rows: Array<Partial<AuditLogRecord>>) => db.knex('audit_logs').insert(rows).returning<Array<{ id: number }>>('id');
    const list = (query: Record<string, string | number>, as: SignedIn = admin) => http().get('/api/v1/admin/audit_logs').query(query).set(as.auth);
    const ids = (res: Response) => res.body.data.map((a: { id: string }) => Number(a.id));

    let timeIds: number[];
    let pageIds: number[];

    beforeAll(async () => {
      timeIds = (
        await insert([
          { action: timeProbe, resource_type: 'probe', resource_id: 1, details: '{}', created_at: new Date('2020-01-01T00:00:00Z') },
          { action: timeProbe, resource_type: 'probe', resource_id: 2, details: '{}', created_at: new Date('2020-01-02T00:00:00Z') },
          { action: timeProbe, resource_type: 'probe', resource_id: 3, details: '{}', created_at: new Date('2020-01-03T00:00:00Z') },
        ])
      ).map((r) => r.id);
      // Same timestamp for all: order falls back to id, newest first.
      const at = new Date('2021-06-01T12:00:00Z');
      pageIds = (await insert([1, 2, 3, 4, 5].map((n) => ({ action: pageProbe, resource_type: 'probe', resource_id: n, details: '{}', created_at: at })))).map((r) => r.id);
    });

    it('when there is no token, then 401; when a buyer or realtor asks, then 403', async () => {
      expectError(await http().get('/api/v1/admin/audit_logs'), 401, 'UNAUTHORIZED');
      expectError(await list({}, await signUp(t, 'buyer')), 403, 'FORBIDDEN');
      expectError(await list({}, await signUp(t, 'realtor')), 403, 'FORBIDDEN');
    });

    it('when an admin lists entries for a resource, then each is an audit_log resource in the list envelope, newest first', async () => {
      const user = await signUp(t, 'buyer', 'Listed');
      const rid = requestId();
      expect((await http().put(`/api/v1/admin/users/${user.id}`).set(admin.auth).set('X-Request-Id', rid).send({ role: 'realtor' })).status).toBe(200);
      const rows = await rowsFor({ resource_type: 'user', resource_id: user.id });
      expect(rows.map((r) => r.action)).toEqual(['user_registered', 'user_logged_in', 'user_updated']);

      const res = await list({ resource_type: 'user', resource_id: user.id });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        success: true,
        data: [...rows].reverse().map((r) => ({
          id: String(r.id),
          type: 'audit_log',
          attributes: {
            user_id: r.user_id,
            action: r.action,
            resource_type: 'user',
            resource_id: user.id,
            details: JSON.parse(r.details!),
            request_id: r.request_id,
            created_at: r.created_at.toISOString(),
          },
        })),
        meta: {
          timestamp: expect.stringMatching(ISO_UTC),
          version: APP_VERSION,
          request_id: res.headers['x-request-id'],
          current_page: 1,
          per_page: 20,
          total_pages: 1,
          total_count: 3,
        },
      });
      expect(res.body.data[0].attributes).toMatchObject({ user_id: admin.id, action: 'user_updated', request_id: rid, details: { changes: { role: { from: 'buyer', to: 'realtor' } } } });
    });

    it('when filtering by user_id and action, then only that actor’s entries of that action come back', async () => {
      const user = await signUp(t, 'buyer', 'Actor');
      expect((await http().put('/api/v1/auth/me').set(user.auth).send({ full_name: 'Actor Renamed' })).status).toBe(200);
      expect((await http().put(`/api/v1/admin/users/${user.id}`).set(admin.auth).send({ full_name: 'By Admin' })).status).toBe(200);

      const mine = await list({ user_id: user.id });
      expect(mine.body.data.map((a: { attributes: { action: string } }) => a.attributes.action)).toEqual(['profile_updated', 'user_logged_in', 'user_registered']);
      expect(mine.body.data.every((a: { attributes: { user_id: number } }) => a.attributes.user_id === user.id)).toBe(true);
      expect(mine.body.meta.total_count).toBe(3);

      const logins = await list({ user_id: user.id, action: 'user_logged_in' });
      expect(logins.body.data).toHaveLength(1);
      expect(logins.body.data[0].attributes).toMatchObject({ action: 'user_logged_in', user_id: user.id, resource_id: user.id });

      const byAdmin = await list({ user_id: admin.id, action: 'user_updated', resource_id: user.id });
      expect(byAdmin.body.data).toHaveLength(1);
      expect(byAdmin.body.data[0].attributes.details).toEqual({ changes: { full_name: { from: 'Actor Renamed', to: 'By Admin' } } });

      expect((await list({ user_id: user.id, action: 'user_deleted' })).body).toMatchObject({ data: [], meta: { total_count: 0, total_pages: 0 } });
    });

    it('when filtering by resource_type, then other types are left out', async () => {
      const res = await list({ resource_type: 'probe', per_page: 100 });
      expect(res.status).toBe(200);
      expect(res.body.data.every((a: { attributes: { resource_type: string } }) => a.attributes.resource_type === 'probe')).toBe(true);
      expect(ids(res).sort((a: number, b: number) => a - b)).toEqual([...timeIds, ...pageIds]);
      expect((await list({ resource_type: 'probe', resource_id: 2 })).body.data.map((a: { attributes: { action: string } }) => a.attributes.action)).toEqual([pageProbe, timeProbe]);
    });

    it('when filtering by from and to, then from is inclusive, to is exclusive and offsets are honoured', async () => {
      const [jan1, jan2, jan3] = timeIds as [number, number, number];
      expect(ids(await list({ action: timeProbe, from: '2020-01-02T00:00:00Z' }))).toEqual([jan3, jan2]);
      expect(ids(await list({ action: timeProbe, to: '2020-01-02T00:00:00Z' }))).toEqual([jan1]);
      expect(ids(await list({ action: timeProbe, from: '2020-01-02T00:00:00Z', to: '2020-01-03T00:00:00Z' }))).toEqual([jan2]);
      expect(ids(await list({ action: timeProbe, from: '2020-01-02T01:00:00+01:00', to: '2020-01-02T19:00:00-05:00' }))).toEqual([jan2]);
      expect(ids(await list({ action: timeProbe, from: '2020-01-01T00:00:00.001Z' }))).toEqual([jan3, jan2]);
      expect(ids(await list({ action: timeProbe, from: '2020-01-02T00:00:00Z', to: '2020-01-02T00:00:00Z' }))).toEqual([]);
    });

    it('when paging, then pages hold per_page entries newest first and meta counts them', async () => {
      const newestFirst = [...pageIds].reverse();
      const p1 = await list({ action: pageProbe, per_page: 2 });
      const p2 = await list({ action: pageProbe, per_page: 2, page: 2 });
      const p3 = await list({ action: pageProbe, per_page: 2, page: 3 });
      expect(p1.body.meta).toMatchObject({ current_page: 1, per_page: 2, total_pages: 3, total_count: 5 });
      expect(p3.body.meta).toMatchObject({ current_page: 3, per_page: 2, total_pages: 3, total_count: 5 });
      expect([...ids(p1), ...ids(p2), ...ids(p3)]).toEqual(newestFirst);
      const big = await list({ per_page: 1000 });
      expect(big.status).toBe(200);
      expect(big.body.meta.per_page).toBe(100);
      expect(big.body.data.length).toBe(Math.min(100, await auditCount()));
    });

    it('when a filter is malformed or unknown, then 400 names it', async () => {
      const cases: Array<[Record<string, string>, string]> = [
        [{ user_id: 'abc' }, 'user_id'],
        [{ user_id: '0' }, 'user_id'],
        [{ user_id: '1.5' }, 'user_id'],
        [{ resource_id: '-1' }, 'resource_id'],
        [{ action: '' }, 'action'],
        [{ action: 'x'.repeat(101) }, 'action'],
        [{ resource_type: 'x'.repeat(51) }, 'resource_type'],
        [{ from: 'yesterday' }, 'from'],
        [{ from: '2020-13-01T00:00:00Z' }, 'from'],
        [{ to: '2020-01-01 00:00' }, 'to'],
        [{ to: '1577836800' }, 'to'],
        [{ from: '2020-01-03T00:00:00Z', to: '2020-01-02T00:00:00Z' }, 'from'],
        [{ page: '0' }, 'page'],
        [{ per_page: 'lots' }, 'per_page'],
        [{ actor: '1' }, 'actor'],
      ];
      for (const [query, field] of cases) {
        const res = await list(query);
        expectError(res, 400, 'VALIDATION_ERROR', field);
      }
    });
  });
});
