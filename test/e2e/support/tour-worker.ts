/**
 * A worker process for the worker-kill test: the real worker (all workflows, the real
 * activities, adapters chosen by configuration) against the test database and the
 * time-skipping server, configured like production through the environment
 * (DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_TASK_QUEUE, DATA_DIR, AI_PROVIDER, ...).
 * Prints a line with WORKER_READY once it polls; SIGTERM stops it cleanly, SIGKILL is
 * what the test is about.
 */
import { buildWorkerAdapters } from '../../../adapters';
import { createKnex } from '../../../db/knex';
import { getConfig } from '../../../lib/config';
import { createLogger } from '../../../lib/logger';
import { startWorker } from '../../../workers/worker';

export const WORKER_READY = 'WORKER_READY';

async function main(): Promise<void> {
  const config = getConfig();
  if (!config.database.url || !config.temporal.address) throw new Error('DATABASE_URL and TEMPORAL_ADDRESS are required');
  const logger = createLogger(config, `kill-test-worker-${process.pid}`);
  const knex = createKnex({ url: config.database.url, pool: { min: 0, max: 5 }, logger });
  const adapters = buildWorkerAdapters(config, knex, logger);
  const handle = await startWorker({
    address: config.temporal.address,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    deps: { config, logger, knex, ...adapters },
    // No workflow cache, so no sticky task queue: the time-skipping test server never moves
    // a workflow task off a dead worker's sticky queue (a real server does after its
    // sticky schedule-to-start timeout), and this worker exists to be killed.
    overrides: { maxCachedWorkflows: 0 },
  });
  process.once('SIGTERM', () => {
    void handle.shutdown().finally(() => knex.destroy());
  });
  process.stdout.write(`${WORKER_READY} ${process.pid}\n`);
  await handle.done;
  await knex.destroy();
}

main().catch((err: unknown) => {
  process.stderr.write(`worker failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
