import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Knex } from 'knex';
import { createActivities, type ActivityDeps } from '../../activities';
import { createLogger } from '../../lib/logger';
import type { TestApp } from './app';

/**
 * A worker a test stops and starts again (every workflow, the real activities), without a
 * workflow cache: a cached workflow's next task goes to its worker's sticky queue, and the
 * time-skipping test server never moves it off the queue of a worker that is gone (a real
 * server does, after the sticky schedule-to-start timeout or when the worker says goodbye).
 * Without a cache every task is replayed from history, which is what a fresh worker has to
 * do anyway.
 */
export class RestartableWorker {
  private current: { worker: Worker; running: Promise<void> } | undefined;

  constructor(
    private readonly env: TestWorkflowEnvironment,
    private readonly t: TestApp,
    private readonly knex: Knex,
  ) {}

  get running(): boolean {
    return this.current !== undefined;
  }

  async start(overrides: Partial<ActivityDeps> = {}): Promise<void> {
    if (this.current) throw new Error('the worker is already running');
    const w = await Worker.create({
      connection: this.env.nativeConnection,
      taskQueue: this.t.config.temporal.taskQueue,
      workflowsPath: require.resolve('../../workflows'),
      activities: createActivities({ config: this.t.config, logger: createLogger(this.t.config, 'test-worker'), knex: this.knex, ...this.t.adapters, ...overrides }),
      maxCachedWorkflows: 0,
    });
    this.current = { worker: w, running: w.run() };
  }

  /** Shuts the worker down (its running activities are cancelled) and waits until it has stopped. */
  async stop(): Promise<void> {
    const c = this.current;
    if (!c) throw new Error('the worker is not running');
    this.current = undefined;
    if (c.worker.getState() === 'RUNNING') c.worker.shutdown();
    await c.running;
    if (c.worker.getState() !== 'STOPPED') throw new Error(`the worker did not stop (${c.worker.getState()})`);
  }
}
