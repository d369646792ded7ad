import { Client, Connection } from '@temporalio/client';
import { guardedInterceptors } from './closed-channel-guard';
import type { Config } from './config';
import { activeTracing, type Tracing } from './telemetry';

export interface TemporalHandle {
  connection: Connection;
  client: Client;
}

/**
 * A lazy connection: the API can start (and report itself not ready) while Temporal
 * is still coming up; the first call connects. Calls retry UNAVAILABLE with backoff, and
 * a retry due after the connection closed ends quietly (lib/closed-channel-guard.ts).
 * With tracing on, every start, update, signal and query is a span whose context the
 * workflow continues.
 */
export function createTemporalClient(address: string, temporal: Pick<Config['temporal'], 'namespace'>): TemporalHandle {
  const connection = Connection.lazy({ address, interceptors: guardedInterceptors() });
  const client = new Client({ connection, namespace: temporal.namespace, interceptors: clientInterceptors() });
  return { connection, client };
}

/** The client interceptors of the tracing this process started (none when off). */
export function clientInterceptors(): { workflow: Tracing['clientInterceptors'] } | undefined {
  const tracing = activeTracing();
  return tracing ? { workflow: tracing.clientInterceptors } : undefined;
}

/** Throws unless the frontend answers SERVING before the deadline. */
export async function temporalHealthy(connection: Connection, timeoutMs = 2000): Promise<void> {
  const res = await connection.withDeadline(Date.now() + timeoutMs, () =>
    connection.healthService.check({ service: 'temporal.api.workflowservice.v1.WorkflowService' }),
  );
  // 1 is SERVING in grpc.health.v1.HealthCheckResponse.ServingStatus.
  if (res.status !== 1) throw new Error(`Temporal frontend reports status ${String(res.status)}`);
}

export interface TemporalProbe {
  check(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A health probe on a connection of its own without the retry interceptor: a readiness
 * check must answer "down" now, not keep retrying in the background after it returned.
 */
export function createTemporalProbe(address: string): TemporalProbe {
  const connection = Connection.lazy({ address, interceptors: [] });
  return {
    check: (timeoutMs) => temporalHealthy(connection, timeoutMs),
    close: () => connection.close(),
  };
}
