import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../../lib/config';

/** The worker entry (`tour-worker.ts`) as a child process, and ways to end it. */
export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const ENTRY = path.join(__dirname, 'tour-worker.ts');

export async function spawnWorker(env: Record<string, string>, readyTimeoutMs = 90_000): Promise<WorkerProcess> {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', LOG_LEVEL: 'warn', METRICS_PORT: '0', TEMPORAL_SDK_METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker not ready within ${readyTimeoutMs} ms:\n${output}`)), readyTimeoutMs);
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes('WORKER_READY')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`worker exited before it was ready (${code ?? signal}):\n${output}`));
    });
  });
  await ready;
  return { child, output: () => output, exited };
}

/** SIGKILL: no shutdown, no goodbye to the server; the process is gone when this resolves. */
export async function killWorker(w: WorkerProcess): Promise<void> {
  if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await w.exited;
}

/** SIGTERM, then SIGKILL if it lingers. */
export async function stopWorker(w: WorkerProcess | undefined, graceMs = 15_000): Promise<void> {
  if (!w || w.child.exitCode !== null || w.child.signalCode !== null) return;
  w.child.kill('SIGTERM');
  const timer = setTimeout(() => w.child.kill('SIGKILL'), graceMs);
  await w.exited;
  clearTimeout(timer);
}
