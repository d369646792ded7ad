import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { buildAdapters } from '../../adapters';
import { createApp } from '../../api/app';
import { createKnex, migrateLatest } from '../../db/knex';
import { getConfig, loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { createTemporalClient, createTemporalProbe, type TemporalHandle, type TemporalProbe } from '../../lib/temporal';
import { startTemporalDevServer, type RunningDevServer } from '../../lib/temporal-dev-server';
import { searchAttributesForCli } from '../../workflows/search-attributes';
import type { TestApp } from '../support/app';
import { createProperty, createBuyer, createRealtor, requestBooking, type SignedIn } from '../support/factories';
import { freePort } from '../support/ports';
import { startPostgresProcess, type PostgresProcess } from '../support/postgres-process';

/**
 * Dependencies failing under a running API: PostgreSQL stopped and started again, the
 * Temporal server stopped, no worker on the task queue. Each is a fast 503 with
 * Retry-After that names the part, never a 500 or a request that hangs.
 */

const RPC_TIMEOUT_MS = 2000;
/**
 * "Fast" here means bounded by the deadlines, not the ~20 s of SDK retries or the 10 s pool
 * wait it replaces; the margin is wide because CI shares two cores with other test files.
 */
const FAST_MS = 8000;

describe('dependency faults', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'rfy-faults-'));
  // As root, PostgreSQL runs as a `postgres` user that must reach its folder.
  chmodSync(root, 0o755);
  const logger = createLogger({ logLevel: 'silent', env: 'test' }, 'faults');
  let pgPort: number;
  let pg: PostgresProcess | undefined;
  let dev: RunningDevServer | undefined;
  let temporal: TemporalHandle;
  let probe: TemporalProbe;
  let t: TestApp;
  let knex: ReturnType<typeof createKnex>;
  let realtor: SignedIn;
  let buyer: SignedIn;
  let propertyId: number;

  const startPostgres = () => startPostgresProcess(path.join(root, 'postgres'), pgPort, 'faults');
  const http = () => request(t.callback);
  const timed = async (send: () => Promise<request.Response>) => {
    const t0 = Date.now();
    const res = await send();
    return { res, ms: Date.now() - t0 };
  };

  beforeAll(async () => {
    try {
      // The SDK logs every worker state change at INFO; this test only wants warnings.
      Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
    } catch {
      // Installed already in this process.
    }
    pgPort = await freePort();
    [pg, dev] = await Promise.all([
      startPostgres(),
      startTemporalDevServer({
        cliPath: getConfig().temporal.cliPath,
        dbFile: path.join(root, 'temporal', 'temporal.db'),
        port: await freePort(),
        uiPort: await freePort(),
        namespace: 'default',
        searchAttributes: searchAttributesForCli(),
        logger,
      }),
    ]);
    const dataDir = path.join(root, 'data');
    const config = loadConfig({
      ...process.env,
      DATA_DIR: dataDir,
      DATABASE_URL: pg.url,
      TEMPORAL_ADDRESS: dev.address,
      TEMPORAL_TASK_QUEUE: `faults-${Date.now()}`,
      TEMPORAL_RPC_TIMEOUT_MS: String(RPC_TIMEOUT_MS),
      AUTH_RATE_LIMIT_MAX: '100000',
      AUTH_ACCOUNT_RATE_LIMIT_MAX: '100000',
      API_RATE_LIMIT_MAX: '0',
    });
    knex = createKnex({ url: pg.url, pool: config.database.pool });
    await migrateLatest(knex);
    temporal = createTemporalClient(dev.address, config.temporal);
    probe = createTemporalProbe(dev.address);
    const adapters = buildAdapters(config, knex, logger);
    await adapters.identity.init();
    const app = createApp({ config, logger, knex, temporal: temporal.client, temporalProbe: probe, adapters });
    t = { app, callback: app.callback(), config, adapters, dataDir, cleanup: () => undefined };
    [realtor, buyer] = await Promise.all([createRealtor(t), createBuyer(t)]);
    propertyId = await createProperty(t, realtor);
  }, 120_000);

  afterAll(async () => {
    await probe?.close();
    await temporal?.connection.close();
    await knex?.destroy();
    await dev?.stop();
    await pg?.stop();
    rmSync(root, { recursive: true, force: true });
  }, 60_000);

  it('when no worker polls the task queue, then readiness is 503 naming the worker and a confirm is 503 at once, not a hang', async () => {
    const booking = await requestBooking(t, buyer, propertyId);
    const ready = await http().get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.errors).toEqual([{ code: 'SERVICE_UNAVAILABLE', field: 'worker', message: expect.stringContaining('No worker') }]);

    const { res, ms } = await timed(() => http().put(`/api/v1/realtors/bookings/${booking.id}/confirm`).set(realtor.auth));
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(res.body.errors[0]).toMatchObject({ code: 'SERVICE_UNAVAILABLE', field: 'worker' });
    expect(ms).toBeLessThan(FAST_MS);
    // Refused before it reached the workflow: the booking is still pending.
    const after = await http().get(`/api/v1/buyers/bookings/${booking.id}`).set(buyer.auth);
    expect(after.body.data.attributes.status).toBe('pending');
  });

  it('when a worker polls, then readiness is 200 with the worker ok and a confirm goes through', async () => {
    const connection = await NativeConnection.connect({ address: dev!.address });
    const worker = await Worker.create({
      connection,
      taskQueue: t.config.temporal.taskQueue,
      workflowsPath: require.resolve('../../workflows'),
      activities: createActivities({ config: t.config, logger, knex, ...t.adapters }),
    });
    const running = worker.run();
    try {
      const booking = await requestBooking(t, buyer, propertyId);
      // The worker's first poll reaches the server shortly after it starts.
      let ready = await http().get('/health/ready');
      for (let i = 0; i < 40 && ready.status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 250));
        ready = await http().get('/health/ready');
      }
      expect(ready.status).toBe(200);
      expect(ready.body.data.attributes).toEqual({ status: 'ready', postgres: 'ok', temporal: 'ok', worker: 'ok' });
      const confirm = await http().put(`/api/v1/realtors/bookings/${booking.id}/confirm`).set(realtor.auth);
      expect(confirm.status).toBe(200);
    } finally {
      worker.shutdown();
      await running;
      await connection.close();
    }
  }, 90_000);

  it('when PostgreSQL stops, then requests get 503 with Retry-After within 2 s, and succeed again once it is back', async () => {
    await pg!.stop();
    pg = undefined;

    const { res: login, ms } = await timed(() => http().post('/api/v1/auth/login').send({ email: 'nobody@example.com', password: 'whatever-123' }));
    expect(login.status).toBe(503);
    expect(login.headers['retry-after']).toMatch(/^\d+$/);
    expect(login.body.errors).toEqual([{ code: 'SERVICE_UNAVAILABLE', field: 'postgres', message: expect.any(String) }]);
    expect(ms).toBeLessThan(FAST_MS);
    const list = await timed(() => http().get('/api/v1/buyers/properties').set(buyer.auth));
    expect(list.res.status).toBe(503);
    expect(list.ms).toBeLessThan(FAST_MS);

    pg = await startPostgres();
    const back = await http().get('/api/v1/buyers/properties').set(buyer.auth);
    expect(back.status).toBe(200);
  }, 60_000);

  it('when Temporal stops, then a confirm is 503 naming temporal within the deadline, and a new booking is still taken', async () => {
    const booking = await requestBooking(t, buyer, propertyId);
    await dev!.stop();
    dev = undefined;

    const { res, ms } = await timed(() => http().put(`/api/v1/realtors/bookings/${booking.id}/confirm`).set(realtor.auth));
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(res.body.errors[0]).toMatchObject({ code: 'SERVICE_UNAVAILABLE', field: 'temporal' });
    expect(ms).toBeLessThan(FAST_MS);

    // The booking is kept (the sweeper starts its workflow later); its start is bounded by
    // the request's deadline instead of the SDK's ~20 s of retries.
    const created = await timed(() => requestBooking(t, buyer, propertyId).then(() => ({}) as request.Response));
    expect(created.ms).toBeLessThan(FAST_MS + RPC_TIMEOUT_MS);
  }, 60_000);
});
