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
 * `startTracing` must run before the Koa app is created and before the first query (the
 * entry points call it first thing): the instrumentations patch Koa, pg and http as they
 * are required, and a module loaded before the start is patched by requiring it again.
 */
import type * as OtelApi from '@opentelemetry/api';
import type { Sampler, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type * as InterceptorsClient from '@temporalio/interceptors-opentelemetry/lib/client';
import type * as InterceptorsWorker from '@temporalio/interceptors-opentelemetry/lib/worker';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from './config';
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
  /**
   * A request path as a server span may show it (`url.path`), secrets in it replaced; the
   * API passes the shared-recap token redaction. As received when absent.
   */
  redactPath?: (path: string) => string;
}

/**
 * Query parameters whose values server spans replace with REDACTED: the HTTP
 * instrumentation's defaults (cloud URL signatures) and the local storage's file-link `signature`.
 */
const REDACTED_QUERY_PARAMS = ['sig', 'Signature', 'AWSAccessKeyId', 'X-Goog-Signature', 'X-Amz-Signature', 'X-Amz-Credential', 'X-Amz-Security-Token', 'signature'];

type Api = typeof OtelApi;

interface Started {
  tracing: Tracing;
  api: Api;
  /** Whether `ctx` is one the HTTP instrumentation left untraced (a probe, or a request not sampled at the edge). */
  untraced(ctx: OtelApi.Context): boolean;
}

let started: Started | undefined;

/**
 * On a request the edge did not sample: the trace it would have had, never recorded (no
 * span exists). Log lines show its ids; workflow calls carry it, not sampled, so the
 * worker records nothing of that request either.
 */
const UNSAMPLED_PARENT = Symbol.for('realtyforyou.unsampled-parent');

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
  const { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator, isTracingSuppressed } = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { KoaInstrumentation, KoaLayerType } = require('@opentelemetry/instrumentation-koa') as typeof import('@opentelemetry/instrumentation-koa');
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

  const isProbe = (url: string | undefined) => /^\/(health|metrics)(?:[/?]|$)/.test(url ?? '');
  /**
   * Head sampling at the edge: a request that arrives without a `traceparent` is sampled
   * here, before any instrumentation runs, and one not sampled passes untraced (no server,
   * router or SQL span is made, not even a non-recording one: the instrumentations cost it
   * nothing). A caller's `traceparent` is followed as the parent-based sampler does.
   */
  const ratio = t.sampleRatio;
  const notSampledAtEdge = (req: { headers: Record<string, unknown> }) => ratio < 1 && req.headers.traceparent === undefined && !(Math.random() < ratio);
  // A root that reaches the sampler as a server span was sampled at the edge; other roots
  // (activities whose workflow carries no context, client calls outside a request) by ratio.
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
      new HttpInstrumentation({
        // Probes and scrapes every few seconds are no requests anybody wants to trace.
        ignoreIncomingRequestHook: (req) => isProbe(req.url) || notSampledAtEdge(req),
        // Secrets never reach a span: tokens in paths, signatures in queries.
        startIncomingSpanHook: (req) => {
          const pathname = (req.url ?? '').split('?')[0]!;
          const shown = opts.redactPath?.(pathname) ?? pathname;
          return shown === pathname ? {} : { 'url.path': shown };
        },
        redactedQueryParamsServer: REDACTED_QUERY_PARAMS,
        requireParentforOutgoingSpans: true,
      }),
      // One span per routed handler (which also names the HTTP span after the route
      // template); a span for each of the dozen app-wide middlewares would cost more than
      // it shows.
      new KoaInstrumentation({ ignoreLayersType: [KoaLayerType.MIDDLEWARE] }),
      // SQL inside a request or an activity; a background sweep's queries make no orphan
      // traces. Statement texts are parameterised: no values reach the span.
      new PgInstrumentation({ requireParentSpan: true, enhancedDatabaseReporting: false, ignoreConnectSpans: true }),
    ],
  });
  sdk.start();
  // require-in-the-middle patches a module at its first require after the start, even one
  // already loaded (the entry points' imports load Koa and pg before main runs): patch
  // them now. Patching is in place, on prototypes: existing references see it too.
  /* eslint-disable @typescript-eslint/no-require-imports */
  require('http');
  require('https');
  for (const name of ['koa', 'pg']) if (require.cache[require.resolve(name)]) require(name);
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
  started = { tracing, api, untraced: isTracingSuppressed };
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
  const span = api.trace.getSpanContext(ctx) ?? (ctx.getValue(UNSAMPLED_PARENT) as OtelApi.SpanContext | undefined);
  const requestId = api.propagation.getBaggage(ctx)?.getEntry(REQUEST_ID_BAGGAGE)?.value;
  if (!span && !requestId) return undefined;
  return {
    ...(span && api.isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : {}),
    ...(requestId ? { request_id: requestId } : {}),
  };
}

/**
 * Runs `next` with the request id as baggage (so workflow calls made for this request
 * carry it to the worker) and names the request on the HTTP server span; on a request not
 * sampled at the edge, under its unsampled trace id. With tracing off it only calls `next`.
 */
export function withRequestId<T>(requestId: string, next: () => Promise<T>): Promise<T> {
  if (!started) return next();
  const { api } = started;
  let active = api.context.active();
  api.trace.getSpan(active)?.setAttribute('request_id', requestId);
  if (started.untraced(active)) {
    const unsampled: OtelApi.SpanContext = { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex'), traceFlags: api.TraceFlags.NONE, isRemote: true };
    active = active.setValue(UNSAMPLED_PARENT, unsampled);
  }
  const baggage = (api.propagation.getBaggage(active) ?? api.propagation.createBaggage()).setEntry(REQUEST_ID_BAGGAGE, { value: requestId });
  return api.context.with(api.propagation.setBaggage(active, baggage), next);
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
      const active = api.context.active();
      const parent = active.getValue(UNSAMPLED_PARENT) as OtelApi.SpanContext | undefined;
      if (!parent) return method.apply(traced, args);
      // Out of the suppressed context (the propagators inject nothing in one), into the unsampled trace.
      const baggage = api.propagation.getBaggage(active);
      const base = baggage ? api.propagation.setBaggage(api.ROOT_CONTEXT, baggage) : api.ROOT_CONTEXT;
      return api.context.with(api.trace.setSpanContext(base, parent), () => method.apply(traced, args));
    };
  }
  return wrapped as WorkflowClientInterceptor;
}
