import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { NativeConnection, Runtime, Worker, makeTelemetryFilterString, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import type { Logger } from '../lib/logger';
import { activeTracing, type Tracing } from '../lib/telemetry';
import { trackParkedTours } from './state-metrics';

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

/** The workflow interceptors module every bundle carries; referenced here so the build compiles it too. */
export type WorkflowInterceptorsModule = typeof import('../workflows/interceptors');

/**
 * The workflow interceptor modules of every worker's bundle, tracing on or off: they carry
 * the trace context through workflows (workflows/interceptors.ts) and change nothing about
 * when commands are issued, so one bundle serves both settings and every history replays
 * with it.
 */
export function workflowInterceptorModules(): string[] {
  return [require.resolve('../workflows/interceptors')];
}

/** A prebuilt bundle made before the interceptors were part of every bundle lacks trace propagation. */
function bundleHasInterceptors(file: string): boolean {
  return readFileSync(file, 'utf8').includes('_tracer-data');
}

/**
 * The workflow code: the prebuilt bundle when there is one, else bundled at start (from
 * source under tsx, so a changed workflow is always picked up).
 */
function workflowCode(logger?: Logger): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> & { workflowModules?: string[] } {
  if (existsSync(PREBUILT_WORKFLOW_BUNDLE)) {
    if (bundleHasInterceptors(PREBUILT_WORKFLOW_BUNDLE)) return { workflowBundle: { codePath: PREBUILT_WORKFLOW_BUNDLE } };
    logger?.warn({ bundle: PREBUILT_WORKFLOW_BUNDLE }, 'the prebuilt workflow bundle lacks the workflow interceptors (rebuild with npm run build); bundling at start instead');
  }
  return { workflowsPath: require.resolve('../workflows'), workflowModules: workflowInterceptorModules() };
}

/**
 * Worker options for the workflow code and the tracing of this process: with tracing on,
 * each activity runs in a span continuing the trace its headers carry.
 */
export function workerCodeOptions(tracing: Tracing | undefined = activeTracing(), logger?: Logger): Partial<WorkerOptions> {
  const { workflowModules, ...code } = workflowCode(logger);
  return {
    ...code,
    interceptors: { ...(tracing ? { activity: tracing.activityInterceptors } : {}), ...(workflowModules ? { workflowModules } : {}) },
  };
}

/** Replay options with the workflow code workers run (`Worker.runReplayHistories`). */
export function replayCodeOptions(workflowsPath: string = require.resolve('../workflows')): { workflowsPath: string; interceptors: { workflowModules: string[] } } {
  return { workflowsPath, interceptors: { workflowModules: workflowInterceptorModules() } };
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
    ...workerCodeOptions(activeTracing(), opts.deps.logger),
    activities: createActivities(opts.deps),
    shutdownGraceTime: '10s',
    // Slots, pollers, cache, threads (TEMPORAL_WORKER_*; README "Scaling"): the configuration
    // holds them under the SDK's names and units (durations in milliseconds).
    ...opts.deps.config.temporal.worker,
    ...opts.overrides,
  });
  const parked = trackParkedTours(opts.deps.knex, opts.deps.logger);
  const done = worker.run().finally(() => {
    parked.stop();
    return Promise.all([connection.close(), opts.deps.transcriber.close?.()]);
  });
  return {
    worker,
    done,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
