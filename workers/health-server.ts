import http from 'node:http';
import type { Worker } from '@temporalio/worker';
import { serveMetrics } from '../lib/metrics';
import { listen } from '../lib/listen';

/**
 * A liveness endpoint for the worker process (container health checks): 200 while the
 * worker polls its task queue, 503 otherwise. GET /metrics is the process's registry
 * (KPIs recorded by activities, Node process metrics) followed by `sdkMetrics`, the
 * Temporal SDK's own exposition.
 */
export function startWorkerHealthServer(
  worker: Worker,
  host: string,
  port: number,
  opts: { sdkMetrics?: () => Promise<string> } = {},
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') return void serveMetrics(res, opts.sdkMetrics);
    const state = worker.getState();
    const ok = req.url === '/health' && state === 'RUNNING';
    res.writeHead(req.url === '/health' ? (ok ? 200 : 503) : 404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ success: ok, data: { id: 'worker', type: 'health', attributes: { state } } }));
  });
  return listen(server, host, port);
}
