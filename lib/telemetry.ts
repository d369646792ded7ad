/**
 * OpenTelemetry tracing: one trace from an HTTP request through the Temporal client call
 * (start, update, signal) to each activity the workflow runs for it and the SQL it runs
 * (the workflow carries the context: workflows/interceptors.ts).
 *
 * Off unless configured (`OTEL_TRACES_EXPORTER`, or an OTLP endpoint). When off, nothing
 * here loads a single OpenTelemetry module: every import below is type-only, and the
 * modules are loaded by `startTracing` when tracing is on. The request path then pays one
 * `undefined` check per log line and nothing else.
 *
 * An API request's server span is made here (`withRequestTrace`, called by the API's
 * request-context middleware), not by the HTTP instrumentation: the sample is taken before
 * anything else, and a request not sampled enters no OpenTelemetry context at all, so it
 * pays for tracing only its unsampled ids (on its log lines, and carried to the workflows
 * it calls) and a check per SQL statement.
 *
 * `startTracing` must run before the first query and the first outgoing HTTP call (the
 * entry points call it first thing): the instrumentations patch pg and http as they are
 * required, and a module loaded before the start is patched by requiring it again.
 */
import type * as OtelApi from '@opentelemetry/api';
import type { Sampler, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type * as InterceptorsClient from '@temporalio/interceptors-opentelemetry/lib/client';
import type * as InterceptorsWorker from '@temporalio/interceptors-opentelemetry/lib/worker';
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { hostname } from 'node:os';
import type { Config } from './config';
import { requestContextStore, type TraceIds } from './request-context';
import { APP_VERSION } from './version';

/** The baggage entry that carries the API's request id to the worker's log lines. */
export const REQUEST_ID_BAGGAGE = 'request.id';

export interface Tracing {
  serviceName: string;
  /** For `new Client({ interceptors: { workflow } })`: starts, updates, signals and queries become spans carrying the context. */
  clientInterceptors: WorkflowClientInterceptor[];
  /** For the worker's `interceptors.activity`: each activity runs in a span continuing the trace its headers carry. */
  activityInterceptors: ActivityInterceptorsFactory[];
  /** Hands every finished span to the exporter now. */
  flush(): Promise<void>;
  /** Flushes and stops; spans ended later are dropped. */
  shutdown(): Promise<void>;
}

export interface StartTracingOptions {
  /** Replace the configured exporter (tests: an in-memory exporter; benchmarks). Turns tracing on whatever the configuration says. */
  spanProcessors?: SpanProcessor[];
}

/**
 * Query parameters whose values server spans replace with REDACTED: those the HTTP
 * instrumentation redacts by default (cloud URL signatures) and the local storage's file-link `signature`.
 */
const REDACTED_QUERY_PARAMS = new Set(['sig', 'Signature', 'AWSAccessKeyId', 'X-Goog-Signature', 'X-Amz-Signature', 'X-Amz-Credential', 'X-Amz-Security-Token', 'signature']);

type Api = typeof OtelApi;

interface Started {
  tracing: Tracing;
  api: Api;
  tracer: OtelApi.Tracer;
  /** The share of requests without a caller's `traceparent` that are recorded. */
  ratio: number;
}

let started: Started | undefined;

/** The tracing this process started, if any. */
export function activeTracing(): Tracing | undefined {
  return started?.tracing;
}

/**
 * Starts tracing for this process under `defaultServiceName` (unless OTEL_SERVICE_NAME
 * names it), once: a second call returns the first one's handle. Undefined when off.
 */
export function startTracing(config: Pick<Config, 'telemetry'>, defaultServiceName: string, opts: StartTracingOptions = {}): Tracing | undefined {
  if (started) return started.tracing;
  const t = config.telemetry;
  if (t.traces === 'none' && !opts.spanProcessors) return undefined;

  /* eslint-disable @typescript-eslint/no-require-imports -- loaded here, and only here, when tracing is on */
  const api = require('@opentelemetry/api') as Api;
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { BatchSpanProcessor, SimpleSpanProcessor, ConsoleSpanExporter, ParentBasedSampler, SamplingDecision, TraceIdRatioBasedSampler } =
    require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const { detectResources, processDetector, resourceFromAttributes } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg') as typeof import('@opentelemetry/instrumentation-pg');
  const { OpenTelemetryWorkflowClientInterceptor } = require('@temporalio/interceptors-opentelemetry/lib/client') as typeof InterceptorsClient;
  const { OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor } =
    require('@temporalio/interceptors-opentelemetry/lib/worker') as typeof InterceptorsWorker;
  const loadOtlpExporter = (): typeof import('@opentelemetry/exporter-trace-otlp-proto') =>
    t.otlp.protocol === 'http/json' ? require('@opentelemetry/exporter-trace-otlp-http') : require('@opentelemetry/exporter-trace-otlp-proto');
  /* eslint-enable @typescript-eslint/no-require-imports */

  const serviceName = t.serviceName ?? defaultServiceName;
  // Synchronous attributes only (the host detector's host.id is read asynchronously, and
  // spans would wait for it before export).
  const resource = resourceFromAttributes({ ...t.resourceAttributes, 'service.name': serviceName, 'service.version': APP_VERSION, 'host.name': hostname() }).merge(
    detectResources({ detectors: [processDetector] }),
  );

  let processors = opts.spanProcessors;
  if (!processors) {
    if (t.traces === 'console') processors = [new SimpleSpanProcessor(new ConsoleSpanExporter())];
    else {
      const { OTLPTraceExporter } = loadOtlpExporter();
      // A queue for a few seconds of a busy API's spans (the default 2048 drops spans above
      // ~400 traced requests a second); exported every 5 s or per 1024.
      processors = [
        new BatchSpanProcessor(new OTLPTraceExporter({ url: t.otlp.url, headers: t.otlp.headers }), { maxQueueSize: 16_384, maxExportBatchSize: 1024 }),
      ];
    }
  }

  // The edge (withRequestTrace) samples a request; a server span reaching the sampler was
  // sampled there. Other roots (activities whose workflow carries no context, client calls
  // outside a request) are sampled by ratio.
  const ratio = t.sampleRatio;
  const byRatio = new TraceIdRatioBasedSampler(ratio);
  const root: Sampler = {
    shouldSample: (ctx, traceId, _name, kind) => (kind === api.SpanKind.SERVER ? { decision: SamplingDecision.RECORD_AND_SAMPLED } : byRatio.shouldSample(ctx, traceId)),
    toString: () => `EdgeSampledRoot{${ratio}}`,
  };
  const sdk = new NodeSDK({
    serviceName,
    resource,
    autoDetectResources: false,
    spanProcessors: processors,
    sampler: new ParentBasedSampler({ root }),
    textMapPropagator: new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
    // Traces only: metrics are Prometheus (lib/metrics.ts) and logs are pino's. Without
    // these the SDK would push both to an OTLP endpoint by default.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      // Outgoing calls only (webhooks, providers), inside a traced request or activity. The
      // API's incoming requests get their server span from withRequestTrace.
      new HttpInstrumentation({ disableIncomingRequestInstrumentation: true, requireParentforOutgoingSpans: true }),
      // SQL inside a request or an activity; a background sweep's queries make no orphan
      // traces. Statement texts are parameterised: no values reach the span.
      new PgInstrumentation({ requireParentSpan: true, enhancedDatabaseReporting: false, ignoreConnectSpans: true }),
    ],
  });
  sdk.start();
  // require-in-the-middle patches a module at its first require after the start, even one
  // already loaded (the entry points' imports load pg before main runs): patch them now.
  // Patching is in place, on prototypes: existing references see it too.
  /* eslint-disable @typescript-eslint/no-require-imports */
  require('http');
  require('https');
  if (require.cache[require.resolve('pg')]) require('pg');
  /* eslint-enable @typescript-eslint/no-require-imports */

  const tracing: Tracing = {
    serviceName,
    clientInterceptors: [followingUnsampledParent(api, new OpenTelemetryWorkflowClientInterceptor())],
    activityInterceptors: [
      (ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) }),
    ],
    flush: async () => {
      await Promise.all(processors.map((p) => p.forceFlush()));
    },
    shutdown: async () => {
      if (started?.tracing !== tracing) return;
      await sdk.shutdown();
      started = undefined;
    },
  };
  started = { tracing, api, tracer: api.trace.getTracer('realtyforyou-api', APP_VERSION), ratio };
  return tracing;
}

