/** Production entry point of the API: `npm run start:api` with DATABASE_URL and TEMPORAL_ADDRESS. */
import { getConfig } from '../lib/config';
import { createLogger, type Logger } from '../lib/logger';
import { exitOnStartupError, handleShutdown } from '../lib/shutdown';
import { createTemporalClient, createTemporalProbe } from '../lib/temporal';
import { buildAdapters } from '../adapters';
import { createKnex } from '../db/knex';
import { createApp } from './app';
import { listen } from './server';
import { collectProcessMetrics, startMetricsServer } from '../lib/metrics';
import { startTracing } from '../lib/telemetry';

async function main(): Promise<void> {
  let logger: Logger | undefined;
  try {
    const config = getConfig();
    // First: the Temporal client, the app and the pool below are then traced (when on).
    const tracing = startTracing(config, 'realtyforyou-api');
    logger = createLogger(config, 'api');
    if (!config.database.url || !config.temporal.address) {
      throw new Error('start:api needs DATABASE_URL and TEMPORAL_ADDRESS; `npm start` runs everything embedded instead');
    }
    const knex = createKnex({ url: config.database.url, pool: config.database.pool, logger });
    const temporal = createTemporalClient(config.temporal.address, config.temporal);
    const temporalProbe = createTemporalProbe(config.temporal.address);
    const adapters = buildAdapters(config, knex, logger);
    await adapters.identity.init();
    const app = createApp({ config, logger, knex, temporal: temporal.client, temporalProbe, adapters });
    const http = await listen(app, config.http.host, config.http.port);
    collectProcessMetrics();
    // Its own port: the public API never exposes internals to scrapers from outside.
    const metrics = config.metrics.port > 0 ? await startMetricsServer(config.http.host, config.metrics.port) : undefined;
    logger.info({ port: config.http.port, metricsPort: metrics?.port ?? 'off', tracing: tracing ? config.telemetry.traces : 'off' }, 'API listening');
    handleShutdown(
      () => [
        ...(metrics ? [{ name: 'metrics', run: () => metrics.close() }] : []),
        { name: 'http', run: () => http.close() },
        { name: 'temporal-client', run: () => temporal.connection.close() },
        { name: 'temporal-probe', run: () => temporalProbe.close() },
        { name: 'knex', run: () => knex.destroy() },
        // Last: the spans of everything above are exported before the process exits.
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
