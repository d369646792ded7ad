/**
 * The traced system for trace.test.ts, run as a process of its own: jest loads modules
 * through its own registry, which OpenTelemetry's require hooks never see, so here the
 * system starts the way the entry points start it — tracing first (with an in-memory
 * exporter instead of OTLP), then the app, a worker and the pool.
 *
 * A realtor and a buyer sign up, the buyer books, and the realtor confirms with the
 * X-Request-Id given as the argument. Prints one JSON line: every finished span, and the
 * log lines of the API and the worker.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import request from 'supertest';
import { createActivities } from '../../activities';
import { buildAdapters } from '../../adapters';
import { createApp } from '../../api/app';
import { redactSharedToken } from '../../api/share-links/rate-limit';
import { getConfig, loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { startTracing } from '../../lib/telemetry';
import { clientInterceptors } from '../../lib/temporal';
import { replayCodeOptions, workerCodeOptions } from '../../workers/worker';
import { bookingWorkflowId } from '../../contracts/bookings';
import { tourWorkflowId } from '../../contracts/tours';
import { TRACE_HEADER } from '../../workflows/interceptors';
import type { TestApp } from '../support/app';
import { createTestDatabase } from '../support/db';
import { createProperty, requestBooking, serverSlot } from '../support/factories';
import { createTimeSkippingEnv } from '../support/temporal';
import { signUp } from '../support/users';
import { eventually } from '../support/wait';

export interface SpanRecord {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  attributes: Record<string, unknown>;
  service: unknown;
}

export interface TracedConfirmOutput {
  bookingId: number;
  status: number;
  spans: SpanRecord[];
  apiLog: Array<Record<string, unknown>>;
  workerLog: Array<Record<string, unknown>>;
  /** The trace context (W3C traceparent, baggage) the tour workflow's start carried, as its history holds it. */
  tourStartContext: Record<string, string> | null;
  /** The booking workflow's history so far, replayed with and without the workflow interceptors: the error, if any. */
  replay: { withInterceptors: string | null; withoutInterceptors: string | null };
  /** Requests whose URLs carry secrets (a shared-recap token, a file link's signature): what was asked, and the statuses. */
  secrets: { token: string; signature: string; statuses: number[] };
}

function record(span: ReadableSpan): SpanRecord {
  return {
    name: span.name,
    kind: span.kind,
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    attributes: { ...span.attributes },
    service: span.resource.attributes['service.name'],
  };
}

/** A pino destination keeping every line as an object. */
function capture(): { stream: Writable; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { stream, lines };
}

