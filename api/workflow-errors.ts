import { isGrpcServiceError, ServiceError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ConflictError } from '../lib/errors';
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
