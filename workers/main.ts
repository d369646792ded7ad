/** Production entry point of the worker: `npm run start:worker` with DATABASE_URL and TEMPORAL_ADDRESS. */
import { getConfig } from '../lib/config';
import { createLogger, type Logger } from '../lib/logger';
import { exitOnStartupError, handleShutdown } from '../lib/shutdown';
import { buildWorkerAdapters } from '../adapters';
import { createKnex } from '../db/knex';
import { createTemporalClient } from '../lib/temporal';
import { startWorkerHealthServer } from './health-server';
import { startConfiguredBookingSweeper } from './booking-sweeper';
import { startConfiguredWebhookDispatcher } from './webhook-dispatcher';
import { collectProcessMetrics, scrapeUrl } from '../lib/metrics';
import { startTracing } from '../lib/telemetry';
import { sdkMetricsUrl, startWorker } from './worker';

async function main(): Promise<void> {
  let logger: Logger | undefined;
  try {
    const config = getConfig();
    // First: the worker, its activities' queries and the sweeper's client are then traced (when on).
    const tracing = startTracing(config, 'realtyforyou-worker');
    logger = createLogger(config, 'worker');
    if (!config.database.url || !config.temporal.address) {
      throw new Error('start:worker needs DATABASE_URL and TEMPORAL_ADDRESS; `npm start` runs everything embedded instead');
    }
    // Its own pool: as many connections as its activities and local activities use at once, and
    // they wait for one rather than fail fast as an API request does (TEMPORAL_WORKER_DATABASE_*).
    const knex = createKnex({ url: config.database.url, pool: { ...config.database.pool, ...config.temporal.workerDatabasePool }, logger });
    const adapters = buildWorkerAdapters(config, knex, logger);
    const worker = await startWorker({
      address: config.temporal.address,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      deps: { config, logger, knex, ...adapters },
    });
    const temporal = createTemporalClient(config.temporal.address, config.temporal);
    const sweeper = startConfiguredBookingSweeper(config, knex, temporal.client, logger);
    const webhooks = startConfiguredWebhookDispatcher(config, knex, temporal.client, logger);
    collectProcessMetrics();
    const sdkMetrics = config.metrics.sdkPort > 0 ? scrapeUrl(sdkMetricsUrl(config.metrics.sdkPort)) : undefined;
    const health = await startWorkerHealthServer(worker.worker, config.http.host, config.http.workerHealthPort, { sdkMetrics });
    logger.info(
      { taskQueue: config.temporal.taskQueue, health: config.http.workerHealthPort, tracing: tracing ? config.telemetry.traces : 'off' },
      'worker running',
    );
    worker.done.catch((err) => exitOnStartupError(logger, err));
    handleShutdown(
      () => [
        { name: 'health', run: () => health.close() },
        { name: 'booking-sweeper', run: () => sweeper.stop() },
        { name: 'webhook-dispatcher', run: () => webhooks.stop() },
        { name: 'worker', run: () => worker.shutdown() },
        { name: 'temporal-client', run: () => temporal.connection.close() },
        { name: 'knex', run: () => knex.destroy() },
        // Last: the spans of the activities that finished during shutdown go out too.
        ...(tracing ? [{ name: 'telemetry', run: () => tracing.shutdown() }] : []),
      ],
      logger,
      config.shutdownTimeoutMs,
    );
  } catch (err) {
    exitOnStartupError(logger, err);
  }
}

void main();
