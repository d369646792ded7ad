import http from 'node:http';
import type { Worker } from '@temporalio/worker';

/**
 * A liveness endpoint for the worker process (container health checks): 200 while the
 * worker polls its task queue, 503 otherwise.
 */
export function startWorkerHealthServer(worker: Worker, host: string, port: number): Promise<{ close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const state = worker.getState();
    const ok = req.url === '/health' && state === 'RUNNING';
    res.writeHead(req.url === '/health' ? (ok ? 200 : 503) : 404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ success: ok, data: { id: 'worker', type: 'health', attributes: { state } } }));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () =>
      resolve({ close: () => new Promise<void>((r) => server.close(() => r())) }),
    );
  });
}
