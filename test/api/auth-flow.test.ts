import request from 'supertest';
import { readOutbox } from '../support/outbox';
import type { TestApp } from '../support/app';
import type { TestDatabase } from '../support/db';
import { startTestSystem, type TestSystem } from '../support/system';
import { createBuyer } from '../support/factories';
import { login, uniqueEmail } from '../support/users';

describe('auth over HTTP with the local identity provider', () => {
  let sys: TestSystem;
  let db: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    sys = await startTestSystem();
    ({ db, t } = sys);
  });

  afterAll(() => sys?.stop());

  it('when a user registers, logs in, refreshes, logs out and resets the password, then each step behaves as documented', async () => {
    const http = () => request(t.callback);
    const email = uniqueEmail('flow');

    const reg = await http().post('/api/v1/auth/register').send({ full_name: 'Flo Flow', email: email.toUpperCase(), password: 'first-pass-1' });
    expect(reg.status).toBe(201);
    expect(reg.body).toMatchObject({ success: true, data: { type: 'user', attributes: { email, full_name: 'Flo Flow', role: 'buyer', disabled: false } } });
    const userId = reg.body.data.id;

    const loginRes = await http().post('/api/v1/auth/login').send({ email, password: 'first-pass-1' });
    expect(loginRes.status).toBe(200);
    expect(loginRes.headers['cache-control']).toBe('no-store');
    expect(loginRes.body.data.type).toBe('session');
    expect(loginRes.body.data.attributes).toEqual({
      access_token: expect.any(String),
      id_token: expect.any(String),
      refresh_token: expect.any(String),
      expires_in: 3600,
      token_type: 'Bearer',
    });
    const { access_token, refresh_token } = loginRes.body.data.attributes;
    const claims = JSON.parse(Buffer.from(access_token.split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({ token_use: 'access', client_id: 'realtyforyou-local', 'cognito:groups': ['buyer'] });
    for (const c of ['sub', 'iss', 'exp', 'iat', 'jti']) expect(claims[c]).toBeDefined();

    const me = await http().get('/api/v1/auth/me').set('Authorization', `Bearer ${access_token}`);
    expect(me.status).toBe(200);
    expect(me.body.data).toMatchObject({ id: userId, attributes: { email } });

    const refreshed = await http().post('/api/v1/auth/refresh').send({ refresh_token });
    expect(refreshed.status).toBe(200);
    const newAccess = refreshed.body.data.attributes.access_token;
    expect(newAccess).not.toBe(access_token);
    expect((await http().get('/api/v1/auth/me').set('Authorization', `Bearer ${newAccess}`)).status).toBe(200);

    const out = await http().post('/api/v1/auth/logout').set('Authorization', `Bearer ${newAccess}`).send({ refresh_token });
    expect(out.status).toBe(200);
    const again = await http().post('/api/v1/auth/refresh').send({ refresh_token });
    expect(again.status).toBe(401);
    expect(again.body.errors[0].code).toBe('UNAUTHORIZED');

    const reset = await http().post('/api/v1/auth/password-reset/request').send({ email });
    expect(reset.status).toBe(202);
    const mails = (await readOutbox(t.config.email.outboxDir)).filter((m) => m.to === email && m.idempotencyKey.startsWith('password-reset:'));
    expect(mails).toHaveLength(1);
    const code = /\b(\d{6})\b/.exec(mails[0]!.text)?.[1];
    expect(code).toBeDefined();

    const wrong = await http().post('/api/v1/auth/password-reset/confirm').send({ email, code: code === '000000' ? '111111' : '000000', new_password: 'second-pass-2' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors[0].field).toBe('code');

    const confirm = await http().post('/api/v1/auth/password-reset/confirm').send({ email, code, new_password: 'second-pass-2' });
    expect(confirm.status).toBe(200);
    expect((await http().post('/api/v1/auth/login').send({ email, password: 'first-pass-1' })).status).toBe(401);
    const relogin = await login(t, email, 'second-pass-2');
    expect(relogin.id).toBe(Number(userId));
    // The code is single-use.
    const reuse = await http().post('/api/v1/auth/password-reset/confirm').send({ email, code, new_password: 'third-pass-3' });
    expect(reuse.status).toBe(400);
  });

  it('when a user registers, then exactly one welcome email goes out: not again on a repeated sign-up, sign-in or refresh', async () => {
    const email = uniqueEmail('welcome');
    const http = () => request(t.callback);
    const reg = await http().post('/api/v1/auth/register').send({ full_name: 'Wendy Welcome', email, password: 'welcome-pass-1', role: 'realtor' });
    expect(reg.status).toBe(201);
    expect((await http().post('/api/v1/auth/register').send({ full_name: 'Wendy Again', email, password: 'welcome-pass-2' })).status).toBe(409);
    const session = await login(t, email, 'welcome-pass-1');
    await login(t, email, 'welcome-pass-1');
    expect((await http().post('/api/v1/auth/refresh').send({ refresh_token: session.refreshToken })).status).toBe(200);

    const mails = (await readOutbox(t.config.email.outboxDir)).filter((m) => m.to === email);
    expect(mails.map((m) => ({ key: m.idempotencyKey, subject: m.subject }))).toEqual([{ key: `welcome:user-${reg.body.data.id}`, subject: 'Welcome to RealtyForYou' }]);
    expect(mails[0]!.text).toContain('Hi Wendy Welcome,');
    expect(mails[0]!.html).toContain('Hi Wendy Welcome,');
    const ledger = await db.knex('notifications').where({ recipient: email });
    expect(ledger).toEqual([expect.objectContaining({ template: 'welcome', status: 'sent', attempts: 1, recipient_user_id: Number(reg.body.data.id) })]);
  });

  it('when a password reset is asked for an unknown email, then the answer is the same and no email is sent', async () => {
    const before = (await readOutbox(t.config.email.outboxDir)).length;
    const res = await request(t.callback).post('/api/v1/auth/password-reset/request').send({ email: 'nobody@example.com' });
    expect(res.status).toBe(202);
    expect((await readOutbox(t.config.email.outboxDir)).length).toBe(before);
  });

  it('when someone registers as admin, then 400 and no account exists', async () => {
    const email = uniqueEmail('sneaky');
    const res = await request(t.callback).post('/api/v1/auth/register').send({ full_name: 'Sneaky', email, password: 'sneaky-pass-1', role: 'admin' });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].field).toBe('role');
    expect(await db.knex('users').where({ email }).first()).toBeUndefined();
    expect(await db.knex('local_identity_users').where({ email }).first()).toBeUndefined();
  });

  it('when register carries extra fields or a bad email, then 400 names each field', async () => {
    const res = await request(t.callback)
      .post('/api/v1/auth/register')
      .send({ full_name: '', email: 'not-an-email', password: 'short', cognito_sub: 'x' });
    expect(res.status).toBe(400);
    // Every rule a field breaks is named (a short password without a digit gives two errors).
    expect([...new Set(res.body.errors.map((e: { field: string }) => e.field))].sort()).toEqual(['cognito_sub', 'email', 'full_name', 'password']);
  });

  it('when an email is registered twice, then 409 on email', async () => {
    const email = uniqueEmail('twice');
    const body = { full_name: 'Twice', email, password: 'twice-pass-1' };
    expect((await request(t.callback).post('/api/v1/auth/register').send(body)).status).toBe(201);
    const res = await request(t.callback).post('/api/v1/auth/register').send(body);
    expect(res.status).toBe(409);
    expect(res.body.errors[0]).toMatchObject({ code: 'CONFLICT', field: 'email' });
  });

  it('when the password is wrong or the user unknown, then 401 with the same message', async () => {
    const user = await createBuyer(t);
    const wrong = await request(t.callback).post('/api/v1/auth/login').send({ email: user.email, password: 'nope-nope-1' });
    const unknown = await request(t.callback).post('/api/v1/auth/login').send({ email: 'ghost@example.com', password: 'nope-nope-1' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body.errors).toEqual(unknown.body.errors);
  });

  it('when PUT /auth/me carries role, email, cognito_sub or id, then 400 and nothing changes', async () => {
    const user = await createBuyer(t, 'Mass Assign');
    for (const extra of [{ role: 'admin' }, { email: 'evil@example.com' }, { cognito_sub: 'other' }, { id: 1 }]) {
      const res = await request(t.callback).put('/api/v1/auth/me').set(user.auth).send({ full_name: 'Changed', ...extra });
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(Object.keys(extra));
    }
    const row = await db.knex('users').where({ id: user.id }).first();
    expect(row).toMatchObject({ full_name: 'Mass Assign', role: 'buyer', email: user.email });

    const ok = await request(t.callback).put('/api/v1/auth/me').set(user.auth).send({ full_name: 'New Name' });
    expect(ok.status).toBe(200);
    expect(ok.body.data.attributes.full_name).toBe('New Name');
  });
});
