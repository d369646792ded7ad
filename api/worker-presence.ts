import { AsyncLocalStorage } from 'node:async_hooks';
import type { ConnectionLike } from '@temporalio/client';
import type { WorkflowService } from '@temporalio/client';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { ServiceUnavailableError } from '../lib/errors';
import { dependencyFault } from './dependency-faults';

/**
 * Whether a worker is polling the task queue, from Temporal's DescribeTaskQueue: without
 * one, a workflow command would be accepted and then hang until the client gives up (and
 * take effect later anyway). Readiness reports it; commands refuse with 503 at once.
 */

// temporal.api.enums.v1.TaskQueueKind.NORMAL and TaskQueueType.WORKFLOW.
const TASK_QUEUE_KIND_NORMAL = 1;
const TASK_QUEUE_TYPE_WORKFLOW = 1;
/** gRPC UNIMPLEMENTED: a server that cannot describe queues (the time-skipping test server). */
const GRPC_UNIMPLEMENTED = 12;
/** A positive answer is reused this long, so commands do not each pay a round trip. */
const REUSE_POSITIVE_MS = 3000;
/** How long the check may take: well inside the request's own Temporal deadline. */
const CHECK_TIMEOUT_MS = 1500;

export interface WorkerPresence {
  /**
   * Throws a 503 naming `worker` (no poller lately) or `temporal` (it did not answer);
   * `unknown` when the server cannot tell (then commands go ahead as before).
   */
  require(): Promise<'polling' | 'unknown'>;
}

export interface WorkerPresenceOptions {
  connection: Pick<ConnectionLike, 'withDeadline'> & { workflowService: Pick<WorkflowService, 'describeTaskQueue'> };
  namespace: string;
  taskQueue: string;
  maxAgeMs: number;
  now?: () => number;
}

export function createWorkerPresence(opts: WorkerPresenceOptions): WorkerPresence {
  const now = opts.now ?? Date.now;
  let seenAt: number | undefined;

  async function lastPollMs(): Promise<number | undefined | 'unknown'> {
    try {
      const res = await opts.connection.withDeadline(now() + CHECK_TIMEOUT_MS, () =>
        opts.connection.workflowService.describeTaskQueue({
          namespace: opts.namespace,
          taskQueue: { name: opts.taskQueue, kind: TASK_QUEUE_KIND_NORMAL },
          taskQueueType: TASK_QUEUE_TYPE_WORKFLOW,
        }),
      );
      const times = (res.pollers ?? []).map((p) => optionalTsToMs(p.lastAccessTime) ?? 0);
      return times.length ? Math.max(...times) : undefined;
    } catch (err) {
      if ((err as { code?: number }).code === GRPC_UNIMPLEMENTED) return 'unknown';
      const fault = dependencyFault(err);
      throw new ServiceUnavailableError([{ field: 'temporal', message: fault?.message ?? `Temporal could not describe the task queue: ${(err as Error).message}` }]);
    }
  }

  return {
    async require() {
      if (seenAt !== undefined && now() - seenAt < REUSE_POSITIVE_MS) return 'polling';
      const last = await lastPollMs();
      if (last === 'unknown') return 'unknown';
      if (last === undefined || now() - last > opts.maxAgeMs) {
        seenAt = undefined;
        const since = last === undefined ? 'no worker has polled it' : `its last poll was ${Math.round((now() - last) / 1000)} s ago`;
        throw new ServiceUnavailableError([{ field: 'worker', message: `No worker is processing the task queue "${opts.taskQueue}" (${since}); retry shortly` }]);
      }
      seenAt = now();
      return 'polling';
    },
  };
}

const presenceStore = new AsyncLocalStorage<WorkerPresence>();

/** Runs `fn` (a request) with the presence check that workflow commands inside it use. */
export function withWorkerPresence<T>(presence: WorkerPresence, fn: () => Promise<T>): Promise<T> {
  return presenceStore.run(presence, fn);
}

/** Before a workflow command: 503 now rather than a command no worker will run. Outside a request (scripts) nothing is checked. */
export async function requireWorker(): Promise<void> {
  await presenceStore.getStore()?.require();
}
