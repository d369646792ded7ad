import type { Middleware } from 'koa';
import type { ConnectionLike } from '@temporalio/client';
import { withWorkerPresence, type WorkerPresence } from '../worker-presence';

/**
 * Every Temporal call made for a request (starts, updates, queries, and the SDK's own
 * retries of them) shares one deadline, so Temporal being down costs the client at most
 * `timeoutMs` and a 503, not the SDK's ~20 s of retries and a 500. Workflow commands
 * inside the request check for a polling worker first.
 */
export function temporalScope(connection: Pick<ConnectionLike, 'withDeadline'>, timeoutMs: number, presence: WorkerPresence): Middleware {
  return (_ctx, next) => withWorkerPresence(presence, () => connection.withDeadline(Date.now() + timeoutMs, next));
}
