import { AsyncLocalStorage } from 'node:async_hooks';

/** A trace's ids (hex, as W3C `traceparent` writes them). */
export interface TraceIds {
  traceId: string;
  spanId: string;
}

/** The request a piece of code is running for, so every log line can name it. */
export interface RequestContext {
  requestId: string;
  /**
   * With tracing on, on a request not sampled: the trace it would have had, never recorded
   * (lib/telemetry.ts). Its log lines show these ids, and the workflow calls it makes carry
   * them, not sampled.
   */
  unsampled?: TraceIds;
}

export const requestContextStore = new AsyncLocalStorage<RequestContext>();
