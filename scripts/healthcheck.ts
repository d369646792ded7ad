/**
 * The image's HEALTHCHECK (one image, two commands): healthy when the API in this
 * container is ready (GET /health/ready) or, in a worker container, when the worker
 * answers GET /health on WORKER_HEALTH_PORT. Exit 0 healthy, 1 not.
 */
import { getConfig } from '../lib/config';

async function ok(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return res.status === 200;
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  const { http } = getConfig();
  if (await ok(`http://127.0.0.1:${http.port}/health/ready`)) return 0;
  if (await ok(`http://127.0.0.1:${http.workerHealthPort}/health`)) return 0;
  return 1;
}

void main().then(
  (code) => process.exit(code),
  () => process.exit(1),
);
