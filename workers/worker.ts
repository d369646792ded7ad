import { existsSync } from 'node:fs';
import path from 'node:path';
import { NativeConnection, Runtime, Worker, makeTelemetryFilterString, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import type { Logger } from '../lib/logger';

export interface WorkerHandle {
  worker: Worker;
  /** Resolves when the worker has stopped (after shutdown() or a fatal error). */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

let runtimeInstalled = false;

/** Where the SDK's own Prometheus exporter answers (localhost only: scraped through the worker's /metrics). */
export function sdkMetricsUrl(sdkPort: number): string {
  return `http://127.0.0.1:${sdkPort}/metrics`;
}

/**
 * Routes the SDK core's logs through pino at warn level (it is chatty otherwise) and,
 * with a port, starts the SDK's Prometheus exporter of its runtime metrics (task and
 * schedule-to-start latencies, activity failures, sticky cache, pollers). The runtime
 * is installed once per process, before any connection: later calls are no-ops.
 */
export function installRuntime(logger: Logger, sdkMetricsPort = 0): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const log = logger.child({ component: 'temporal-sdk' });
  Runtime.install({
    logger: {
      log: (level, message, meta) => log[level === 'TRACE' ? 'trace' : (level.toLowerCase() as 'info')](meta ?? {}, message),
      trace: (m, meta) => log.trace(meta ?? {}, m),
      debug: (m, meta) => log.debug(meta ?? {}, m),
      info: (m, meta) => log.info(meta ?? {}, m),
      warn: (m, meta) => log.warn(meta ?? {}, m),
      error: (m, meta) => log.error(meta ?? {}, m),
    },
    // Our own shutdown sequence owns SIGINT/SIGTERM; the SDK would otherwise stop the
    // worker and re-raise the signal before Postgres and Temporal are stopped in order.
    shutdownSignals: [],
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
      ...(sdkMetricsPort > 0 ? { metrics: { prometheus: { bindAddress: `127.0.0.1:${sdkMetricsPort}`, useSecondsForDurations: true } } } : {}),
    },
  });
}

/** Written by `npm run build` next to the compiled code: workers then start without webpack. */
export const PREBUILT_WORKFLOW_BUNDLE = path.join(__dirname, '..', 'workflow-bundle.js');

function workflowCode(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  if (existsSync(PREBUILT_WORKFLOW_BUNDLE)) return { workflowBundle: { codePath: PREBUILT_WORKFLOW_BUNDLE } };
  // From source (tsx): bundled at start, so a changed workflow is always picked up.
  return { workflowsPath: require.resolve('../workflows') };
}

export interface StartWorkerOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  overrides?: Partial<WorkerOptions>;
}

export async function startWorker(opts: StartWorkerOptions): Promise<WorkerHandle> {
  installRuntime(opts.deps.logger, opts.deps.config.metrics.sdkPort);
  // A worker that could not transcribe (e.g. a local model whose hashes differ) refuses to start.
  await opts.deps.transcriber.prepare?.();
  const connection = await NativeConnection.connect({ address: opts.address });
  const worker = await Worker.create({
    connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    ...workflowCode(),
    activities: createActivities(opts.deps),
    shutdownGraceTime: '10s',
    ...opts.overrides,
  });
  const done = worker.run().finally(() => Promise.all([connection.close(), opts.deps.transcriber.close?.()]));
  return {
    worker,
    done,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
