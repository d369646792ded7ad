import {
  isGrpcServiceError,
  ServiceError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  WorkflowUpdateStage,
  type Connection,
  type ConnectionLike,
  type WorkflowHandle,
  type WorkflowUpdateHandle,
} from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { ConflictError, ServiceUnavailableError } from '../lib/errors';
import { requireWorker } from './worker-presence';

/** gRPC status codes (grpc.status), named here rather than importing the transport library. */
const GRPC_NOT_FOUND = 5;
const GRPC_FAILED_PRECONDITION = 9;

/**
 * How the API reads a workflow's answer to a command, by error type rather than message:
 * - the workflow refused it (its validator or handler threw an ApplicationFailure): a 409
 *   that says why, with the failure's type for callers that branch on it;
 * - the workflow has ended (or never existed): the caller says what the entity is now.
 * Anything else (Temporal unreachable, a timeout) is rethrown for the error middleware.
 */

/** A command the workflow refused: its own message, and the failure type it gave. */
export class WorkflowRefusedError extends ConflictError {
  constructor(
    message: string,
    readonly failureType: string | undefined,
  ) {
    super(message);
  }
}

/** True when the workflow is not running: completed, cancelled, terminated or never started. */
export function isWorkflowGone(err: unknown): boolean {
  if (err instanceof WorkflowNotFoundError) return true;
  // Some servers (the time-skipping test server among them) answer an update to a closed
  // workflow with FAILED_PRECONDITION rather than NOT_FOUND.
  const cause = err instanceof ServiceError ? err.cause : err;
  return isGrpcServiceError(cause) && (cause.code === GRPC_NOT_FOUND || cause.code === GRPC_FAILED_PRECONDITION);
}

export function refusal(err: WorkflowUpdateFailedError, fallback: string): WorkflowRefusedError {
  const cause = err.cause;
  const type = cause instanceof ApplicationFailure ? cause.type ?? undefined : undefined;
  return new WorkflowRefusedError(cause instanceof Error && cause.message ? cause.message : fallback, type);
}

/**
 * Runs a command against a workflow. A refusal becomes a 409 with the workflow's reason;
 * a workflow that has ended is answered by `whenGone`, which must throw what the caller
 * should see (typically a 409 naming the entity's final status). With no worker polling
 * the task queue it is not sent at all: 503 now, instead of a command that hangs until
 * the client gives up and then takes effect later anyway. The request's Temporal
 * deadline (TEMPORAL_RPC_TIMEOUT_MS) bounds the command itself.
 */
export async function runWorkflowCommand<T>(command: () => Promise<T>, opts: { refused: string; whenGone: () => Promise<never> }): Promise<T> {
  await requireWorker();
  try {
    return await command();
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw refusal(err, opts.refused);
    if (isWorkflowGone(err)) return opts.whenGone();
    throw err;
  }
}

/** How far a command got within the caller's wait: finished (with its result), or handed to the workflow and still at work. */
export type UpdateOutcome<T> = { state: 'completed'; result: T } | { state: 'accepted' };

export interface WorkflowUpdateOptions {
  /** Whose deadlines bound the command (the client's connection). */
  connection: Pick<ConnectionLike, 'withDeadline'>;
  /** How long the command may take in all, shorter than a client's own timeout (WORKFLOW_COMMAND_WAIT_MS). */
  waitMs: number;
  /** Temporal's update id: an update sent again under the same id is the first one, not a second. */
  updateId?: string;
  refused: string;
  whenGone: () => Promise<never>;
}

/** How long the check that the workflow is there may take, once the wait is over. */
const PROBE_TIMEOUT_MS = 1500;

/**
 * `ms` from now, but never past the deadline the request already runs under (the
 * temporal-scope middleware's TEMPORAL_RPC_TIMEOUT_MS): a nested deadline replaces the outer
 * one rather than adding to it, so a longer one would let a request wait past its budget.
 */
function deadlineWithin(connection: object, ms: number): number {
  const outer = (connection as Partial<Pick<Connection, 'callContextStorage'>>).callContextStorage?.getStore()?.deadline;
  const mine = Date.now() + ms;
  return outer === undefined ? mine : Math.min(mine, outer instanceof Date ? outer.getTime() : outer);
}

/**
 * A workflow command as a Workflow Update that the caller waits for only so long (`waitMs`
 * from when it is sent). Finished in time: its result. Otherwise `accepted`, for the caller
 * to answer 202: the workflow has taken the command (its validator passed), or has it in the
 * workflow task at work now, whose database steps (local activities) hold the acceptance
 * back until they are done; the same update id, sent again, attaches to it and gets its
 * outcome. If the workflow cannot even be described then, Temporal is not answering: 503.
 * Refusals and an ended workflow are read as runWorkflowCommand reads them.
 */
export async function runWorkflowUpdate<T>(
  handle: Pick<WorkflowHandle, 'describe' | 'getUpdateHandle'>,
  start: (options: { updateId: string; waitForStage: typeof WorkflowUpdateStage.ACCEPTED }) => Promise<WorkflowUpdateHandle<T>>,
  opts: WorkflowUpdateOptions,
): Promise<UpdateOutcome<T>> {
  await requireWorker();
  // Ours, not one the SDK makes up, so that its outcome can be asked for below.
  const updateId = opts.updateId ?? randomUUID();
  const deadline = deadlineWithin(opts.connection, opts.waitMs);
  const answer = async (send: () => Promise<T>): Promise<UpdateOutcome<T> | undefined> => {
    try {
      return { state: 'completed', result: await send() };
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw refusal(err, opts.refused);
      if (isWorkflowGone(err)) return opts.whenGone();
      if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return undefined;
      throw err;
    }
  };
  const done = await answer(async () => {
    const update = await opts.connection.withDeadline(deadline, () => start({ updateId, waitForStage: WorkflowUpdateStage.ACCEPTED }));
    return opts.connection.withDeadline(deadline, () => update.result());
  });
  if (done) return done;
  const probe = deadlineWithin(opts.connection, PROBE_TIMEOUT_MS);
  const status = await opts.connection.withDeadline(probe, () => handle.describe()).then(
    (d) => d.status.name,
    (err: unknown) => (isWorkflowGone(err) ? 'GONE' : undefined),
  );
  if (status === 'RUNNING') return { state: 'accepted' };
  if (status !== undefined) {
    // It ended meanwhile, perhaps by this very command (a decline ends the booking's workflow):
    // an ended workflow still tells how an update it ran went.
    const ended = await answer(() => opts.connection.withDeadline(probe, () => handle.getUpdateHandle<T>(updateId).result()));
    if (ended) return ended;
  }
  throw new ServiceUnavailableError([
    {
      field: 'temporal',
      message: `The workflow service (Temporal) did not take the command within ${opts.waitMs} ms; it may still take it: repeat it with the same Idempotency-Key to learn its outcome`,
    },
  ]);
}