/**
 * The trace, span and request of the code running now, for the logger's mixin: undefined
 * when tracing is off or nothing is active. In the worker the request id arrives as
 * baggage, through the workflow, from the API request that caused the activity.
 */
export function traceLogFields(): { trace_id?: string; span_id?: string; request_id?: string } | undefined {
  if (!started) return undefined;
  const { api } = started;
  const ctx = api.context.active();
  const current = api.trace.getSpanContext(ctx);
  const ids = current && api.isSpanContextValid(current) ? current : requestContextStore.getStore()?.unsampled;
  const requestId = api.propagation.getBaggage(ctx)?.getEntry(REQUEST_ID_BAGGAGE)?.value;
  if (!ids && !requestId) return undefined;
  return {
    ...(ids ? { trace_id: ids.traceId, span_id: ids.spanId } : {}),
    ...(requestId ? { request_id: requestId } : {}),
  };
}

/** What the edge needs to know of an incoming request to trace it. */
export interface IncomingRequest {
  method: string;
  /** The path as a span may show it: secrets in it already replaced. */
  path: string;
  /** Without the `?`; parameters that carry signatures are redacted here. */
  querystring: string;
  headers: IncomingHttpHeaders;
  scheme: string;
  host: string;
  clientAddress: string;
  httpVersion: string;
}

