import http from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type CounterConfiguration, type HistogramConfiguration } from 'prom-client';
import { listen } from './listen';

/**
 * The process's one Prometheus registry. API, worker and activities record into it, so
 * the all-in-one `npm start` serves a single exposition; the Temporal SDK's own runtime
 * metrics come from its exporter and are appended by the endpoint (see `extra`).
 */
export const metricsRegistry = new Registry();

let defaultsOn = false;

/** Event-loop lag, heap, GC and the rest of prom-client's process metrics, once per process. */
export function collectProcessMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  collectDefaultMetrics({ register: metricsRegistry });
}

// Get-or-create: modules that declare a metric may be loaded by more than one entry point.
export function counter<L extends string>(cfg: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
  return (metricsRegistry.getSingleMetric(cfg.name) as Counter<L> | undefined) ?? new Counter({ ...cfg, registers: [metricsRegistry] });
}

export function histogram<L extends string>(cfg: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L> {
  return (metricsRegistry.getSingleMetric(cfg.name) as Histogram<L> | undefined) ?? new Histogram({ ...cfg, registers: [metricsRegistry] });
}

/** `collect` runs at each scrape (a value read rather than counted; it may be async). */
export function gauge<L extends string>(cfg: { name: string; help: string; labelNames?: readonly L[]; collect?: (this: Gauge<L>) => void | Promise<void> }): Gauge<L> {
  return (metricsRegistry.getSingleMetric(cfg.name) as Gauge<L> | undefined) ?? new Gauge({ ...cfg, registers: [metricsRegistry] });
}

/** Seconds between two instants, never negative (clock skew between hosts). */
export function secondsBetween(from: Date | string | number, to: Date | string | number): number {
  return Math.max(0, (new Date(to).getTime() - new Date(from).getTime()) / 1000);
}

/** The registry's exposition followed by `extra` exposition text (e.g. the Temporal SDK's). */
export async function exposition(extra?: () => Promise<string>): Promise<string> {
  const own = await metricsRegistry.metrics();
  const more = extra ? await extra() : '';
  return more ? `${own.trimEnd()}\n${more.trimEnd()}\n` : own;
}

/**
 * Reads another exporter's exposition (the Temporal SDK serves its own on a local port);
 * an exporter that does not answer leaves a comment instead of failing the whole scrape.
 */
export function scrapeUrl(url: string, timeoutMs = 2000): () => Promise<string> {
  return async () => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) return `# ${url} answered ${res.status}\n`;
      return await res.text();
    } catch (err) {
      return `# ${url} unreachable: ${(err as Error).message.replace(/\n/g, ' ')}\n`;
    }
  };
}

/** Answers with `render()`'s exposition in the Prometheus text format, or 500 when it fails. */
async function answerExposition(res: http.ServerResponse, render: () => Promise<string>): Promise<void> {
  try {
    const body = await render();
    res.writeHead(200, { 'Content-Type': metricsRegistry.contentType });
    res.end(body);
  } catch (err) {
    res.writeHead(500, { 'Content-Type': 'text/plain' });
    res.end(`metrics collection failed: ${(err as Error).message}\n`);
  }
}

/** Answers GET /metrics in the Prometheus text format; for servers that have other routes too. */
export function serveMetrics(res: http.ServerResponse, extra?: () => Promise<string>): Promise<void> {
  return answerExposition(res, () => exposition(extra));
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** A server of its own for GET /metrics, so scrapes never share the public API's port. */
export function startMetricsServer(host: string, port: number, extra?: () => Promise<string>): Promise<MetricsServer> {
  return startExpositionServer(host, port, () => exposition(extra));
}

/** A server of its own answering GET /metrics with `render()`'s exposition (404 for anything else). */
export function startExpositionServer(host: string, port: number, render: () => Promise<string>): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') return void answerExposition(res, render);
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found\n');
  });
  return listen(server, host, port);
}
