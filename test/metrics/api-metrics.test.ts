import request from 'supertest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { UNMATCHED_ROUTE } from '../../api/middleware/metrics';
import { collectProcessMetrics, startMetricsServer, type MetricsServer } from '../../lib/metrics';
import { buildTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { createTimeSkippingEnv } from '../support/temporal';
import { signUp, type SignedIn } from '../support/users';
import { parseExposition, scrape } from './exposition';

/** The API's Prometheus metrics: served on their own port, labelled by route template. */
describe('API metrics', () => {
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  let t: TestApp;
  let limited: TestApp;
  let metrics: MetricsServer;
  let buyer: SignedIn;
  const url = () => `http://127.0.0.1:${metrics.port}/metrics`;
  const DURATION = 'rfy_http_request_duration_seconds';
  const BY_ID = '/api/v1/buyers/bookings/:id';

  beforeAll(async () => {
    [db, env] = await Promise.all([createTestDatabase(), createTimeSkippingEnv()]);
    t = await buildTestApp({ knex: db.knex, env });
    // The same system with a per-user limit of two requests a minute.
    limited = await buildTestApp({ knex: db.knex, env, config: { DATA_DIR: t.config.paths.data, API_RATE_LIMIT_MAX: '2' } });
    collectProcessMetrics();
    metrics = await startMetricsServer('127.0.0.1', 0);
    buyer = await signUp(t, 'buyer');
  });

  afterAll(async () => {
    await metrics?.close();
    await env?.teardown();
    await db?.destroy();
    t?.cleanup();
  });

  it('when /metrics is asked of the public API port, then 404; on the metrics port, then a valid exposition with process metrics', async () => {
    expect((await request(t.callback).get('/metrics')).status).toBe(404);
    const res = await fetch(url());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const x = parseExposition(await res.text());
    expect(x.types.get(DURATION)).toBe('histogram');
    expect(x.types.get('rfy_http_requests_in_flight')).toBe('gauge');
    expect(x.types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
    expect(x.find('process_resident_memory_bytes').length).toBe(1);
    expect((await fetch(`http://127.0.0.1:${metrics.port}/other`)).status).toBe(404);
  });

  it('when 30 different booking ids are read, then one series carries them under the route template', async () => {
    const before = await scrape(url());
    for (let id = 900_001; id <= 900_030; id++) {
      expect((await request(t.callback).get(`/api/v1/buyers/bookings/${id}`).set(buyer.auth)).status).toBe(404);
    }
    const after = await scrape(url());
    const labels = { method: 'GET', route: BY_ID, status_class: '4xx' };
    expect(after.sum(`${DURATION}_count`, labels) - before.sum(`${DURATION}_count`, labels)).toBe(30);
    expect(after.find(`${DURATION}_count`, labels)).toHaveLength(1);
    // No label anywhere holds a raw path with an id.
    expect(after.samples.filter((s) => Object.values(s.labels).some((v) => v.includes('900')))).toEqual([]);
    expect(after.sum('rfy_http_errors_total', { code: 'NOT_FOUND', status: '404' }) - before.sum('rfy_http_errors_total', { code: 'NOT_FOUND', status: '404' })).toBe(30);
  });

  it('when a path no route serves, a missing token and a success are requested, then each is counted under its label', async () => {
    const before = await scrape(url());
    expect((await request(t.callback).get('/api/v1/no-such-thing/42')).status).toBe(404);
    expect((await request(t.callback).get('/api/v1/buyers/bookings')).status).toBe(401);
    expect((await request(t.callback).get('/api/v1/buyers/bookings').set(buyer.auth)).status).toBe(200);
    const after = await scrape(url());
    const delta = (name: string, labels: Record<string, string>) => after.sum(name, labels) - before.sum(name, labels);
    expect(delta(`${DURATION}_count`, { method: 'GET', route: UNMATCHED_ROUTE, status_class: '4xx' })).toBe(1);
    expect(delta(`${DURATION}_count`, { method: 'GET', route: '/api/v1/buyers/bookings', status_class: '4xx' })).toBe(1);
    expect(delta(`${DURATION}_count`, { method: 'GET', route: '/api/v1/buyers/bookings', status_class: '2xx' })).toBe(1);
    expect(delta('rfy_http_errors_total', { code: 'UNAUTHORIZED' })).toBe(1);
    expect(delta('rfy_http_errors_total', { code: 'NOT_FOUND' })).toBe(1);
    // Nothing is in flight between requests.
    expect(after.sum('rfy_http_requests_in_flight')).toBe(0);
  });

  it('when a user goes over the rate limit, then the refusal is counted for the route', async () => {
    const before = await scrape(url());
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await request(limited.callback).get('/api/v1/buyers/bookings').set(buyer.auth)).status);
    expect(statuses).toEqual([200, 200, 429]);
    const after = await scrape(url());
    const route = { route: '/api/v1/buyers/bookings' };
    expect(after.sum('rfy_http_rate_limited_total', route) - before.sum('rfy_http_rate_limited_total', route)).toBe(1);
    expect(after.sum('rfy_http_errors_total', { code: 'RATE_LIMITED' }) - before.sum('rfy_http_errors_total', { code: 'RATE_LIMITED' })).toBe(1);
  });
});