/** How the request ended, read once it has: its status and the declared route it matched, if any. */
export interface RequestOutcome {
  status: number;
  route?: string;
}

/** Health probes and metric scrapes, every few seconds: no requests anybody wants to trace. */
const PROBE = /^\/(health|metrics)(?:\/|$)/;

/**
 * Runs `next` for one API request in its request context (its id on every log line) and,
 * with tracing on, in its trace. The sample is taken here, first: a request with a
 * caller's sampled `traceparent` is recorded under it, one without by
 * OTEL_TRACES_SAMPLER_ARG. A recorded request gets a server span (named after its route
 * once routed, the request id on it, secrets in path and query redacted) and the request
 * id as baggage, so the workflows it starts or updates carry both to their activities. A
 * request not recorded enters no OpenTelemetry context: it gets trace ids of its own (or
 * its caller's trace id) that no span ever records, for its log lines and, not sampled,
 * for the workflow calls it makes (`followingUnsampledParent`), so the worker records
 * nothing of it either and logs the same ids.
 */
export function withRequestTrace<T>(req: IncomingRequest, requestId: string, next: () => Promise<T>, outcome: () => RequestOutcome): Promise<T> {
  if (!started || PROBE.test(req.path)) return requestContextStore.run({ requestId }, next);
  const { api, tracer, ratio } = started;
  const parent = req.headers.traceparent === undefined ? api.ROOT_CONTEXT : api.propagation.extract(api.ROOT_CONTEXT, req.headers);
  // A valid caller's trace decides; without one, the ratio.
  const caller = api.trace.getSpanContext(parent);
  const sampled = caller ? (caller.traceFlags & api.TraceFlags.SAMPLED) !== 0 : Math.random() < ratio;
  if (!sampled) {
    const unsampled: TraceIds = { traceId: caller?.traceId ?? randomUUID().replace(/-/g, ''), spanId: randomUUID().replace(/-/g, '').slice(16) };
    return requestContextStore.run({ requestId, unsampled }, next);
  }

  const query = redactQuery(req.querystring);
  const span = tracer.startSpan(
    req.method,
    {
      kind: api.SpanKind.SERVER,
      attributes: {
        'http.request.method': req.method,
        'url.path': req.path,
        ...(query ? { 'url.query': query } : {}),
        'url.scheme': req.scheme,
        'server.address': req.host,
        'client.address': req.clientAddress,
        'network.protocol.version': req.httpVersion,
        ...(req.headers['user-agent'] ? { 'user_agent.original': req.headers['user-agent'] } : {}),
        request_id: requestId,
      },
    },
    parent,
  );
  const baggage = (api.propagation.getBaggage(parent) ?? api.propagation.createBaggage()).setEntry(REQUEST_ID_BAGGAGE, { value: requestId });
  const active = api.propagation.setBaggage(api.trace.setSpan(parent, span), baggage);
  const end = (thrown: unknown) => {
    const { status, route } = outcome();
    if (route) {
      span.updateName(`${req.method} ${route}`);
      span.setAttribute('http.route', route);
    }
    span.setAttribute('http.response.status_code', status);
    if (status >= 500 || thrown !== undefined) {
      span.setAttribute('error.type', thrown instanceof Error && status < 500 ? thrown.name : String(status));
      span.setStatus({ code: api.SpanStatusCode.ERROR });
    }
    span.end();
  };
  return api.context.with(active, () =>
    requestContextStore.run({ requestId }, next).then(
      (value) => {
        end(undefined);
        return value;
      },
      (err: unknown) => {
        end(err);
        throw err;
      },
    ),
  );
}

