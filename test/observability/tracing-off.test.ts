import { loadConfig } from '../../lib/config';
import { runScript } from '../support/scripts';

/**
 * Tracing is off by default, and off means absent: no OpenTelemetry module is loaded, no
 * middleware mounted, no interceptor on the client or the worker, no field on log lines.
 */
describe('tracing off', () => {
  it('when no OTEL_* variable is set, then the API serves requests without loading any OpenTelemetry code', async () => {
    const run = await runScript('test/observability/untraced-app.ts', [], { DATABASE_URL: process.env.DATABASE_URL!, NODE_ENV: 'test' }, 120_000);
    if (run.code !== 0) throw new Error(`untraced-app exited with ${run.code}:\n${run.stderr}`);
    const out = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as {
      tracing: unknown;
      searchStatus: number;
      loaded: string[];
      workerOptionKeys: string[];
      workerInterceptorKeys: string[];
      log: Array<Record<string, unknown>>;
    };
    expect(out.tracing).toBeNull();
    expect(out.searchStatus).toBe(200);
    // No SDK, exporter, instrumentation, require hook or interceptor (the no-op API facade
    // may be there: prom-client's process metrics load it for exemplars).
    expect(out.loaded).toEqual([]);
    // The workflow bundle every worker runs (with the trace-propagating workflow
    // interceptors), and no activity interceptor.
    expect(out.workerOptionKeys.sort()).toEqual(['interceptors', 'workflowsPath']);
    expect(out.workerInterceptorKeys).toEqual(['workflowModules']);
    const requests = out.log.filter((l) => l.msg === 'request');
    expect(requests.length).toBeGreaterThanOrEqual(3);
    for (const line of requests) {
      expect(line.request_id).toEqual(expect.any(String));
      expect(Object.keys(line).filter((k) => k === 'trace_id' || k === 'span_id')).toEqual([]);
    }
  }, 150_000);

  it('when the configuration is read, then tracing follows OTEL_TRACES_EXPORTER, an OTLP endpoint, or OTEL_SDK_DISABLED', () => {
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('OTEL_')) delete env[k];
    expect(loadConfig(env).telemetry).toMatchObject({ traces: 'none', sampleRatio: 1, otlp: { url: 'http://localhost:4318/v1/traces', protocol: 'http/protobuf', headers: {} } });
    expect(loadConfig({ ...env, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).telemetry).toMatchObject({
      traces: 'otlp',
      otlp: { url: 'http://collector:4318/v1/traces' },
    });
    expect(
      loadConfig({
        ...env,
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example.com/ingest',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=abc%3D%3D,x-team=rfy',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=staging',
        OTEL_SERVICE_NAME: 'rfy-eu',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
      }).telemetry,
    ).toEqual({
      traces: 'otlp',
      serviceName: 'rfy-eu',
      resourceAttributes: { 'deployment.environment': 'staging' },
      sampleRatio: 0.25,
      otlp: { url: 'https://traces.example.com/ingest', protocol: 'http/json', headers: { 'x-api-key': 'abc==', 'x-team': 'rfy' } },
    });
    expect(loadConfig({ ...env, OTEL_TRACES_EXPORTER: 'console' }).telemetry.traces).toBe('console');
    // Empty is unset (docker compose passes `${OTEL_EXPORTER_OTLP_ENDPOINT:-}`).
    expect(loadConfig({ ...env, OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_TRACES_EXPORTER: '', OTEL_SDK_DISABLED: '', OTEL_TRACES_SAMPLER_ARG: '' }).telemetry).toMatchObject({
      traces: 'none',
      sampleRatio: 1,
    });
    expect(loadConfig({ ...env, OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }).telemetry.traces).toBe('none');
  });

  it('when an OTEL_* value is malformed, then loading the configuration fails naming each bad key', () => {
    expect(() =>
      loadConfig({
        ...process.env,
        OTEL_TRACES_EXPORTER: 'jaeger',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_HEADERS: 'novalue',
        OTEL_TRACES_SAMPLER_ARG: '2',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url',
      }),
    ).toThrow(
      expect.objectContaining({
        problems: expect.arrayContaining([
          expect.stringMatching(/^OTEL_TRACES_EXPORTER: /),
          expect.stringMatching(/^OTEL_EXPORTER_OTLP_PROTOCOL: must be http\/protobuf or http\/json/),
          expect.stringMatching(/^OTEL_EXPORTER_OTLP_HEADERS: must be a list of key=value pairs/),
          expect.stringMatching(/^OTEL_TRACES_SAMPLER_ARG: /),
          expect.stringMatching(/^OTEL_EXPORTER_OTLP_ENDPOINT: /),
        ]),
      }),
    );
  });
});
