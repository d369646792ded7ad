import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ActivityDeps } from '../../activities';
import type { TemporalProbe } from '../../lib/temporal';
import { buildTestApp, type TestApp } from './app';
import { createTestDatabase, type TestDatabase } from './db';
import { httpOf, type Http } from './http';
import { createTimeSkippingEnv } from './temporal';
import { startTestWorker } from './worker';

/** Configuration under which a tour booked for the next hours can be started at once. */
export const TOURS_STARTABLE_NOW = { TOUR_EARLY_START_MINUTES: String(24 * 60) } as const;

export interface TestSystem {
  db: TestDatabase;
  env: TestWorkflowEnvironment;
  /** The real app on the test database and the time-skipping server. */
  t: TestApp;
  http: Http;
  /** The worker on the app's task queue, when one was asked for. */
  worker: Awaited<ReturnType<typeof startTestWorker>> | undefined;
  /** Runs `fn` at stop(), before the system goes (the last one added runs first). */
  onStop(fn: () => unknown): void;
  /** Stops what the test added, the worker, the app's transcriber, then the app, database and server. */
  stop(): Promise<void>;
}

export interface TestSystemOptions {
  /** Configuration over the test defaults (see buildTestApp). */
  config?: Record<string, string>;
  /** A real worker with the real activities on the app's task queue: `true`, or the dependencies to replace. */
  worker?: boolean | Partial<ActivityDeps>;
  temporalProbe?: TemporalProbe;
}

/**
 * What most integration tests stand on: a database of their own, the time-skipping
 * Temporal server, the app wired to both and, if asked, a worker. Start it in beforeAll
 * and stop it in afterAll; a failure half-way stops what had started.
 */
export async function startTestSystem(opts: TestSystemOptions = {}): Promise<TestSystem> {
  const cleanups: Array<() => unknown> = [];
  const stop = async () => {
    const errors: unknown[] = [];
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length) throw errors[0];
  };
  try {
    const [db, env] = await Promise.all([createTestDatabase(), createTimeSkippingEnv()]);
    cleanups.push(() => Promise.all([db.destroy(), env.teardown()]));
    const t = await buildTestApp({ knex: db.knex, env, config: opts.config, temporalProbe: opts.temporalProbe });
    cleanups.push(() => t.cleanup());
    // The local transcriber keeps a process of its own once it has been used.
    cleanups.push(() => t.adapters.transcriber.close?.());
    const worker = opts.worker ? await startTestWorker(env, t, db.knex, opts.worker === true ? {} : opts.worker) : undefined;
    if (worker) cleanups.push(() => worker.stop());
    return { db, env, t, http: httpOf(t), worker, onStop: (fn) => void cleanups.push(fn), stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
