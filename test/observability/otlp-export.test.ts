import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runScript } from '../support/scripts';

/**
 * The configured exporter really exports: spans reach an OTLP/HTTP endpoint (a local
 * stand-in for the collector) in the protocol asked for, with the headers configured.
 */
describe('OTLP export', () => {
  let server: http.Server;
  let received: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: Buffer }>;
  let base: string;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(200, { 'Content-Type': req.headers['content-type'] ?? 'application/json' });
        res.end(req.headers['content-type']?.includes('json') ? '{}' : '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    received = [];
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const run = (env: Record<string, string>) => runScript('test/observability/otlp-export.ts', [], env, 60_000);

  it('when OTEL_EXPORTER_OTLP_ENDPOINT is set (http/json), then the server span arrives at /v1/traces with the service name and headers', async () => {
    const r = await run({ OTEL_EXPORTER_OTLP_ENDPOINT: base, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=s3cret' });
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(received.map((x) => [x.method, x.url])).toEqual([['POST', '/v1/traces']]);
    expect(received[0]!.headers['x-api-key']).toBe('s3cret');
    type KV = { key: string; value: { stringValue?: string } };
    const body = JSON.parse(received[0]!.body.toString()) as {
      resourceSpans: Array<{ resource: { attributes: KV[] }; scopeSpans: Array<{ spans: Array<{ name: string; kind: number; attributes: KV[] }> }> }>;
    };
    const [rs] = body.resourceSpans;
    expect(rs!.resource.attributes).toContainEqual({ key: 'service.name', value: { stringValue: 'rfy-otlp-test' } });
    const spans = rs!.scopeSpans.flatMap((s) => s.spans);
    // One server span (OTLP kind 2 = SERVER) for the request; none for the probe.
    expect(spans.filter((s) => s.kind === 2).map((s) => s.attributes.find((a) => a.key === 'url.path')?.value.stringValue)).toEqual(['/api/v1/things']);
  });

  it('when OTEL_TRACES_EXPORTER=otlp with a traces endpoint (default http/protobuf), then protobuf goes to that exact URL', async () => {
    const r = await run({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${base}/custom/traces` });
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(received.map((x) => [x.method, x.url, x.headers['content-type']])).toEqual([['POST', '/custom/traces', 'application/x-protobuf']]);
    expect(received[0]!.body.includes(Buffer.from('rfy-otlp-test'))).toBe(true);
  });

  it('when OTEL_TRACES_EXPORTER=console, then spans are printed and nothing is sent', async () => {
    const r = await run({ OTEL_TRACES_EXPORTER: 'console', OTEL_EXPORTER_OTLP_ENDPOINT: base });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("'/api/v1/things'");
    expect(received).toEqual([]);
  });
});