/** The query as a span may show it: the values of signature parameters replaced with REDACTED. */
export function redactQuery(querystring: string): string {
  // Every name in REDACTED_QUERY_PARAMS, in any encoding, contains an s, an S, a C or a %.
  if (!/[sSC%]/.test(querystring)) return querystring;
  return querystring
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      let name: string;
      try {
        name = decodeURIComponent(pair.slice(0, eq).replace(/\+/g, ' '));
      } catch {
        return pair;
      }
      return REDACTED_QUERY_PARAMS.has(name) ? `${pair.slice(0, eq)}=REDACTED` : pair;
    })
    .join('&');
}

/**
 * The OpenTelemetry client interceptor, run under a request's unsampled parent when the
 * edge did not sample it: the start, update or signal then carries that trace, not
 * sampled, and the request id as baggage, to the workflow and its activities (which
 * record nothing, and log both ids). Without it they would carry no context, and the
 * worker would sample them afresh as traces of their own.
 */
function followingUnsampledParent(api: Api, traced: WorkflowClientInterceptor): WorkflowClientInterceptor {
  const wrapped: Record<string, unknown> = {};
  for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(traced)) as Array<keyof WorkflowClientInterceptor>) {
    const method = traced[name] as ((...args: unknown[]) => unknown) | undefined;
    if (name === ('constructor' as string) || typeof method !== 'function') continue;
    wrapped[name] = (...args: unknown[]) => {
      const request = requestContextStore.getStore();
      if (!request?.unsampled || api.trace.getSpan(api.context.active())) return method.apply(traced, args);
      const parent: OtelApi.SpanContext = { ...request.unsampled, traceFlags: api.TraceFlags.NONE, isRemote: true };
      const baggage = api.propagation.createBaggage({ [REQUEST_ID_BAGGAGE]: { value: request.requestId } });
      return api.context.with(api.trace.setSpanContext(api.propagation.setBaggage(api.ROOT_CONTEXT, baggage), parent), () => method.apply(traced, args));
    };
  }
  return wrapped as WorkflowClientInterceptor;
}
