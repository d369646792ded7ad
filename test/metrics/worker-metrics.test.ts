import request from 'supertest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { scrapeUrl } from '../../lib/metrics';
import { startWorkerHealthServer } from '../../workers/health-server';
import { installRuntime, sdkMetricsUrl } from '../../workers/worker';
import { buildTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { createProperty, requestBooking, confirmBooking, serverSlot } from '../support/factories';
import { freePort } from '../support/ports';
import { createTimeSkippingEnv } from '../support/temporal';
import { signUp, type SignedIn } from '../support/users';
import { failingFirst } from '../support/fail-first';
import { eventually } from '../support/wait';
import { startTestWorker } from '../support/worker';
import { scrape, type Exposition } from './exposition';

/**
 * The worker's /metrics: the Temporal SDK's runtime metrics next to the business KPIs the
 * activities record, each KPI moved exactly once by one booking → confirm → tour → end →
 * pipeline run over HTTP, also when an activity is retried.
 */
describe('worker metrics', () => {
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  let t: TestApp;
  let worker: Awaited<ReturnType<typeof startTestWorker>>;
  let health: { port: number; close(): Promise<void> };
  let realtor: SignedIn;
  let buyer: SignedIn;
  let failedRecordingStarts: () => number;
  const url = () => `http://127.0.0.1:${health.port}/metrics`;

  beforeAll(async () => {
    // Before the test environment creates the process's Temporal runtime: it is installed once.
    const sdkPort = await freePort();
    // Error level: the startCall failure below is on purpose.
    installRuntime(createLogger(loadConfig({ ...process.env, LOG_LEVEL: 'error' }), 'test-worker'), sdkPort);
    [db, env] = await Promise.all([createTestDatabase(), createTimeSkippingEnv()]);
    t = await buildTestApp({ knex: db.knex, env, config: { TOUR_EARLY_START_MINUTES: String(24 * 60), RECORD_CALLS: 'true' } });
    // The first recording start fails as a network error would: startCall is retried after its transaction committed.
    const failing = failingFirst(t.adapters.meetings, 'startRecording', 'connection reset while starting the capture');
    failedRecordingStarts = failing.failures;
    const meetings = failing.stub;
    worker = await startTestWorker(env, t, db.knex, { meetings });
    health = await startWorkerHealthServer(worker.worker, '127.0.0.1', 0, { sdkMetrics: scrapeUrl(sdkMetricsUrl(sdkPort)) });
    [realtor, buyer] = await Promise.all([signUp(t, 'realtor'), signUp(t, 'buyer')]);
  });

  afterAll(async () => {
    await health?.close();
    await worker?.stop();
    await env?.teardown();
    await db?.destroy();
    t?.cleanup();
  });

  const delta = (before: Exposition, after: Exposition) => (name: string, labels?: Record<string, string>) => after.sum(name, labels) - before.sum(name, labels);

  it('when a booking is confirmed, started, joined by both, ended and processed, then every KPI moves once and the SDK metrics are served', async () => {
    const before = await scrape(url());

    const propertyId = await createProperty(t, realtor);
    const booking = await requestBooking(t, buyer, propertyId, { scheduledAt: await serverSlot(env) });
    const { tourId, callId } = await confirmBooking(t, realtor, booking.id);
    const afterConfirm = await scrape(url());
    expect(delta(before, afterConfirm)('rfy_bookings_total', { outcome: 'confirmed' })).toBe(1);

    // A retry of the confirmation (the activity run again after it committed) counts nothing.
    const activities = createActivities({ config: t.config, logger: createLogger(t.config, 'test'), knex: db.knex, ...t.adapters });
    await expect(activities.confirmBooking(booking.id, { userId: realtor.id })).resolves.toEqual({ tourId, callId });
    expect(delta(before, await scrape(url()))('rfy_bookings_total', { outcome: 'confirmed' })).toBe(1);

    expect((await request(t.callback).post(`/api/v1/realtors/tours/${tourId}/start`).set(realtor.auth)).status).toBe(200);
    expect(failedRecordingStarts()).toBe(1);
    expect((await request(t.callback).post(`/api/v1/realtors/calls/${callId}/join`).set(realtor.auth)).status).toBe(200);
    expect((await request(t.callback).post(`/api/v1/buyers/calls/${callId}/join`).set(buyer.auth)).status).toBe(200);
    // A second join of someone already in the call is no new setup.
    expect((await request(t.callback).post(`/api/v1/buyers/calls/${callId}/join`).set(buyer.auth)).status).toBe(200);
    expect((await request(t.callback).post(`/api/v1/realtors/tours/${tourId}/end`).set(realtor.auth)).status).toBe(200);
    await eventually(`tour ${tourId} completed`, async () => (await db.knex('tours').where({ id: tourId }).first()).status === 'completed');
    // The tour's end completes its booking (through the BookingWorkflow).
    await eventually(`booking ${booking.id} completed`, async () => (await db.knex('bookings').where({ id: booking.id }).first()).status === 'completed');

    const after = await eventually('the completion counted', async () => {
      const x = await scrape(url());
      return x.sum('rfy_tours_completed_total') - before.sum('rfy_tours_completed_total') >= 1 && x;
    });
    const d = delta(before, after);
    expect(d('rfy_tours_started_total')).toBe(1);
    expect(d('rfy_tours_completed_total')).toBe(1);
    expect(d('rfy_call_setup_seconds_count', { phase: 'confirm_to_first_join' })).toBe(1);
    expect(d('rfy_call_setup_seconds_count', { phase: 'start_to_both_joined' })).toBe(1);
    expect(d('rfy_meeting_duration_seconds_count')).toBe(1);
    for (const step of ['recording', 'transcription', 'highlights', 'summary', 'summary_email']) {
      expect([step, d('rfy_pipeline_step_duration_seconds_count', { step })]).toEqual([step, 1]);
    }
    expect(d('rfy_pipeline_step_failures_total')).toBe(0);
    expect(d('rfy_tour_end_to_summary_seconds_count')).toBe(1);
    expect(d('rfy_bookings_total', { outcome: 'completed' })).toBe(1);
    // tour_start and tour_end notices and the summary, to both people, through the local outbox.
    expect(d('rfy_notifications_total', { provider: 'local', outcome: 'sent', kind: 'tour-summary' })).toBe(2);

    // The SDK's own runtime metrics, merged into the same exposition.
    const sdk = after.samples.filter((s) => s.name.startsWith('temporal_'));
    expect(sdk.length).toBeGreaterThan(0);
    // startCall runs as an activity or, on a tour's local-steps path, as a local activity.
    const startCall = { activity_type: 'startCall' };
    const executions = [...after.find('temporal_activity_execution_latency_count', startCall), ...after.find('temporal_local_activity_execution_latency_count', startCall)];
    expect(executions.length).toBeGreaterThan(0);
    expect(after.sum('temporal_activity_execution_failed', startCall) + after.sum('temporal_local_activity_execution_failed', startCall)).toBeGreaterThanOrEqual(1);
  });
});
