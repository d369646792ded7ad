import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Knex } from 'knex';
import { createActivities, type ActivityDeps } from '../../activities';
import { createLogger } from '../../lib/logger';
import type { TestApp } from './app';

/** A real worker (all workflows, real activities) on the app's task queue. */
export async function startTestWorker(
  env: TestWorkflowEnvironment,
  t: TestApp,
  knex: Knex,
  overrides: Partial<ActivityDeps> = {},
): Promise<{ worker: Worker; stop(): Promise<void> }> {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: t.config.temporal.taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: createActivities({ config: t.config, logger: createLogger(t.config, 'test-worker'), knex, ...t.adapters, ...overrides }),
  });
  const running = worker.run();
  return {
    worker,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}
