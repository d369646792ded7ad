import request from 'supertest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { buildTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { createTimeSkippingEnv } from '../support/temporal';
import { signUpAdmin } from '../support/users';

describe('probe', () => {
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  let t: TestApp;
  beforeAll(async () => {
    [db, env] = await Promise.all([createTestDatabase(), createTimeSkippingEnv()]);
    t = await buildTestApp({ knex: db.knex, env, config: { CORS_ORIGINS: 'https://app.example.com' } });
  });
  afterAll(async () => {
    t?.cleanup();
    await Promise.all([db?.destroy(), env?.teardown()]);
  });
  it('probe', async () => {
    const h = () => request(t.callback);
    for (const p of ['/api/v1/auth/login/', '/API/V1/AUTH/LOGIN', '/api/v1/auth/%6Cogin', '/api/v1//auth/login', '/api/v1/auth/login;x']) {
      const r = await h().post(p).send({ email: 'a@b.co', password: 'x' });
      console.log(p, r.status, r.body.errors?.[0]?.code, r.headers['ratelimit-remaining']);
    }
    const a = await signUpAdmin(t, db.knex);
    for (const p of ['/api/v1/admin/users/99999999999', '/api/v1/admin/audit_logs?from=2024-02-30T00:00:00Z', '/api/v1/admin/users/1e3']) {
      const r = await h().get(p).set(a.auth);
      console.log(p, r.status, JSON.stringify(r.body));
    }
    const r = await h().get('/health');
    console.log(r.headers);
    const o = await h().options('/api/v1/auth/me').set('Origin', 'https://app.example.com').set('Access-Control-Request-Method', 'GET');
    console.log(o.status, o.headers);
    const o2 = await h().options('/api/v1/auth/me').set('Origin', 'https://evil.example.com').set('Access-Control-Request-Method', 'GET');
    console.log(o2.status, o2.headers);
  });
});
