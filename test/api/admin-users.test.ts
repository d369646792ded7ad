import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import sharp from 'sharp';
import type { Response } from 'supertest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { APP_VERSION } from '../../lib/version';
import { buildTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { createTimeSkippingEnv } from '../support/temporal';
import { login, signUp, signUpAdmin, type SignedIn } from '../support/users';

const AVATAR_MAX_BYTES = 64 * 1024;
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

interface ErrorItem {
  code: string;
  message: string;
  field: string | null;
}

function claimsOf(accessToken: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

/** Asserts the error envelope: exactly one error with this code and field. */
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

function binary(res: NodeJS.EventEmitter, done: (err: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
  res.on('end', () => done(null, Buffer.concat(chunks)));
}

const solidPng = (width: number, height: number, r = 200, g = 40, b = 40) =>
  sharp({ create: { width, height, channels: 3, background: { r, g, b } } }).png().toBuffer();

/** Random pixels compress badly: a PNG or JPEG of a predictable, large size. */
const noise = (width: number, height: number) => sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } });

describe('admin user management over HTTP', () => {
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  let t: TestApp;
  let admin: SignedIn;
  const http = () => request(t.callback);

  /** The avatar files (not their sidecars) the local storage holds for a user. */
  function storedAvatars(userId: number | string): string[] {
    const dir = path.join(t.config.storage.localDir, 'avatars', String(userId));
    if (!existsSync(dir)) return [];
    return readdirSync(dir).filter((f) => !f.endsWith('.meta.json'));
  }

  function uploadAvatar(userId: number | string, file: Buffer, filename: string, contentType: string, as: SignedIn = admin) {
    return http().post(`/api/v1/admin/users/${userId}/avatar`).set(as.auth).attach('avatar', file, { filename, contentType });
  }

  async function fetchFile(url: string) {
    const u = new URL(url);
    return http().get(u.pathname + u.search).buffer(true).parse(binary);
  }

  beforeAll(async () => {
    [db, env] = await Promise.all([createTestDatabase(), createTimeSkippingEnv()]);
    t = await buildTestApp({ knex: db.knex, env, config: { AVATAR_MAX_BYTES: String(AVATAR_MAX_BYTES) } });
    admin = await signUpAdmin(t, db.knex);
  });

  afterAll(async () => {
    t?.cleanup();
    await Promise.all([db?.destroy(), env?.teardown()]);
  });

  describe('access', () => {
    const routes: Array<['get' | 'put' | 'delete' | 'post', string]> = [
      ['get', '/api/v1/admin/users'],
      ['get', '/api/v1/admin/users/1'],
      ['put', '/api/v1/admin/users/1'],
      ['delete', '/api/v1/admin/users/1'],
      ['post', '/api/v1/admin/users/1/avatar'],
    ];

    it('when no token or a bad token is sent, then every admin user route is 401 with one body whatever the reason', async () => {
      const bodies: unknown[] = [];
      for (const [method, url] of routes) {
        for (const header of [undefined, 'Bearer not.a.jwt', 'Basic YWRtaW46YWRtaW4=', `Bearer ${admin.accessToken.slice(0, -4)}AAAA`]) {
          const req = http()[method](url);
          const res = await (header ? req.set('Authorization', header) : req);
          expectError(res, 401, 'UNAUTHORIZED');
          expect(res.headers['www-authenticate']).toBe('Bearer');
          bodies.push(res.body.errors);
        }
      }
      expect(new Set(bodies.map((b) => JSON.stringify(b))).size).toBe(1);
    });

    it('when a buyer or a realtor calls an admin user route, then 403 FORBIDDEN and nothing changes', async () => {
      const buyer = await signUp(t, 'buyer', 'Nosy Buyer');
      const realtor = await signUp(t, 'realtor', 'Nosy Realtor');
      for (const who of [buyer, realtor]) {
        for (const [method, url] of routes) {
          const target = url.replace('/1', `/${buyer.id}`);
          const req = http()[method](target).set(who.auth);
          const res = await (method === 'put' ? req.send({ role: 'admin' }) : req);
          expectError(res, 403, 'FORBIDDEN');
        }
      }
      const row = await db.knex('users').where({ id: buyer.id }).first();
      expect(row).toMatchObject({ role: 'buyer', disabled_at: null, deleted_at: null, avatar_key: null });
    });
  });

  describe('GET /api/v1/admin/users', () => {
    // A marker no other test uses, so searches see only this block's users.
    const marker = `Zq${randomBytes(3).toString('hex')}`;
    let users: SignedIn[];

    beforeAll(async () => {
      users = [
        await signUp(t, 'buyer', `${marker} Alice Buyer`),
        await signUp(t, 'buyer', `${marker} Bob Buyer`),
        await signUp(t, 'realtor', `${marker} Carol Realtor`),
        await signUp(t, 'realtor', `${marker} Dave Realtor`),
        await signUp(t, 'buyer', `${marker} Erin 100% Buyer`),
      ];
      const disabled = await http().put(`/api/v1/admin/users/${users[3]!.id}`).set(admin.auth).send({ disabled: true });
      expect(disabled.status).toBe(200);
    });

    const ids = (res: Response) => res.body.data.map((u: { id: string }) => Number(u.id));

    it('when an admin lists with q, then users whose name matches case-insensitively come back in the list envelope', async () => {
      const res = await http().get('/api/v1/admin/users').query({ q: marker.toLowerCase() }).set(admin.auth);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        success: true,
        data: expect.any(Array),
        meta: {
          timestamp: expect.stringMatching(ISO_UTC),
          version: APP_VERSION,
          request_id: res.headers['x-request-id'],
          current_page: 1,
          per_page: 20,
          total_pages: 1,
          total_count: 5,
        },
      });
      expect(ids(res)).toEqual(users.map((u) => u.id));
      expect(res.body.data[0]).toEqual({
        id: String(users[0]!.id),
        type: 'user',
        attributes: {
          full_name: `${marker} Alice Buyer`,
          email: users[0]!.email,
          role: 'buyer',
          avatar_url: null,
          disabled: false,
          created_at: expect.stringMatching(ISO_UTC),
          updated_at: expect.stringMatching(ISO_UTC),
        },
      });
      expect(res.body.data[3].attributes.disabled).toBe(true);
    });

    it('when q is part of an email, then it matches the email', async () => {
      const local = users[2]!.email.split('@')[0]!;
      const res = await http().get('/api/v1/admin/users').query({ q: local.toUpperCase() }).set(admin.auth);
      expect(res.status).toBe(200);
      expect(ids(res)).toEqual([users[2]!.id]);
    });

    it('when q holds LIKE wildcards, then they match literally', async () => {
      const percent = await http().get('/api/v1/admin/users').query({ q: `${marker} Erin 100%` }).set(admin.auth);
      expect(ids(percent)).toEqual([users[4]!.id]);
      const wildcard = await http().get('/api/v1/admin/users').query({ q: `${marker}%Buyer` }).set(admin.auth);
      expect(wildcard.status).toBe(200);
      expect(ids(wildcard)).toEqual([]);
      const underscore = await http().get('/api/v1/admin/users').query({ q: `${marker}_Alice` }).set(admin.auth);
      expect(ids(underscore)).toEqual([]);
    });

    it('when role and status filters are given, then only users with that role and status are listed', async () => {
      const realtors = await http().get('/api/v1/admin/users').query({ q: marker, role: 'realtor' }).set(admin.auth);
      expect(ids(realtors)).toEqual([users[2]!.id, users[3]!.id]);
      const activeRealtors = await http().get('/api/v1/admin/users').query({ q: marker, role: 'realtor', status: 'active' }).set(admin.auth);
      expect(ids(activeRealtors)).toEqual([users[2]!.id]);
      const disabled = await http().get('/api/v1/admin/users').query({ q: marker, status: 'disabled' }).set(admin.auth);
      expect(ids(disabled)).toEqual([users[3]!.id]);
      const buyers = await http().get('/api/v1/admin/users').query({ q: marker, role: 'buyer' }).set(admin.auth);
      expect(ids(buyers)).toEqual([users[0]!.id, users[1]!.id, users[4]!.id]);
      const admins = await http().get('/api/v1/admin/users').query({ role: 'admin' }).set(admin.auth);
      expect(admins.body.data.every((u: { attributes: { role: string } }) => u.attributes.role === 'admin')).toBe(true);
      expect(ids(admins)).toContain(admin.id);
    });

    it('when paging, then pages hold per_page users in id order and meta counts them', async () => {
      const page1 = await http().get('/api/v1/admin/users').query({ q: marker, per_page: 2 }).set(admin.auth);
      const page2 = await http().get('/api/v1/admin/users').query({ q: marker, per_page: 2, page: 2 }).set(admin.auth);
      const page3 = await http().get('/api/v1/admin/users').query({ q: marker, per_page: 2, page: 3 }).set(admin.auth);
      const page4 = await http().get('/api/v1/admin/users').query({ q: marker, per_page: 2, page: 4 }).set(admin.auth);
      expect(page1.body.meta).toMatchObject({ current_page: 1, per_page: 2, total_pages: 3, total_count: 5 });
      expect(page3.body.meta).toMatchObject({ current_page: 3, per_page: 2, total_pages: 3, total_count: 5 });
      expect([...ids(page1), ...ids(page2), ...ids(page3)]).toEqual(users.map((u) => u.id));
      expect(ids(page3)).toHaveLength(1);
      expect(page4.status).toBe(200);
      expect(page4.body.data).toEqual([]);
      expect(page4.body.meta).toMatchObject({ current_page: 4, total_count: 5 });
    });

    it('when per_page is above 100, then it is capped at 100', async () => {
      const res = await http().get('/api/v1/admin/users').query({ per_page: 1000 }).set(admin.auth);
      expect(res.status).toBe(200);
      expect(res.body.meta.per_page).toBe(100);
      const total = (await db.knex('users').whereNull('deleted_at').count<{ count: string }[]>('* as count'))[0]!.count;
      expect(res.body.meta.total_count).toBe(Number(total));
      expect(res.body.meta.total_pages).toBe(Math.ceil(Number(total) / 100));
    });

    it('when a query parameter is malformed or unknown, then 400 names it', async () => {
      const cases: Array<[Record<string, string>, string]> = [
        [{ page: '0' }, 'page'],
        [{ page: 'two' }, 'page'],
        [{ per_page: '0' }, 'per_page'],
        [{ per_page: '1.5' }, 'per_page'],
        [{ role: 'king' }, 'role'],
        [{ status: 'banned' }, 'status'],
        [{ q: 'x'.repeat(201) }, 'q'],
        [{ sort: 'email' }, 'sort'],
      ];
      for (const [query, field] of cases) {
        const res = await http().get('/api/v1/admin/users').query(query).set(admin.auth);
        expectError(res, 400, 'VALIDATION_ERROR', field);
      }
    });
  });

  describe('GET /api/v1/admin/users/:id', () => {
    it('when an admin reads a user, then the user resource comes back', async () => {
      const buyer = await signUp(t, 'buyer', 'Read Me');
      const res = await http().get(`/api/v1/admin/users/${buyer.id}`).set(admin.auth);
      const row = await db.knex('users').where({ id: buyer.id }).first();
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        success: true,
        data: {
          id: String(buyer.id),
          type: 'user',
          attributes: {
            full_name: 'Read Me',
            email: buyer.email,
            role: 'buyer',
            avatar_url: null,
            disabled: false,
            created_at: row.created_at.toISOString(),
            updated_at: row.updated_at.toISOString(),
          },
        },
        meta: { timestamp: expect.stringMatching(ISO_UTC), version: APP_VERSION, request_id: res.headers['x-request-id'] },
      });
    });

    it('when the id does not exist, then 404; when it is not a positive integer, then 400 on id', async () => {
      expectError(await http().get('/api/v1/admin/users/999999').set(admin.auth), 404, 'NOT_FOUND');
      expectError(await http().get('/api/v1/admin/users/abc').set(admin.auth), 400, 'VALIDATION_ERROR', 'id');
      expectError(await http().get('/api/v1/admin/users/0').set(admin.auth), 400, 'VALIDATION_ERROR', 'id');
    });
  });

  describe('PUT /api/v1/admin/users/:id', () => {
    it('when an admin changes full_name and role, then the response and the row show the change', async () => {
      const buyer = await signUp(t, 'buyer', 'Old Name');
      const res = await http().put(`/api/v1/admin/users/${buyer.id}`).set(admin.auth).send({ full_name: '  New Name  ', role: 'realtor' });
      expect(res.status).toBe(200);
      expect(res.body.data).toMatchObject({ id: String(buyer.id), type: 'user', attributes: { full_name: 'New Name', role: 'realtor', disabled: false } });
      const row = await db.knex('users').where({ id: buyer.id }).first();
      expect(row).toMatchObject({ full_name: 'New Name', role: 'realtor', disabled_at: null });
    });

    it('when the body carries an unknown field, then 400 names exactly that field and nothing changes', async () => {
      const buyer = await signUp(t, 'buyer', 'Mass Assign');
      for (const extra of [{ email: 'evil@example.com' }, { cognito_sub: 'x' }, { deleted_at: null }, { id: 1 }, { avatar_key: 'avatars/1/x.webp' }]) {
        const res = await http().put(`/api/v1/admin/users/${buyer.id}`).set(admin.auth).send(extra);
        expect(res.status).toBe(400);
        expect(res.body.errors).toEqual([{ code: 'VALIDATION_ERROR', message: expect.stringContaining(Object.keys(extra)[0]!), field: Object.keys(extra)[0] }]);
        const withValid = await http().put(`/api/v1/admin/users/${buyer.id}`).set(admin.auth).send({ full_name: 'Changed', ...extra });
        expect(withValid.status).toBe(400);
        expect(withValid.body.errors.map((e: ErrorItem) => e.field)).toEqual(Object.keys(extra));
      }
      const row = await db.knex('users').where({ id: buyer.id }).first();
      expect(row).toMatchObject({ full_name: 'Mass Assign', email: buyer.email, role: 'buyer', deleted_at: null, avatar_key: null });
    });

    it('when the body is empty or a value is invalid, then 400 and nothing changes', async () => {
      const buyer = await signUp(t, 'buyer', 'Valid Name');
      expectError(await http().put(`/api/v1/admin/users/${buyer.id}`).set(admin.auth).send({}), 400, 'VALIDATION_ERROR');
      const cases: Array<[object, string]> = [
        [{ full_name: '   ' }, 'full_name'],
        [{ full_name: 'x'.repeat(256) }, 'full_name'],
        [{ full_name: 42 }, 'full_name'],
        [{ role: 'superuser' }, 'role'],
        [{ disabled: 'yes' }, 'disabled'],
        [{ disabled: null }, 'disabled'],
      ];
      for (const [body, field] of cases) {
        expectError(await http().put(`/api/v1/admin/users/${buyer.id}`).set(admin.auth).send(body), 400, 'VALIDATION_ERROR', field);
      }
      expect(await db.knex('users').where({ id: buyer.id }).first()).toMatchObject({ full_name: 'Valid Name', role: 'buyer', disabled_at: null });
    });

    it('when the user does not exist, then 404', async () => {
      expectError(await http().put('/api/v1/admin/users/999999').set(admin.auth).send({ full_name: 'Ghost' }), 404, 'NOT_FOUND');
    });

    it('when a buyer is made admin, then their next request with the same token is authorized as admin, and a new login carries the admin group', async () => {
      const buyer = await signUp(t, 'buyer', 'Rising Star');
      expectError(await http().get('/api/v1/admin/users').set(buyer.auth), 403, 'FORBIDDEN');
      expect(claimsOf(buyer.accessToken)['cognito:groups']).toEqual(['buyer']);

      const promote = await http().put(`/api/v1/admin/users/${buyer.id}`).set(admin.auth).send({ role: 'admin' });
      expect(promote.status).toBe(200);
      expect(promote.body.data.attributes.role).toBe('admin');

      const nowAdmin = await http().get('/api/v1/admin/users').set(buyer.auth);
      expect(nowAdmin.status).toBe(200);
      const me = await http().get('/api/v1/auth/me').set(buyer.auth);
      expect(me.body.data.attributes.role).toBe('admin');

      const idp = await db.knex('local_identity_users').whereRaw('lower(email) = ?', [buyer.email]).first();
      expect(idp.groups).toEqual(['admin']);
      const fresh = await login(t, buyer.email, buyer.password);
      expect(claimsOf(fresh.accessToken)['cognito:groups']).toEqual(['admin']);

      // And back down again: the very next request is refused.
      const demote = await http().put(`/api/v1/admin/users/${buyer.id}`).set(admin.auth).send({ role: 'realtor' });
      expect(demote.status).toBe(200);
      expectError(await http().get('/api/v1/admin/users').set(fresh.auth), 403, 'FORBIDDEN');
      const again = await login(t, buyer.email, buyer.password);
      expect(claimsOf(again.accessToken)['cognito:groups']).toEqual(['realtor']);
    });

    it('when an admin disables a user, then their still-valid token and refresh token are refused and they cannot log in; enabling lets them back', async () => {
      const buyer = await signUp(t, 'buyer', 'Soon Disabled');
      expect((await http().get('/api/v1/auth/me').set(buyer.auth)).status).toBe(200);

      const res = await http().put(`/api/v1/admin/users/${buyer.id}`).set(admin.auth).send({ disabled: true });
      expect(res.status).toBe(200);
      expect(res.body.data.attributes.disabled).toBe(true);
      const row = await db.knex('users').where({ id: buyer.id }).first();
      expect(row.disabled_at).toBeInstanceOf(Date);
      expect(row.deleted_at).toBeNull();
      const idp = await db.knex('local_identity_users').whereRaw('lower(email) = ?', [buyer.email]).first();
      expect(idp.enabled).toBe(false);

      const me = await http().get('/api/v1/auth/me').set(buyer.auth);
      expectError(me, 401, 'UNAUTHORIZED');
      const bogus = await http().get('/api/v1/auth/me').set('Authorization', 'Bearer a.b.c');
      expect(me.body.errors).toEqual(bogus.body.errors);
      expectError(await http().put('/api/v1/auth/me').set(buyer.auth).send({ full_name: 'Sneaky' }), 401, 'UNAUTHORIZED');
      expectError(await http().post('/api/v1/auth/login').send({ email: buyer.email, password: buyer.password }), 401, 'UNAUTHORIZED');
      expectError(await http().post('/api/v1/auth/refresh').send({ refresh_token: buyer.refreshToken }), 401, 'UNAUTHORIZED');
      expect((await db.knex('users').where({ id: buyer.id }).first()).full_name).toBe('Soon Disabled');

      // Disabling twice keeps the first time.
      const twice = await http().put(`/api/v1/admin/users/${buyer.id}`).set(admin.auth).send({ disabled: true });
      expect(twice.status).toBe(200);
      expect((await db.knex('users').where({ id: buyer.id }).first()).disabled_at).toEqual(row.disabled_at);

      const enable = await http().put(`/api/v1/admin/users/${buyer.id}`).set(admin.auth).send({ disabled: false });
      expect(enable.status).toBe(200);
      expect(enable.body.data.attributes.disabled).toBe(false);
      expect((await db.knex('users').where({ id: buyer.id }).first()).disabled_at).toBeNull();
      const back = await login(t, buyer.email, buyer.password);
      expect((await http().get('/api/v1/auth/me').set(back.auth)).status).toBe(200);
    });

    it('when an admin tries to disable or demote themselves, then 409 on that field and nothing changes', async () => {
      const self = await signUpAdmin(t, db.knex);
      const before = await db.knex('users').where({ id: self.id }).first();
      expectError(await http().put(`/api/v1/admin/users/${self.id}`).set(self.auth).send({ disabled: true }), 409, 'CONFLICT', 'disabled');
      for (const role of ['buyer', 'realtor']) {
        expectError(await http().put(`/api/v1/admin/users/${self.id}`).set(self.auth).send({ role }), 409, 'CONFLICT', 'role');
      }
      // A harmless change in the same body does not sneak through.
      expectError(await http().put(`/api/v1/admin/users/${self.id}`).set(self.auth).send({ full_name: 'Renamed', role: 'buyer' }), 409, 'CONFLICT', 'role');
      expect(await db.knex('users').where({ id: self.id }).first()).toEqual(before);
      const idp = await db.knex('local_identity_users').whereRaw('lower(email) = ?', [self.email]).first();
      expect(idp).toMatchObject({ groups: ['admin'], enabled: true });

      // What cannot lock them out is allowed.
      const rename = await http().put(`/api/v1/admin/users/${self.id}`).set(self.auth).send({ full_name: 'Self Renamed', role: 'admin', disabled: false });
      expect(rename.status).toBe(200);
      expect(rename.body.data.attributes).toMatchObject({ full_name: 'Self Renamed', role: 'admin', disabled: false });
      expect((await http().get('/api/v1/admin/users').set(self.auth)).status).toBe(200);
    });

    it('when one admin demotes another admin, then it is allowed and the other loses admin access at once', async () => {
      const other = await signUpAdmin(t, db.knex);
      const res = await http().put(`/api/v1/admin/users/${other.id}`).set(admin.auth).send({ role: 'buyer' });
      expect(res.status).toBe(200);
      expectError(await http().get('/api/v1/admin/users').set(other.auth), 403, 'FORBIDDEN');
    });
  });

  describe('DELETE /api/v1/admin/users/:id', () => {
    it('when an admin deletes a user, then 204, the token and login are refused, admin reads are 404 and the row stays', async () => {
      const realtor = await signUp(t, 'realtor', 'To Delete');
      const res = await http().delete(`/api/v1/admin/users/${realtor.id}`).set(admin.auth);
      expect(res.status).toBe(204);
      expect(res.text).toBe('');

      expectError(await http().get('/api/v1/auth/me').set(realtor.auth), 401, 'UNAUTHORIZED');
      expectError(await http().post('/api/v1/auth/login').send({ email: realtor.email, password: realtor.password }), 401, 'UNAUTHORIZED');
      expectError(await http().post('/api/v1/auth/refresh').send({ refresh_token: realtor.refreshToken }), 401, 'UNAUTHORIZED');

      expectError(await http().get(`/api/v1/admin/users/${realtor.id}`).set(admin.auth), 404, 'NOT_FOUND');
      expectError(await http().put(`/api/v1/admin/users/${realtor.id}`).set(admin.auth).send({ disabled: false }), 404, 'NOT_FOUND');
      expectError(await http().delete(`/api/v1/admin/users/${realtor.id}`).set(admin.auth), 404, 'NOT_FOUND');
      const png = await solidPng(32, 32);
      expectError(await uploadAvatar(realtor.id, png, 'a.png', 'image/png'), 404, 'NOT_FOUND');
      expect(storedAvatars(realtor.id)).toEqual([]);

      const list = await http().get('/api/v1/admin/users').query({ q: realtor.email }).set(admin.auth);
      expect(list.body.data).toEqual([]);
      expect(list.body.meta.total_count).toBe(0);

      const row = await db.knex('users').where({ id: realtor.id }).first();
      expect(row.deleted_at).toBeInstanceOf(Date);
      expect(row.disabled_at).toBeInstanceOf(Date);
      expect(row).toMatchObject({ email: realtor.email, full_name: 'To Delete', role: 'realtor' });
      const idp = await db.knex('local_identity_users').whereRaw('lower(email) = ?', [realtor.email]).first();
      expect(idp.enabled).toBe(false);
    });

    it('when an admin deletes a user who was already disabled, then the first disable time is kept', async () => {
      const buyer = await signUp(t, 'buyer', 'Disabled Then Deleted');
      expect((await http().put(`/api/v1/admin/users/${buyer.id}`).set(admin.auth).send({ disabled: true })).status).toBe(200);
      const disabledAt = (await db.knex('users').where({ id: buyer.id }).first()).disabled_at;
      expect((await http().delete(`/api/v1/admin/users/${buyer.id}`).set(admin.auth)).status).toBe(204);
      expect((await db.knex('users').where({ id: buyer.id }).first()).disabled_at).toEqual(disabledAt);
    });

    it('when an admin deletes themselves, then 409 and the account keeps working', async () => {
      const self = await signUpAdmin(t, db.knex);
      expectError(await http().delete(`/api/v1/admin/users/${self.id}`).set(self.auth), 409, 'CONFLICT');
      expect(await db.knex('users').where({ id: self.id }).first()).toMatchObject({ deleted_at: null, disabled_at: null });
      expect((await http().get(`/api/v1/admin/users/${self.id}`).set(self.auth)).status).toBe(200);
    });

    it('when the id does not exist or is malformed, then 404 or 400', async () => {
      expectError(await http().delete('/api/v1/admin/users/999999').set(admin.auth), 404, 'NOT_FOUND');
      expectError(await http().delete('/api/v1/admin/users/-3').set(admin.auth), 400, 'VALIDATION_ERROR', 'id');
    });
  });

  describe('POST /api/v1/admin/users/:id/avatar', () => {
    it('when a PNG is uploaded, then it is stored as a 256x256 WebP behind a signed /files URL', async () => {
      const buyer = await signUp(t, 'buyer', 'Avatar Owner');
      const res = await uploadAvatar(buyer.id, await solidPng(300, 300), 'me.png', 'image/png');
      expect(res.status).toBe(200);
      expect(res.body.data).toMatchObject({ id: String(buyer.id), type: 'user', attributes: { full_name: 'Avatar Owner', email: buyer.email } });
      const avatarUrl: string = res.body.data.attributes.avatar_url;
      const url = new URL(avatarUrl);
      expect(url.origin).toBe(t.config.publicBaseUrl);
      expect(url.pathname).toMatch(new RegExp(`^/files/avatars/${buyer.id}/[0-9a-f]{16}\\.webp$`));
      expect(url.searchParams.get('expires')).toMatch(/^\d+$/);
      expect(Number(url.searchParams.get('expires')) * 1000).toBeGreaterThan(Date.now());
      expect(url.searchParams.get('signature')).toMatch(/^[0-9a-f]{64}$/);

      const row = await db.knex('users').where({ id: buyer.id }).first();
      expect(row.avatar_key).toBe(decodeURIComponent(url.pathname.slice('/files/'.length)));
      expect(storedAvatars(buyer.id)).toEqual([path.basename(row.avatar_key)]);

      const file = await fetchFile(avatarUrl);
      expect(file.status).toBe(200);
      expect(file.headers['content-type']).toBe('image/webp');
      const meta = await sharp(file.body as Buffer).metadata();
      expect({ format: meta.format, width: meta.width, height: meta.height }).toEqual({ format: 'webp', width: 256, height: 256 });

      // The user resource now carries a (freshly signed) URL to the same object, for
      // the admin and for the user themselves.
      const got = await http().get(`/api/v1/admin/users/${buyer.id}`).set(admin.auth);
      expect(new URL(got.body.data.attributes.avatar_url).pathname).toBe(url.pathname);
      const me = await http().get('/api/v1/auth/me').set(buyer.auth);
      const mine = await fetchFile(me.body.data.attributes.avatar_url);
      expect(mine.status).toBe(200);
      expect(Buffer.compare(mine.body as Buffer, file.body as Buffer)).toBe(0);
    });

    it('when a wide JPEG replaces an avatar, then the new one is cropped to 256x256 and the old file is gone', async () => {
      const buyer = await signUp(t, 'buyer', 'Replacer');
      const first = await uploadAvatar(buyer.id, await solidPng(64, 64), 'one.png', 'image/png');
      expect(first.status).toBe(200);
      const oldUrl: string = first.body.data.attributes.avatar_url;
      const oldKey = (await db.knex('users').where({ id: buyer.id }).first()).avatar_key;

      const jpeg = await sharp({ create: { width: 640, height: 320, channels: 3, background: { r: 10, g: 120, b: 200 } } }).jpeg().toBuffer();
      const second = await uploadAvatar(buyer.id, jpeg, 'wide.jpg', 'image/jpeg');
      expect(second.status).toBe(200);
      const newKey = (await db.knex('users').where({ id: buyer.id }).first()).avatar_key;
      expect(newKey).not.toBe(oldKey);
      expect(storedAvatars(buyer.id)).toEqual([path.basename(newKey)]);

      const file = await fetchFile(second.body.data.attributes.avatar_url);
      expect(file.status).toBe(200);
      const meta = await sharp(file.body as Buffer).metadata();
      expect({ format: meta.format, width: meta.width, height: meta.height }).toEqual({ format: 'webp', width: 256, height: 256 });
      const old = new URL(oldUrl);
      expectError(await http().get(old.pathname + old.search), 404, 'NOT_FOUND');
    });

    it('when a signed avatar URL is tampered with or expired, then 403', async () => {
      const buyer = await signUp(t, 'buyer', 'Signed');
      const res = await uploadAvatar(buyer.id, await solidPng(40, 40), 'a.png', 'image/png');
      expect(res.status).toBe(200);
      const url = new URL(res.body.data.attributes.avatar_url);
      const signature = url.searchParams.get('signature')!;
      const expires = url.searchParams.get('expires')!;
      const flipped = (signature[0] === 'a' ? 'b' : 'a') + signature.slice(1);

      const tamperedSig = `${url.pathname}?expires=${expires}&signature=${flipped}`;
      const longerLife = `${url.pathname}?expires=${Number(expires) + 3600}&signature=${signature}`;
      const otherKey = `${url.pathname.replace(/[0-9a-f]{16}\.webp$/, '0000000000000000.webp')}?expires=${expires}&signature=${signature}`;
      for (const target of [tamperedSig, longerLife, otherKey, url.pathname, `${url.pathname}?expires=${expires}`]) {
        const denied = await http().get(target);
        expectError(denied, 403, 'FORBIDDEN');
        expect(denied.headers['content-type']).toMatch(/^application\/json/);
      }

      // Correctly signed, but its time is up.
      const key = decodeURIComponent(url.pathname.slice('/files/'.length));
      const past = String(Math.floor(Date.now() / 1000) - 60);
      const pastSig = createHmac('sha256', t.adapters.storageSecret).update(`GET\n${key}\n${past}`).digest('hex');
      const expired = await http().get(`${url.pathname}?expires=${past}&signature=${pastSig}`);
      expectError(expired, 403, 'FORBIDDEN');
      expect(expired.body.errors[0].message).toMatch(/expired/i);

      expect((await http().get(url.pathname + url.search)).status).toBe(200);
    });

    describe('when the upload is rejected', () => {
      let target: SignedIn;
      let keptKey: string;

      beforeAll(async () => {
        target = await signUp(t, 'buyer', 'Rejected Uploads');
        const ok = await uploadAvatar(target.id, await solidPng(50, 50), 'ok.png', 'image/png');
        expect(ok.status).toBe(200);
        keptKey = (await db.knex('users').where({ id: target.id }).first()).avatar_key;
      });

      async function expectNothingStored(): Promise<void> {
        expect(storedAvatars(target.id)).toEqual([path.basename(keptKey)]);
        expect((await db.knex('users').where({ id: target.id }).first()).avatar_key).toBe(keptKey);
        const actions = await db.knex('audit_logs').where({ resource_type: 'user', resource_id: target.id, action: 'user_avatar_updated' }).count<{ count: string }[]>('* as count');
        expect(Number(actions[0]!.count)).toBe(1);
      }

      it('when the file is an SVG, then 415 on avatar', async () => {
        const svg = Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>');
        expectError(await uploadAvatar(target.id, svg, 'face.svg', 'image/svg+xml'), 415, 'UNSUPPORTED_MEDIA_TYPE', 'avatar');
        // Named and typed as a JPEG does not help.
        expectError(await uploadAvatar(target.id, svg, 'face.jpg', 'image/jpeg'), 415, 'UNSUPPORTED_MEDIA_TYPE', 'avatar');
        await expectNothingStored();
      });

      it('when a text file is named photo.jpg, then 415 on avatar', async () => {
        const text = Buffer.from('this is not a picture\n'.repeat(20));
        expectError(await uploadAvatar(target.id, text, 'photo.jpg', 'image/jpeg'), 415, 'UNSUPPORTED_MEDIA_TYPE', 'avatar');
        await expectNothingStored();
      });

      it('when a JPEG is truncated, then 422 on avatar', async () => {
        const jpeg = await noise(96, 96).jpeg({ quality: 90 }).toBuffer();
        expect(jpeg.length).toBeLessThan(AVATAR_MAX_BYTES);
        const truncated = jpeg.subarray(0, Math.floor(jpeg.length / 2));
        // The header is intact: only decoding the pixels can notice.
        expect((await sharp(truncated).metadata()).width).toBe(96);
        expectError(await uploadAvatar(target.id, truncated, 'cut.jpg', 'image/jpeg'), 422, 'UNPROCESSABLE_ENTITY', 'avatar');
        await expectNothingStored();
      });

      it('when a file has an image signature but garbage after it, then 422 on avatar', async () => {
        const corruptJpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(2000)]);
        expectError(await uploadAvatar(target.id, corruptJpeg, 'bad.jpg', 'image/jpeg'), 422, 'UNPROCESSABLE_ENTITY', 'avatar');
        const png = await solidPng(20, 20);
        const corruptPng = Buffer.concat([png.subarray(0, 8), randomBytes(500)]);
        expectError(await uploadAvatar(target.id, corruptPng, 'bad.png', 'image/png'), 422, 'UNPROCESSABLE_ENTITY', 'avatar');
        await expectNothingStored();
      });

      it('when the file is over AVATAR_MAX_BYTES, then 413 PAYLOAD_TOO_LARGE', async () => {
        const big = await noise(200, 200).png().toBuffer();
        expect(big.length).toBeGreaterThan(AVATAR_MAX_BYTES);
        expectError(await uploadAvatar(target.id, big, 'big.png', 'image/png'), 413, 'PAYLOAD_TOO_LARGE', 'avatar');
        await expectNothingStored();
      });

      it('when the file is one byte over the limit, then 413; at the limit, then it is judged by its content', async () => {
        expectError(await uploadAvatar(target.id, Buffer.alloc(AVATAR_MAX_BYTES + 1, 'a'), 'x.png', 'image/png'), 413, 'PAYLOAD_TOO_LARGE', 'avatar');
        expectError(await uploadAvatar(target.id, Buffer.alloc(AVATAR_MAX_BYTES, 'a'), 'x.png', 'image/png'), 415, 'UNSUPPORTED_MEDIA_TYPE', 'avatar');
        await expectNothingStored();
      });

      it('when no file, a file in another field, or a JSON body is sent, then 400 or 415 on avatar', async () => {
        const noFile = await http().post(`/api/v1/admin/users/${target.id}/avatar`).set(admin.auth).field('note', 'hello');
        expectError(noFile, 400, 'VALIDATION_ERROR', 'avatar');
        const wrongField = await http()
          .post(`/api/v1/admin/users/${target.id}/avatar`)
          .set(admin.auth)
          .attach('picture', await solidPng(10, 10), { filename: 'a.png', contentType: 'image/png' });
        expectError(wrongField, 400, 'VALIDATION_ERROR', 'avatar');
        const twoFiles = await http()
          .post(`/api/v1/admin/users/${target.id}/avatar`)
          .set(admin.auth)
          .attach('avatar', await solidPng(10, 10), { filename: 'a.png', contentType: 'image/png' })
          .attach('avatar', await solidPng(12, 12), { filename: 'b.png', contentType: 'image/png' });
        expectError(twoFiles, 400, 'VALIDATION_ERROR', 'avatar');
        const json = await http().post(`/api/v1/admin/users/${target.id}/avatar`).set(admin.auth).send({ avatar: 'data:image/png;base64,AAAA' });
        expectError(json, 415, 'UNSUPPORTED_MEDIA_TYPE', 'avatar');
        await expectNothingStored();
      });

      it('when the user does not exist, then 404 and nothing is stored', async () => {
        expectError(await uploadAvatar(999999, await solidPng(10, 10), 'a.png', 'image/png'), 404, 'NOT_FOUND');
        expect(storedAvatars(999999)).toEqual([]);
      });
    });
  });
});
