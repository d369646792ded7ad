import request from 'supertest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createKnex } from '../../db/knex';
import { createTemporalProbe } from '../../lib/temporal';
import { buildTestApp as buildApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { freePort } from '../support/ports';
import { createTimeSkippingEnv } from '../support/temporal';

function expectEnvelopeMeta(body: { meta: Record<string, unknown> }) {
  expect(new Date(body.meta.timestamp as string).toISOString()).toBe(body.meta.timestamp);
  expect(body.meta.version).toEqual(expect.any(String));
}

describe('health endpoints', () => {
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  /** Each app's data folder, removed at the end. */
  const cleanups: Array<() => void> = [];
  const buildTestApp = async (deps: Parameters<typeof buildApp>[0]) => {
    const t = await buildApp(deps);
    cleanups.push(t.cleanup);
    return t;
  };

  beforeAll(async () => {
    [db, env] = await Promise.all([createTestDatabase(), createTimeSkippingEnv()]);
  });

  afterAll(async () => {
    for (const cleanup of cleanups) cleanup();
    await Promise.all([db?.destroy(), env?.teardown()]);
  });

  it('when GET /health, then 200 in the success envelope with a request id header', async () => {
    const { app } = await buildTestApp({ knex: db.knex, env });
    const res = await request(app.callback()).get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, data: { id: 'liveness', type: 'health', attributes: { status: 'ok' } } });
    expectEnvelopeMeta(res.body);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('when Postgres and Temporal answer, then GET /health/ready is 200', async () => {
    // The production probe, pointed at the test server's frontend.
    const probe = createTemporalProbe(env.address);
    const { app } = await buildTestApp({ knex: db.knex, env, temporalProbe: probe });
    const res = await request(app.callback()).get('/health/ready');
    expect(res.status).toBe(200);
    // The time-skipping server cannot describe task queues, so whether a worker polls is unknown.
    expect(res.body.data.attributes).toEqual({ status: 'ready', postgres: 'ok', temporal: 'ok', worker: 'unknown' });
    await probe.close();
  });

  it('when Temporal is unreachable, then GET /health/ready is 503 naming temporal only', async () => {
    const deadTemporal = createTemporalProbe(`127.0.0.1:${await freePort()}`);
    try {
      const { app } = await buildTestApp({ knex: db.knex, env, temporalProbe: deadTemporal });
      const res = await request(app.callback()).get('/health/ready');
      expect(res.status).toBe(503);
      expect(res.body.success).toBe(false);
      expect(res.body.errors).toEqual([
        { code: 'SERVICE_UNAVAILABLE', field: 'temporal', message: expect.stringContaining('temporal is not reachable') },
      ]);
      expect(res.body.meta.request_id).toBe(res.headers['x-request-id']);
    } finally {
      await deadTemporal.close();
      // The probe must leave nothing retrying behind.
      await new Promise((r) => setTimeout(r, 1500));
    }
  });

  it('when Postgres is unreachable, then GET /health/ready is 503 naming postgres', async () => {
    const deadKnex = createKnex({ url: `postgres://postgres:postgres@127.0.0.1:${await freePort()}/none`, pool: { min: 0, max: 1 } });
    try {
      const { app } = await buildTestApp({ knex: deadKnex, env });
      const res = await request(app.callback()).get('/health/ready');
      expect(res.status).toBe(503);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['postgres']);
      expect(JSON.stringify(res.body)).not.toMatch(/ECONNREFUSED.*at |\n\s+at /);
    } finally {
      await deadKnex.destroy();
    }
  });
});
