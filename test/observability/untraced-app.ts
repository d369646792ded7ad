/**
 * The API with tracing off (no OTEL_* variables), for tracing-off.test.ts: started and
 * used the way api/main.ts does — tracing first, then the Temporal client, the pool and
 * the app — then asked what it loaded. Prints one JSON line: every loaded module path of
 * OpenTelemetry or the Temporal tracing interceptors (none expected, but for the no-op API
 * facade `@opentelemetry/api`, which prom-client's default metrics require for exemplars
 * whatever we do), and the log lines.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import request from 'supertest';
import { buildAdapters } from '../../adapters';
import { createApp } from '../../api/app';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { startTracing } from '../../lib/telemetry';
import { createTemporalClient } from '../../lib/temporal';
import { workerCodeOptions } from '../../workers/worker';
import { createTestDatabase } from '../support/db';
import { signUp } from '../support/users';

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'rfy-untraced-'));
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'info', DATA_DIR: dataDir, API_RATE_LIMIT_MAX: '0' });
  const tracing = startTracing(config, 'rfy-untraced');
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger(config, 'untraced', new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  }));
  const db = await createTestDatabase();
  // Nothing listens there: the client is lazy and these requests never call Temporal.
  const temporal = createTemporalClient('127.0.0.1:1', config.temporal);
  const adapters = buildAdapters(config, db.knex, logger);
  await adapters.identity.init();
  const app = createApp({ config, logger, knex: db.knex, temporal: temporal.client, temporalProbe: { check: async () => undefined, close: async () => undefined }, adapters });
  const t = { app, callback: app.callback(), config, adapters, dataDir, cleanup: () => undefined };
  try {
    const buyer = await signUp(t, 'buyer');
    const search = await request(t.callback).get('/api/v1/buyers/properties?per_page=5').set(buyer.auth);
    const loaded = Object.keys(require.cache).filter(
      (k) => /[\\/](@opentelemetry|interceptors-opentelemetry|require-in-the-middle|import-in-the-middle)[\\/]/.test(k) && !/[\\/]@opentelemetry[\\/]api[\\/]/.test(k),
    );
    const worker = workerCodeOptions();
    process.stdout.write(
      `${JSON.stringify({
        tracing: tracing ?? null,
        searchStatus: search.status,
        loaded,
        workerOptionKeys: Object.keys(worker),
        workerInterceptorKeys: Object.keys(worker.interceptors ?? {}),
        log: lines,
      })}\n`,
    );
  } finally {
    await temporal.connection.close();
    await db.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
