import Koa from 'koa';
import request from 'supertest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { errorHandler } from '../../api/middleware/error-handler';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { canonicalPath, rateLimit } from '../../api/middleware/rate-limit';
import { requestContext } from '../../api/middleware/request-id';
import { createLogger } from '../../lib/logger';
import { buildTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { createTimeSkippingEnv } from '../support/temporal';
import { signUp, signUpAdmin, uniqueEmail } from '../support/users';

const ALLOWED = 'https://app.example.com';
const ALSO_ALLOWED = 'https://admin.example.com';
const BODY_LIMIT = 2048;

/** What no error body may carry: stack frames, source paths, SQL or driver wording. */
const INTERNALS = [/\bat\s+\S+\s+\(/, /\bat\s+(async\s+)?[\w.<>]+\s*\(?\/?[\w./-]+:\d+:\d+/, /\.(ts|js):\d+/, /node_modules/, /\bselect\b.+\bfrom\b/i, /\binsert into\b/i, /\brelation\b/i, /does not exist/i, /syntax error/i, /"stack"/];

function expectNoInternals(res: request.Response): void {
  const text = res.text;
  for (const pattern of INTERNALS) expect({ status: res.status, leaked: pattern.test(text) ? text : null }).toEqual({ status: res.status, leaked: null });
}

function expectError(res: request.Response, status: number, code: string): void {
  expect({ status: res.status, body: res.body }).toEqual({
    status,
    body: { success: false, errors: [expect.objectContaining({ code, message: expect.any(String) })], meta: expect.objectContaining({ request_id: res.headers['x-request-id'] }) },
  });
  expectNoInternals(res);
}

describe('HTTP hardening', () => {
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  let t: TestApp;
  let limited: TestApp;

  beforeAll(async () => {
    [db, env] = await Promise.all([createTestDatabase(), createTimeSkippingEnv()]);
    [t, limited] = await Promise.all([
      buildTestApp({ knex: db.knex, env, config: { CORS_ORIGINS: `${ALLOWED}, ${ALSO_ALLOWED}`, JSON_BODY_LIMIT_BYTES: String(BODY_LIMIT) } }),
      buildTestApp({ knex: db.knex, env, config: { AUTH_RATE_LIMIT_MAX: '3', AUTH_RATE_LIMIT_WINDOW_SECONDS: '60' } }),
    ]);
  });

  afterAll(async () => {
    t?.cleanup();
    limited?.cleanup();
    await Promise.all([db?.destroy(), env?.teardown()]);
  });

  describe('security headers', () => {
    it('when the app answers (JSON, an error, an unknown path, the docs page), then helmet\'s headers are on every response', async () => {
      const responses = [
        await request(t.callback).get('/health'),
        await request(t.callback).get('/api/v1/auth/me'),
        await request(t.callback).get('/no/such/path'),
        await request(t.callback).get('/docs'),
        await request(t.callback).post('/api/v1/auth/login').set('Content-Type', 'application/json').send('{"email":'),
      ];
      expect(responses.map((r) => r.status)).toEqual([200, 401, 404, 200, 400]);
      for (const res of responses) {
        expect(res.headers).toMatchObject({
          'x-content-type-options': 'nosniff',
          'x-frame-options': 'SAMEORIGIN',
          'strict-transport-security': expect.stringMatching(/^max-age=\d{7,}; includeSubDomains/),
          'referrer-policy': 'no-referrer',
          'cross-origin-opener-policy': 'same-origin',
          'cross-origin-resource-policy': 'same-origin',
          'origin-agent-cluster': '?1',
          'x-dns-prefetch-control': 'off',
          'x-download-options': 'noopen',
          'x-permitted-cross-domain-policies': 'none',
          'x-xss-protection': '0',
        });
        expect(res.headers['x-powered-by']).toBeUndefined();

        const csp = new Map(
          String(res.headers['content-security-policy'])
            .split(';')
            .map((d) => d.trim().split(/\s+/))
            .map(([name, ...values]) => [name!, values] as const),
        );
        expect(csp.get('default-src')).toEqual(["'self'"]);
        expect(csp.get('script-src')).toEqual(["'self'"]);
        expect(csp.get('object-src')).toEqual(["'none'"]);
        expect(csp.get('frame-ancestors')).toEqual(["'self'"]);
        expect(csp.get('base-uri')).toEqual(["'self'"]);
        expect(csp.get('img-src')).not.toContain('*');
      }
    });
  });

  describe('CORS', () => {
    it('when an allowed origin sends a preflight, then its origin is echoed with the allowed methods and headers', async () => {
      for (const origin of [ALLOWED, ALSO_ALLOWED]) {
        const res = await request(t.callback)
          .options('/api/v1/auth/me')
          .set('Origin', origin)
          .set('Access-Control-Request-Method', 'PUT')
          .set('Access-Control-Request-Headers', 'Authorization, Content-Type');
        expect(res.status).toBe(204);
        expect(res.headers['access-control-allow-origin']).toBe(origin);
        expect(res.headers['access-control-allow-methods']).toEqual(expect.stringContaining('PUT'));
        expect(String(res.headers['access-control-allow-headers']).split(',')).toEqual(expect.arrayContaining(['Authorization', 'Content-Type']));
        expect(res.headers['access-control-max-age']).toBe('600');
        expect(res.headers.vary).toMatch(/Origin/);
      }
    });

    it('when an allowed origin sends a GET (even one that fails), then the origin is echoed and the request id and Retry-After are exposed', async () => {
      const ok = await request(t.callback).get('/health').set('Origin', ALLOWED);
      expect(ok.status).toBe(200);
      expect(ok.headers['access-control-allow-origin']).toBe(ALLOWED);
      expect(String(ok.headers['access-control-expose-headers']).split(',')).toEqual(expect.arrayContaining(['X-Request-Id', 'Retry-After']));
      expect(ok.headers.vary).toMatch(/Origin/);

      // A browser client must be able to read the error body too.
      const denied = await request(t.callback).get('/api/v1/auth/me').set('Origin', ALSO_ALLOWED);
      expect(denied.status).toBe(401);
      expect(denied.headers['access-control-allow-origin']).toBe(ALSO_ALLOWED);
    });

    it('when an origin outside the allow-list (or a look-alike) asks, then no CORS header is sent on the preflight or the GET', async () => {
      for (const origin of ['https://evil.example.com', `${ALLOWED}.evil.com`, 'http://app.example.com', 'null', `${ALLOWED},${ALSO_ALLOWED}`]) {
        const preflight = await request(t.callback).options('/api/v1/auth/me').set('Origin', origin).set('Access-Control-Request-Method', 'PUT');
        const get = await request(t.callback).get('/health').set('Origin', origin);
        expect(get.status).toBe(200);
        for (const res of [preflight, get]) {
          const cors = Object.keys(res.headers).filter((h) => h.startsWith('access-control-'));
          expect({ origin, cors }).toEqual({ origin, cors: [] });
        }
        // Caches must still key on Origin, or an allowed origin's answer could be served to this one.
        expect(get.headers.vary).toMatch(/Origin/);
      }
    });
  });

  describe('JSON body limit', () => {
    it('when a JSON body is larger than JSON_BODY_LIMIT_BYTES, then 413 PAYLOAD_TOO_LARGE and nothing is created', async () => {
      const email = uniqueEmail('big');
      const body = { full_name: 'x'.repeat(BODY_LIMIT), email, password: 'big-body-pass-1' };
      expect(Buffer.byteLength(JSON.stringify(body))).toBeGreaterThan(BODY_LIMIT);
      const res = await request(t.callback).post('/api/v1/auth/register').send(body);
      expectError(res, 413, 'PAYLOAD_TOO_LARGE');
      expect(await db.knex('users').where({ email }).first()).toBeUndefined();
    });

    it('when a JSON body is just under the limit, then it is parsed and validated as usual', async () => {
      const email = uniqueEmail('fits');
      const base = { full_name: '', email, password: 'fits-body-pass-1' };
      const padding = BODY_LIMIT - Buffer.byteLength(JSON.stringify(base)) - 16;
      const body = { ...base, full_name: 'y'.repeat(padding) };
      expect(Buffer.byteLength(JSON.stringify(body))).toBeLessThan(BODY_LIMIT);
      const res = await request(t.callback).post('/api/v1/auth/register').send(body);
      // Parsed, then refused by the schema (full_name is at most 255 characters): not a 413.
      expectError(res, 400, 'VALIDATION_ERROR');
      expect(res.body.errors[0].field).toBe('full_name');
    });
  });

  describe('rate limit on /api/v1/auth/*', () => {
    it('when a client sends a 4th auth request within the window (limit 3), then 429 RATE_LIMITED with Retry-After in seconds', async () => {
      const attempt = () => request(limited.callback).post('/api/v1/auth/login').send({ email: 'nobody@example.com', password: 'wrong-pass-1' });
      const first = [await attempt(), await attempt(), await attempt()];
      expect(first.map((r) => r.status)).toEqual([401, 401, 401]);
      expect(first.map((r) => r.headers['ratelimit-remaining'])).toEqual(['2', '1', '0']);
      expect(first[0]!.headers['ratelimit-limit']).toBe('3');

      const fourth = await attempt();
      expectError(fourth, 429, 'RATE_LIMITED');
      expect(fourth.headers['retry-after']).toMatch(/^\d+$/);
      const retryAfter = Number(fourth.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);

      // The same path with a trailing slash reaches the same handler, so it must share the count.
      const slashed = await request(limited.callback).post('/api/v1/auth/login/').send({ email: 'nobody@example.com', password: 'wrong-pass-1' });
      expectError(slashed, 429, 'RATE_LIMITED');
    });

    it('when /health or a non-auth API route is called many times, then none of them is rate limited', async () => {
      for (let i = 0; i < 8; i += 1) {
        const health = await request(limited.callback).get('/health');
        expect(health.status).toBe(200);
        expect(health.headers['ratelimit-limit']).toBeUndefined();
        const admin = await request(limited.callback).get('/api/v1/admin/users');
        expect(admin.status).toBe(401);
        expect(admin.headers['ratelimit-limit']).toBeUndefined();
      }
    });

    // The router matches paths case-insensitively, so /API/V1/AUTH/... must count too.
    it('when the auth path is written in another letter case, then it is still rate limited', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const res = await request(limited.callback).post('/API/V1/AUTH/REGISTER').send({ full_name: '', email: 'case@example.com', password: 'x' });
        statuses.push(res.status);
      }
      expect(statuses.slice(0, 3).every((s) => s === 400)).toBe(true);
      expect(statuses.slice(3)).toEqual([429, 429]);
    });
  });

  describe('rate limit behind a proxy (production)', () => {
    let prod: TestApp;

    beforeAll(async () => {
      prod = await buildTestApp({ knex: db.knex, env, config: { TRUST_PROXY_HOPS: '1', AUTH_RATE_LIMIT_MAX: '3' } });
    });

    afterAll(() => prod?.cleanup());

    // With one trusted proxy, the address that proxy appended counts, not what the client wrote.
    it('when a client forges X-Forwarded-For in front of the proxy\'s entry, then it is still limited', async () => {
      const statuses: number[] = [];
      for (let i = 1; i <= 5; i += 1) {
        const res = await request(prod.callback)
          .post('/api/v1/auth/login')
          .set('X-Forwarded-For', `198.51.100.${i}, 203.0.113.7`)
          .send({ email: 'nobody@example.com', password: 'wrong-pass-1' });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
    });
  });

  describe('rateLimit() on an in-memory limiter with a fake clock', () => {
    // Only Date is faked: the limiter measures windows with Date.now, while sockets and
    // timers keep running for supertest.
    beforeEach(() => {
      jest.useFakeTimers({ now: 1_700_000_000_000, doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'queueMicrotask', 'hrtime', 'performance'] });
    });
    afterEach(() => jest.useRealTimers());
    const advance = (ms: number) => jest.setSystemTime(Date.now() + ms);

    function limitedApp(opts: { proxy?: boolean } = {}) {
      const app = new Koa({ proxy: opts.proxy ?? false });
      app.silent = true;
      app.use(requestContext(createLogger({ logLevel: 'silent', env: 'test' })));
      app.use(errorHandler());
      app.use(rateLimit(new RateLimiterMemory({ points: 2, duration: 10 }), { key: (ctx) => `${ctx.ip}|${canonicalPath(ctx)}` }));
      app.use((ctx) => {
        ctx.body = { ok: true };
      });
      return app.callback();
    }

    it('when the window passes, then the count resets; until then Retry-After counts down to the window end', async () => {
      const app = limitedApp();
      const hit = (path = '/x') => request(app).get(path);

      expect((await hit()).status).toBe(200);
      advance(1000);
      expect((await hit()).status).toBe(200);
      const blocked = await hit();
      expectError(blocked, 429, 'RATE_LIMITED');
      expect(blocked.headers['retry-after']).toBe('9');
      expect(blocked.headers['ratelimit-remaining']).toBe('0');
      expect(blocked.headers['ratelimit-reset']).toBe('9');

      advance(4500); // 5.5 s into the window: 4.5 s left, rounded up
      expect((await hit()).headers['retry-after']).toBe('5');
      advance(4499); // 1 ms before the window ends
      expect((await hit()).headers['retry-after']).toBe('1');
      // Another path has its own count meanwhile.
      expect((await hit('/y')).status).toBe(200);

      advance(1); // the window that started at t0 is over
      const fresh = await hit();
      expect(fresh.status).toBe(200);
      expect(fresh.headers['ratelimit-remaining']).toBe('1');
      expect((await hit()).status).toBe(200);
      expect((await hit()).status).toBe(429);
    });

    it('when a path differs only by trailing slash or letter case, then it shares the count of the canonical path', async () => {
      const app = limitedApp();
      expect((await request(app).get('/api/v1/auth/login')).status).toBe(200);
      expect((await request(app).get('/api/v1/auth/login/')).status).toBe(200);
      expect((await request(app).get('/API/v1/Auth/Login//')).status).toBe(429);
    });

    it('when two clients call, then each has its own count', async () => {
      const app = limitedApp({ proxy: true });
      const from = (ip: string) => request(app).get('/x').set('X-Forwarded-For', ip);
      expect((await from('10.0.0.1')).status).toBe(200);
      expect((await from('10.0.0.1')).status).toBe(200);
      expect((await from('10.0.0.1')).status).toBe(429);
      expect((await from('10.0.0.2')).status).toBe(200);
    });
  });

  describe('no internals in error bodies', () => {
    it('when the database fails under a request, then 500 INTERNAL_ERROR without stack, SQL or table names', async () => {
      const broken = await createTestDatabase();
      const app = await buildTestApp({ knex: broken.knex, env });
      try {
        const admin = await signUpAdmin(app, broken.knex);
        await broken.knex.raw('ALTER TABLE audit_logs RENAME TO audit_logs_gone');
        const res = await request(app.callback).get('/api/v1/admin/audit_logs').set(admin.auth);
        expectError(res, 500, 'INTERNAL_ERROR');
        expect(res.text).not.toMatch(/audit_logs_gone|audit_logs"|pg_|postgres/i);
        expect(res.body.errors).toEqual([{ code: 'INTERNAL_ERROR', message: expect.any(String), field: null }]);
      } finally {
        app.cleanup();
        await broken.destroy();
      }
    });

    it('when requests fail in each ordinary way, then no error body carries a stack trace or SQL', async () => {
      const buyer = await signUp(t, 'buyer');
      const http = () => request(t.callback);
      const cases: Array<[string, request.Test, number]> = [
        ['malformed JSON', http().post('/api/v1/auth/login').set('Content-Type', 'application/json').send('{"email": nope'), 400],
        ['invalid body', http().post('/api/v1/auth/register').send({ email: 'x' }), 400],
        ['bad token', http().get('/api/v1/admin/users/abc').set('Authorization', 'Bearer a.b.c'), 401],
        ['wrong role', http().get('/api/v1/admin/users').set(buyer.auth), 403],
        ['unknown route', http().get('/api/v1/nothing-here'), 404],
        ['wrong method', http().patch('/api/v1/auth/me').set(buyer.auth), 405],
        ['body too large', http().post('/api/v1/auth/register').send({ full_name: 'z'.repeat(BODY_LIMIT * 2) }), 413],
        ['not JSON', http().put('/api/v1/auth/me').set(buyer.auth).set('Content-Type', 'text/plain').send('full_name=x'), 400],
      ];
      for (const [label, req, status] of cases) {
        const res = await req;
        expect({ label, status: res.status }).toEqual({ label, status });
        expect(res.body.success).toBe(false);
        expectNoInternals(res);
      }
    });
  });
});
