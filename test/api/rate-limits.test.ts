import request from 'supertest';
import type { TestApp } from '../support/app';
import { count, type TestDatabase } from '../support/db';
import { startTestSystem, type TestSystem } from '../support/system';
import { createBuyer } from '../support/factories';
import { uniqueEmail } from '../support/users';

const ACCOUNT_MAX = 3;
const USER_MAX = 5;

function expect429(res: request.Response): void {
  expect({ status: res.status, body: res.body }).toEqual({
    status: 429,
    body: { success: false, errors: [{ code: 'RATE_LIMITED', message: expect.stringMatching(/try again in \d+ s/), field: null }], meta: expect.objectContaining({ request_id: expect.any(String) }) },
  });
  expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  expect(res.headers['ratelimit-remaining']).toBe('0');
  expect(res.headers['ratelimit-reset']).toMatch(/^\d+$/);
}

describe('shared rate limits', () => {
  let sys: TestSystem;
  let db: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    // Behind one proxy, so each request can come from its own client address.
    sys = await startTestSystem({
      config: { TRUST_PROXY_HOPS: '1', AUTH_ACCOUNT_RATE_LIMIT_MAX: String(ACCOUNT_MAX), AUTH_ACCOUNT_RATE_LIMIT_WINDOW_SECONDS: '900', API_RATE_LIMIT_MAX: String(USER_MAX) },
    });
    ({ db, t } = sys);
  });

  afterAll(() => sys?.stop());

  let address = 0;
  const from = () => `198.51.100.${(address += 1) % 250}`;

  describe('per account on the auth routes', () => {
    it('when wrong passwords for one account come from many addresses (credential stuffing), then the attempt after the limit is 429, even with the right password', async () => {
      const buyer = await createBuyer(t);
      const attempt = (password: string) => request(t.callback).post('/api/v1/auth/login').set('X-Forwarded-For', from()).send({ email: buyer.email, password });
      for (let i = 0; i < ACCOUNT_MAX; i += 1) expect((await attempt('wrong-pass-1')).status).toBe(401);
      expect429(await attempt(buyer.password));
      // The same email in another letter case is the same account.
      expect429(await request(t.callback).post('/api/v1/auth/login').set('X-Forwarded-For', from()).send({ email: buyer.email.toUpperCase(), password: buyer.password }));
    });

    it('when an account signs in successfully again and again, then those sign-ins are not counted', async () => {
      const buyer = await createBuyer(t);
      for (let i = 0; i < ACCOUNT_MAX + 2; i += 1) {
        const res = await request(t.callback).post('/api/v1/auth/login').set('X-Forwarded-For', from()).send({ email: buyer.email, password: buyer.password });
        expect(res.status).toBe(200);
      }
      // Failures still count from where they are.
      for (let i = 0; i < ACCOUNT_MAX; i += 1) {
        expect((await request(t.callback).post('/api/v1/auth/login').set('X-Forwarded-For', from()).send({ email: buyer.email, password: 'nope-nope-1' })).status).toBe(401);
      }
      expect429(await request(t.callback).post('/api/v1/auth/login').set('X-Forwarded-For', from()).send({ email: buyer.email, password: buyer.password }));
    });

    it('when password resets for one email are requested over and over, then only the first ones send an email', async () => {
      const buyer = await createBuyer(t);
      const statuses: number[] = [];
      for (let i = 0; i < ACCOUNT_MAX + 2; i += 1) {
        statuses.push((await request(t.callback).post('/api/v1/auth/password-reset/request').set('X-Forwarded-For', from()).send({ email: buyer.email })).status);
      }
      expect(statuses).toEqual([...Array(ACCOUNT_MAX).fill(202), 429, 429]);
      expect(await count(db.knex('notifications').where({ template: 'password-reset', recipient: buyer.email }))).toBe(ACCOUNT_MAX);
    });

    it('when one email is registered again and again, then sign-up spam for it is refused after the limit', async () => {
      const email = uniqueEmail('spam');
      const statuses: number[] = [];
      for (let i = 0; i < ACCOUNT_MAX + 1; i += 1) {
        statuses.push((await request(t.callback).post('/api/v1/auth/register').set('X-Forwarded-For', from()).send({ full_name: 'Spam', email, password: 'spam-pass-123' })).status);
      }
      expect(statuses).toEqual([201, 409, 409, 429]);
    });

    it('when one refresh token is tried over and over after it was revoked, then the tries after the limit are 429', async () => {
      const buyer = await createBuyer(t);
      await request(t.callback).post('/api/v1/auth/logout').set(buyer.auth).send({ refresh_token: buyer.refreshToken }).expect(200);
      const statuses: number[] = [];
      for (let i = 0; i < ACCOUNT_MAX + 1; i += 1) {
        statuses.push((await request(t.callback).post('/api/v1/auth/refresh').set('X-Forwarded-For', from()).send({ refresh_token: buyer.refreshToken })).status);
      }
      expect(statuses).toEqual([401, 401, 401, 429]);
    });

    it('when two different accounts fail, then each has its own count', async () => {
      const [a, b] = [uniqueEmail('a'), uniqueEmail('b')];
      for (let i = 0; i < ACCOUNT_MAX; i += 1) {
        await request(t.callback).post('/api/v1/auth/login').set('X-Forwarded-For', from()).send({ email: a, password: 'wrong-pass-1' }).expect(401);
      }
      await request(t.callback).post('/api/v1/auth/login').set('X-Forwarded-For', from()).send({ email: b, password: 'wrong-pass-1' }).expect(401);
    });
  });

  describe('per user on the API', () => {
    it('when one user calls the API more often than the limit, then the call after it is 429 with RateLimit headers, and another user is unaffected', async () => {
      const [buyer, other] = await Promise.all([createBuyer(t), createBuyer(t)]);
      const remaining: string[] = [];
      for (let i = 0; i < USER_MAX; i += 1) {
        const res = await request(t.callback).get('/api/v1/buyers/properties').set(buyer.auth).set('X-Forwarded-For', from());
        expect(res.status).toBe(200);
        expect(res.headers['ratelimit-limit']).toBe(String(USER_MAX));
        remaining.push(res.headers['ratelimit-remaining'] as string);
      }
      expect(remaining).toEqual(['4', '3', '2', '1', '0']);
      // Another route, another address: the same user, so the same count.
      expect429(await request(t.callback).get('/api/v1/auth/me').set(buyer.auth).set('X-Forwarded-For', from()));
      expect((await request(t.callback).get('/api/v1/buyers/properties').set(other.auth)).status).toBe(200);
    });

    it('when a request has no valid token, then the per-user limit does not apply and the answer is 401', async () => {
      const res = await request(t.callback).get('/api/v1/buyers/properties').set('Authorization', 'Bearer a.b.c');
      expect(res.status).toBe(401);
      expect(res.headers['ratelimit-limit']).toBeUndefined();
    });
  });
});
