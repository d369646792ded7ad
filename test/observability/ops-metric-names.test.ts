import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parse } from 'yaml';
import request from 'supertest';
import { PROJECT_ROOT, loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { collectProcessMetrics, metricsRegistry, scrapeUrl } from '../../lib/metrics';
import { startWorkerHealthServer } from '../../workers/health-server';
import { trackParkedTours } from '../../workers/state-metrics';
import { installRuntime, sdkMetricsUrl } from '../../workers/worker';
import { buildTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { confirmBooking, createProperty, requestBooking, serverSlot } from '../support/factories';
import { freePort } from '../support/ports';
import { createTimeSkippingEnv } from '../support/temporal';
import { signUp } from '../support/users';
import { failingFirst } from '../support/fail-first';
import { eventually } from '../support/wait';
import { startTestWorker } from '../support/worker';
import { scrape, type Exposition } from '../metrics/exposition';

/**
 * Every metric an alert rule or a dashboard panel names exists, with the labels it uses,
 * in what the API and the worker serve: a renamed metric or label fails here instead of
 * leaving a silent panel or an alert that can never fire.
 *
 * The exposition is the all-in-one process's (as `npm start` serves it): the API's and
 * the activities' registry plus the Temporal SDK's exporter, after a booking is requested
 * and confirmed with one failing activity attempt and one failing workflow task, and its
 * tour started with one failing local activity attempt (startCall), so the SDK has
 * reported each series the rules use.
 */

const OPS = path.join(PROJECT_ROOT, 'ops');
/** Series Prometheus makes itself, not the application. */
const SYNTHETIC = new Set(['up']);
const PREFIX = /\b(?:rfy|temporal|nodejs|process)_[a-zA-Z0-9_:]*/g;
/** Labels every target has (added by Prometheus) or histograms have. */
const IMPLICIT_LABELS = new Set(['le', 'job', 'instance']);

interface Query {
  where: string;
  expr: string;
}

function alertQueries(): Query[] {
  const doc = parse(readFileSync(path.join(OPS, 'prometheus', 'alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
  return doc.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })));
}

function dashboardQueries(): Query[] {
  const dash = JSON.parse(readFileSync(path.join(OPS, 'grafana', 'dashboards', 'realtyforyou.json'), 'utf8')) as {
    panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
  };
  return dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr })));
}