async function main(requestId: string): Promise<void> {
  const exporter = new InMemorySpanExporter();
  const tracing = startTracing(getConfig(), 'rfy-trace-test', { spanProcessors: [new SimpleSpanProcessor(exporter)], redactPath: redactSharedToken });
  if (!tracing) throw new Error('tracing did not start');

  const [db, env] = await Promise.all([createTestDatabase(), createTimeSkippingEnv()]);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'rfy-trace-'));
  const config = loadConfig({
    ...process.env,
    LOG_LEVEL: 'info',
    DATA_DIR: dataDir,
    AUTH_RATE_LIMIT_MAX: '100000',
    AUTH_ACCOUNT_RATE_LIMIT_MAX: '100000',
    API_RATE_LIMIT_MAX: '0',
  });
  const apiLog = capture();
  const workerLog = capture();
  const logger = createLogger(config, 'trace-api', apiLog.stream);
  const workerLogger = createLogger(config, 'trace-worker', workerLog.stream);
  const adapters = buildAdapters(config, db.knex, logger);
  await adapters.identity.init();
  const client = new Client({ connection: env.connection, namespace: env.namespace ?? 'default', interceptors: clientInterceptors() });
  const temporalProbe = { check: async () => undefined, close: async () => undefined };
  const app = createApp({ config, logger, knex: db.knex, temporal: client, temporalProbe, adapters });
  const t: TestApp = { app, callback: app.callback(), config, adapters, dataDir, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };

  const activities = createActivities({ config, logger: workerLogger, knex: db.knex, ...adapters });
  // An activity that logs, as any may: its line must name the trace and the API request.
  const confirmBooking = activities.confirmBooking;
  activities.confirmBooking = async (...args: Parameters<typeof confirmBooking>) => {
    workerLogger.info({ bookingId: args[0] }, 'confirming the booking');
    return confirmBooking(...args);
  };
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: config.temporal.taskQueue,
    ...workerCodeOptions(tracing),
    activities,
  });
  const running = worker.run();

  try {
    // Probes are answered but never traced.
    for (const probe of ['/health', '/health/ready']) {
      const status = (await request(t.callback).get(probe)).status;
      if (status !== 200) throw new Error(`${probe} answered ${status}`);
    }
    const [realtor, buyer] = await Promise.all([signUp(t, 'realtor'), signUp(t, 'buyer')]);
    const propertyId = await createProperty(t, realtor);
    const booking = await requestBooking(t, buyer, propertyId, { scheduledAt: await serverSlot(env) });
    const res = await request(t.callback)
      .put(`/api/v1/realtors/bookings/${booking.id}/confirm`)
      .set(realtor.auth)
      .set('X-Request-Id', requestId);
    // The confirmation's activity.
    await eventually(
      'the spans of the confirmation',
      async () => {
        await tracing.flush();
        const spans = exporter.getFinishedSpans();
        return spans.some((s) => s.name === 'RunActivity:confirmBooking');
      },
      30_000,
    );
    // The tour workflow the confirmation started: the trace context its start carried.
    const tourId = Number((res.body as { data: { tour: { id: string } } }).data.tour.id);
    const tourHistory = await client.workflow.getHandle(tourWorkflowId(tourId)).fetchHistory();
    const header = tourHistory.events?.[0]?.workflowExecutionStartedEventAttributes?.header?.fields?.[TRACE_HEADER];
    const tourStartContext = header ? defaultPayloadConverter.fromPayload<Record<string, string>>(header) : null;
    // Recorded with tracing on: replayed with the workflow interceptors (as every worker
    // runs) and without them, it must succeed both ways: they change no command's timing.
    const history = await client.workflow.getHandle(bookingWorkflowId(booking.id)).fetchHistory();
    const replay = async (withInterceptors: boolean) => {
      const options = withInterceptors ? replayCodeOptions() : { workflowsPath: require.resolve('../../workflows') };
      return Worker.runReplayHistory({ ...options, replayName: withInterceptors ? 'with' : 'without' }, history).then(
        () => null,
        (err: Error) => `${err.name}: ${err.message}`,
      );
    };
    // URLs with secrets in them: a shared recap's token in the path, a file link's signature in the query.
    const token = 'tracedsecrettoken0123456789abcdefghijklmnop';
    const signature = 'feedfacecafebeef0123456789feedfacecafebeef0123456789feedfacecafe';
    const statuses = [
      (await request(t.callback).get(`/api/v1/shared/${token}`)).status,
      (await request(t.callback).get(`/files/properties/1/x.jpg?expires=4102444800&signature=${signature}`)).status,
    ];
    await tracing.flush();
    const out: TracedConfirmOutput = {
      bookingId: booking.id,
      status: res.status,
      spans: exporter.getFinishedSpans().map(record),
      apiLog: apiLog.lines,
      workerLog: workerLog.lines,
      tourStartContext,
      replay: { withInterceptors: await replay(true), withoutInterceptors: await replay(false) },
      secrets: { token, signature, statuses },
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    worker.shutdown();
    await running;
    await tracing.shutdown();
    await env.teardown();
    await db.destroy();
    t.cleanup();
  }
}

main(process.argv[2] ?? 'trace-test-confirm-0001').then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
