import { isGrpcServiceError, ServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import type { ErrorDetail } from '../lib/errors';

/**
 * Errors that mean "a service this request needs is down or too slow right now", as
 * opposed to a bug: the client should hear 503 with Retry-After and try again, not 500.
 */

/** What a 503 tells the client to wait before retrying, in seconds. */
export const RETRY_AFTER_SECONDS = 5;

// SQLSTATE class 08 is connection_exception; 57P01–57P03 are the server shutting down,
// crashing or still starting up; 53300 is too_many_connections.
const PG_UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
// Socket errors of the driver (PostgreSQL refused, reset or unreachable).
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
// node-postgres reports a connection the server dropped by message only.
const PG_DROPPED = /^Connection terminated|^Client was closed|^Client has encountered a connection error/;

/** gRPC status codes (grpc.status) that mean Temporal did not answer in time or at all. */
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;

interface ErrorLike {
  name?: string;
  code?: unknown;
  message?: string;
  nativeError?: ErrorLike;
  errors?: unknown[];
}

function isDatabaseFault(err: ErrorLike | undefined, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 3) return false;
  // knex: no pool slot within DATABASE_ACQUIRE_TIMEOUT_MS (PostgreSQL paused or overloaded).
  if (err.name === 'KnexTimeoutError') return true;
  if (typeof err.code === 'string' && (err.code.startsWith('08') || PG_UNAVAILABLE_STATES.has(err.code) || NETWORK_CODES.has(err.code))) return true;
  if (typeof err.message === 'string' && PG_DROPPED.test(err.message)) return true;
  // Objection keeps the driver's error; a refused dual-stack connect is an AggregateError.
  if (isDatabaseFault(err.nativeError, depth + 1)) return true;
  return Array.isArray(err.errors) && err.errors.some((e) => isDatabaseFault(e as ErrorLike, depth + 1));
}

function isTemporalFault(err: unknown): boolean {
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return true;
  const cause = err instanceof ServiceError ? err.cause : err;
  if (isGrpcServiceError(cause)) return cause.code === GRPC_UNAVAILABLE || cause.code === GRPC_DEADLINE_EXCEEDED;
  // The lazy connection's first connect failing.
  return err instanceof ServiceError && /Failed to connect/i.test(err.message);
}

/** The 503 detail for an error that is a dependency fault, else undefined. */
export function dependencyFault(err: unknown): ErrorDetail | undefined {
  if (isTemporalFault(err)) {
    return { code: 'SERVICE_UNAVAILABLE', field: 'temporal', message: 'The workflow service (Temporal) is not answering; retry shortly' };
  }
  if (isDatabaseFault(err as ErrorLike)) {
    return { code: 'SERVICE_UNAVAILABLE', field: 'postgres', message: 'The database is not answering; retry shortly' };
  }
  return undefined;
}
