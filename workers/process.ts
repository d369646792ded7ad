import { spawn, type ChildProcess } from 'node:child_process';
import { childProcessEnv } from '../lib/config';
import type { Logger } from '../lib/logger';
import { StartupError } from '../lib/shutdown';

/**
 * The worker as a process of its own under `npm start` (workers/main.ts, as production runs
 * it): its own event loop, heap and database pool, so workflow tasks and activities do not
 * queue behind API requests on one event loop. It inherits this process's node flags (tsx
 * from source, nothing from the build) and environment, with the embedded PostgreSQL and
 * Temporal addresses, and answers /health and /metrics on `healthPort` (localhost).
 *
 * In a process group of its own, like PostgreSQL and Temporal: Ctrl-C in the terminal
 * reaches only `npm start`, which stops the worker after the API and before Temporal.
 */

export interface WorkerProcess {
  pid: number;
  /** The worker's /metrics: its activities' KPIs, its Node process and the Temporal SDK's series. */
  metricsUrl: string;
  /** SIGTERM, then waits for it to stop (SIGKILL after `killAfterMs`); rejects if it had died on its own. */
  stop(): Promise<void>;
}

export interface WorkerProcessOptions {
  /** The embedded (or given) PostgreSQL and Temporal. */
  databaseUrl: string;
  temporalAddress: string;
  healthPort: number;
  /**
   * V8's old-space limit of each of its isolates (the main thread and the workflow
   * threads), in MB; 0 leaves node's default. Without one, V8 lets a busy worker's heaps grow
   * far past what they hold before collecting (README "Scaling").
   */
  maxOldSpaceMb: number;
  /**
   * glibc's MALLOC_ARENA_MAX for it; 0 leaves glibc's default (8 arenas per core). The
   * worker's many threads (the SDK core's, the workflow thread, libuv's) each get a malloc
   * arena of their own by default, and the memory freed in each stays mapped: with 2 the
   * worker's peak RSS was 653 MiB instead of 722–733 at 500 tours, at no CPU cost measured.
   */
  mallocArenaMax: number;
  logger: Logger;
  /** How long to wait for its /health to answer 200 (bundling the workflows from source takes a while). */
  readyTimeoutMs?: number;
  killAfterMs?: number;
  /** Called once if it stops on its own after it was ready (`npm start` then shuts down as a whole). */
  onUnexpectedExit?: () => void;
}

/** The worker's node arguments and environment: its heap limit, its malloc arenas, the stack's addresses. */
export function workerCommand(opts: Pick<WorkerProcessOptions, 'databaseUrl' | 'temporalAddress' | 'healthPort' | 'maxOldSpaceMb' | 'mallocArenaMax'>): { args: string[]; env: NodeJS.ProcessEnv } {
  const heap = opts.maxOldSpaceMb > 0 ? [`--max-old-space-size=${opts.maxOldSpaceMb}`] : [];
  return {
    // Not the API's own heap limit (npm start's flags): the worker's is its own, or node's default.
    args: [...process.execArgv.filter((a) => !a.startsWith('--max-old-space-size')), ...heap, require.resolve('./main')],
    env: childProcessEnv({
      DATABASE_URL: opts.databaseUrl,
      TEMPORAL_ADDRESS: opts.temporalAddress,
      HOST: '127.0.0.1',
      WORKER_HEALTH_PORT: String(opts.healthPort),
      ...(opts.mallocArenaMax > 0 ? { MALLOC_ARENA_MAX: String(opts.mallocArenaMax) } : {}),
    }),
  };
}

export async function startWorkerProcess(opts: WorkerProcessOptions): Promise<WorkerProcess> {
  const { args, env } = workerCommand(opts);
  const child: ChildProcess = spawn(process.execPath, args, {
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let stopping = false;
  let ready = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      if (!stopping && ready) {
        opts.logger.error({ code, signal }, 'the worker process stopped on its own');
        opts.onUnexpectedExit?.();
      }
      resolve();
    });
    child.once('error', (err) => {
      opts.logger.error({ err }, 'the worker process could not be started');
      exited ??= { code: null, signal: null };
      resolve();
    });
  });
  // If this process ends without stopping it (a second Ctrl-C, a shutdown timeout), stop it here.
  process.once('exit', () => {
    if (!exited) child.kill('SIGTERM');
  });

  const base = `http://127.0.0.1:${opts.healthPort}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 180_000);
  for (;;) {
    if (exited) throw new StartupError(`the worker process exited (${exited.code ?? exited.signal}) before it was ready; see its output above`);
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new StartupError(`the worker process did not report ready on ${base}/health within ${opts.readyTimeoutMs ?? 180_000} ms`);
    }
    const ok = await fetch(`${base}/health`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  ready = true;

  return {
    pid: child.pid!,
    metricsUrl: `${base}/metrics`,
    async stop() {
      const diedOnItsOwn = exited !== undefined && !stopping;
      stopping = true;
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs ?? 30_000);
        await exitPromise;
        clearTimeout(timer);
      }
      if (diedOnItsOwn) throw new Error(`the worker process had stopped on its own (${exited!.code ?? exited!.signal})`);
    },
  };
}
