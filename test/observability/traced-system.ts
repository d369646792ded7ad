/**
 * The system as the entry points start it, traced into memory, for the tracing tests'
 * harnesses (each a process of its own: jest loads modules through its own registry, which
 * OpenTelemetry's require hooks never see): tracing first, with an in-memory exporter and
 * the configuration's sampling, then the app, a worker whose confirmBooking logs a line,
 * and the pool; both processes' log lines kept.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { buildAdapters } from '../../adapters';
import { createApp } from '../../api/app';
import { getConfig, loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { startTracing, type Tracing } from '../../lib/telemetry';
import { clientInterceptors } from '../../lib/temporal';
import { workerCodeOptions } from '../../workers/worker';
import type { TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { createTimeSkippingEnv } from '../support/temporal';

export interface SpanRecord {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  attributes: Record<string, unknown>;
  service: unknown;
}

export function record(span: ReadableSpan): SpanRecord {
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

export interface TracedSystem {
  t: TestApp;
  env: TestWorkflowEnvironment;
  db: TestDatabase;
  client: Client;
  tracing: Tracing;
  exporter: InMemorySpanExporter;
  apiLog: Array<Record<string, unknown>>;
  workerLog: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

export async function startTracedSystem(serviceName: string): Promise<TracedSystem> {
  const exporter = new InMemorySpanExporter();
  const tracing = startTracing(getConfig(), serviceName, { spanProcessors: [new SimpleSpanProcessor(exporter)] });
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
  return {
    t,
    env,
    db,
    client,
    tracing,
    exporter,
    apiLog: apiLog.lines,
    workerLog: workerLog.lines,
    async stop() {
      worker.shutdown();
      await running;
      await tracing.shutdown();
      await env.teardown();
      await db.destroy();
      t.cleanup();
    },
  };
}
