/**
 * Carries the caller's trace context through a workflow: what a workflow schedules (an
 * activity, a local activity, a child workflow, a signal, a continue-as-new) gets the trace
 * header of the start, update or signal it is running for, so the activity's span (made by
 * the OpenTelemetry activity interceptor on the worker) continues the trace of the API
 * request that caused it, and the request id travels along as baggage.
 *
 * Why not @temporalio/interceptors-opentelemetry's workflow interceptors: they wrap every
 * step in async functions, which moves when commands are issued by a few microtasks, so a
 * history recorded without them (every history before tracing, test/fixtures/histories
 * included) can fail to replay with them, and the other way round. These interceptors call
 * `next` synchronously and return its promise untouched: a workflow issues the same
 * commands at the same moments with them or without them. They make no spans (the workflow
 * steps show as the activities' spans) and load no OpenTelemetry code into the sandbox.
 *
 * Every worker's bundle carries them, tracing on or off (workers/worker.ts); without a
 * trace header on the input they pass everything through unchanged.
 */
import { AsyncLocalStorage, type Headers, type WorkflowInterceptors } from '@temporalio/workflow';

/** The header the OpenTelemetry client and activity interceptors write and read (`TRACE_HEADER` of the package). */
export const TRACE_HEADER = '_tracer-data';

type Payload = NonNullable<Headers[string]>;

const trace = new AsyncLocalStorage<Payload>();

/** Runs `fn` as part of the trace whose header `headers` carries (if any). */
function within<T>(headers: Headers, fn: () => T): T {
  const payload = headers[TRACE_HEADER];
  return payload ? trace.run(payload, fn) : fn();
}

/** `headers` with the current trace header, unless they already carry one. */
function carrying(headers: Headers): Headers {
  const payload = trace.getStore();
  return payload && !headers[TRACE_HEADER] ? { ...headers, [TRACE_HEADER]: payload } : headers;
}

export const interceptors = (): WorkflowInterceptors => ({
  inbound: [
    {
      execute: (input, next) => within(input.headers, () => next(input)),
      handleUpdate: (input, next) => within(input.headers, () => next(input)),
      handleSignal: (input, next) => within(input.headers, () => next(input)),
    },
  ],
  outbound: [
    {
      scheduleActivity: (input, next) => next({ ...input, headers: carrying(input.headers) }),
      scheduleLocalActivity: (input, next) => next({ ...input, headers: carrying(input.headers) }),
      startChildWorkflowExecution: (input, next) => next({ ...input, headers: carrying(input.headers) }),
      signalWorkflow: (input, next) => next({ ...input, headers: carrying(input.headers) }),
      continueAsNew: (input, next) => next({ ...input, headers: carrying(input.headers) }),
    },
  ],
});
