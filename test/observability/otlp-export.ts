/**
 * For otlp-export.test.ts: a process with tracing configured from the environment (as
 * the entry points have it) serves one HTTP request and shuts tracing down, which sends
 * the batched spans to the configured OTLP endpoint.
 */
import type http from 'node:http';
import Koa from 'koa';
import pino from 'pino';
import { getConfig } from '../../lib/config';
import { startTracing } from '../../lib/telemetry';
import { requestContext } from '../../api/middleware/request-id';

async function main(): Promise<void> {
  const tracing = startTracing(getConfig(), 'rfy-otlp-test');
  if (!tracing) throw new Error('tracing is off');
  // The API's own request middleware makes the server span.
  const app = new Koa();
  app.use(requestContext(pino({ level: 'silent' })));
  app.use((ctx) => {
    ctx.body = 'ok';
  });
  const server: http.Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as { port: number };
  await fetch(`http://127.0.0.1:${port}/api/v1/things`).then((r) => r.text());
  // Probes make no spans.
  await fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.text());
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await tracing.shutdown();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