/** Metric names a PromQL expression reads (ours all carry one of the prefixes). */
function metricsOf(expr: string): string[] {
  return [...new Set([...expr.replace(/"[^"]*"/g, '""').matchAll(PREFIX)].map((m) => m[0]))].filter((n) => !SYNTHETIC.has(n));
}

/** Label names an expression matches on or groups by. */
function labelsOf(expr: string): string[] {
  const labels = new Set<string>();
  const bare = expr.replace(/"[^"]*"/g, '""');
  for (const m of bare.matchAll(/\{([^}]*)\}/g)) for (const part of m[1]!.split(',')) if (part.trim()) labels.add(part.split(/=~|!~|!=|=/)[0]!.trim());
  for (const m of bare.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)) {
    for (const l of m[1]!.split(',')) if (l.trim()) labels.add(l.trim());
  }
  return [...labels].filter((l) => !IMPLICIT_LABELS.has(l));
}

/** The series family a sample name belongs to (histogram samples carry _bucket, _sum, _count). */
function family(x: Exposition, name: string): string | undefined {
  if (x.types.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  if (base !== name && ['histogram', 'summary'].includes(x.types.get(base) ?? '')) return base;
  if (x.samples.some((s) => s.name === name)) return name;
  return undefined;
}

/** Labels a family has: declared on our registry's metric, or seen on the SDK's samples. */
function labelsOfFamily(x: Exposition, fam: string): Set<string> {
  const own = metricsRegistry.getSingleMetric(fam) as unknown as { labelNames?: string[] } | undefined;
  if (own) return new Set(own.labelNames ?? []);
  return new Set(x.samples.filter((s) => s.name === fam || s.name.startsWith(`${fam}_`)).flatMap((s) => Object.keys(s.labels)));
}

describe('alert rules and dashboards name only metrics the system serves', () => {
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  let t: TestApp;
  let worker: Awaited<ReturnType<typeof startTestWorker>>;
  let health: { port: number; close(): Promise<void> };
  let parked: { stop(): void };
  let x: Exposition;

  beforeAll(async () => {
    // Before the test environment creates the process's Temporal runtime: it is installed once.
    const sdkPort = await freePort();
    // Fatal only: the failing workflow task below is on purpose.
    installRuntime(createLogger(loadConfig({ ...process.env, LOG_LEVEL: 'fatal' }), 'test-worker'), sdkPort);
    [db, env] = await Promise.all([createTestDatabase(), createTimeSkippingEnv()]);
    t = await buildTestApp({ knex: db.knex, env, config: { TOUR_EARLY_START_MINUTES: String(24 * 60), RECORD_CALLS: 'true' } });
    // The confirmation's first email fails as a network error would: its activity attempt fails
    // and is retried (the booking's request before it goes as a local activity).
    const confirmation = (msg: unknown) => (msg as { template?: string }).template === 'booking-confirmed';
    const notifier = failingFirst(t.adapters.notifier, 'send', 'connection reset by the email provider', confirmation).stub;
    // The first recording start fails too: startCall, a local activity on the tour's local-steps path, is retried.
    const meetings = failingFirst(t.adapters.meetings, 'startRecording', 'connection reset while starting the capture').stub;
    worker = await startTestWorker(env, t, db.knex, { notifier, meetings });
    collectProcessMetrics();
    parked = trackParkedTours(db.knex, createLogger(t.config, 'test'));
    health = await startWorkerHealthServer(worker.worker, '127.0.0.1', 0, { sdkMetrics: scrapeUrl(sdkMetricsUrl(sdkPort)) });

    const [realtor, buyer] = await Promise.all([signUp(t, 'realtor'), signUp(t, 'buyer')]);
    const propertyId = await createProperty(t, realtor);
    const booking = await requestBooking(t, buyer, propertyId, { scheduledAt: await serverSlot(env) });
    const { tourId } = await confirmBooking(t, realtor, booking.id);
    expect((await request(t.callback).post(`/api/v1/realtors/tours/${tourId}/start`).set(realtor.auth)).status).toBe(200);
    // A workflow type no worker has: its workflow task fails.
    const stray = await env.client.workflow.start('noSuchWorkflow', { taskQueue: t.config.temporal.taskQueue, workflowId: 'stray-workflow', args: [] });

    const url = `http://127.0.0.1:${health.port}/metrics`;
    x = await eventually(
      'the SDK to report a failed activity attempt, a failed local activity attempt and a failed workflow task',
      async () => {
        const e = await scrape(url);
        const failed = ['temporal_activity_execution_failed', 'temporal_local_activity_execution_failed', 'temporal_workflow_task_execution_failed'];
        return failed.every((name) => e.sum(name) >= 1) && e;
      },
      30_000,
    );
    await stray.terminate('test over');
  }, 120_000);

  afterAll(async () => {
    parked?.stop();
    await health?.close();
    await worker?.stop();
    await env?.teardown();
    await db?.destroy();
    t?.cleanup();
  });

  it('when the exposition is read, then the parked-tours gauge has read the database (no tour parked: 0, not NaN)', () => {
    expect(x.find('rfy_tours_parked').map((s) => s.value)).toEqual([0]);
  });

  for (const [kind, queries] of [
    ['alert rules', alertQueries()],
    ['dashboard panels', dashboardQueries()],
  ] as const) {
    it(`when the ${kind} are read, then every metric and label they use is served`, () => {
      expect(queries.length).toBeGreaterThan(5);
      const problems: string[] = [];
      for (const q of queries) {
        const names = metricsOf(q.expr);
        if (!names.length && !/\bup\{/.test(q.expr)) problems.push(`${q.where}: names no metric: ${q.expr}`);
        const families = names.map((n) => [n, family(x, n)] as const);
        for (const [n, f] of families) if (!f) problems.push(`${q.where}: ${n} is not served`);
        const known = new Set(families.flatMap(([, f]) => (f ? [...labelsOfFamily(x, f)] : [])));
        for (const l of labelsOf(q.expr)) if (families.every(([, f]) => f) && !known.has(l)) problems.push(`${q.where}: label ${l} is on none of ${names.join(', ')}`);
      }
      expect(problems).toEqual([]);
    });
  }
});
