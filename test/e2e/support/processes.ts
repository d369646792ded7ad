import { spawn, type ChildProcess } from 'node:child_process';
import { NPM_START_NODE_ARGS } from '../../../lib/child-process';
import { PROJECT_ROOT } from '../../../lib/config';
import { freePort } from '../../support/ports';

/**
 * The system's own entry points as child processes, configured only through the
 * environment, the way an operator runs them: `npm start` (scripts/start.ts), the API and
 * the worker, from source (tsx) or from the build (dist/, plain node).
 */

export interface Proc {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnOptions {
  /** In a process group of its own, led by the child (as a terminal runs a command): signal it with `process.kill(-pid, …)`. */
  detached?: boolean;
}

/** `args` as given to node, e.g. ['--import', 'tsx', 'scripts/start.ts'] or ['dist/api/main.js']. */
export function spawnNode(args: string[], env: Record<string, string>, opts: SpawnOptions = {}): Proc {
  return spawnCommand(process.execPath, args, env, opts);
}

/** Any program of the toolchain (node, npm), in the project folder, with only `env` and the defaults below. */
export function spawnCommand(file: string, args: string[], env: Record<string, string>, opts: SpawnOptions = {}): Proc {
  let output = '';
  const child = spawn(file, args, {
    cwd: PROJECT_ROOT,
    // Metrics ports off unless a test asks: their fixed defaults would collide between processes.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HOST: '127.0.0.1', LOG_LEVEL: 'warn', METRICS_PORT: '0', TEMPORAL_SDK_METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => output, exited };
}

export interface StackPorts {
  api: number;
  pg: number;
  temporal: number;
  ui: number;
}

export async function freeStackPorts(): Promise<StackPorts> {
  return { api: await freePort(), pg: await freePort(), temporal: await freePort(), ui: await freePort() };
}

export function stackEnv(dataDir: string, ports: StackPorts): Record<string, string> {
  return {
    DATA_DIR: dataDir,
    PORT: String(ports.api),
    EMBEDDED_PG_PORT: String(ports.pg),
    TEMPORAL_DEV_PORT: String(ports.temporal),
    TEMPORAL_UI_PORT: String(ports.ui),
  };
}

/** `npm start` from source. */
export function startStack(dataDir: string, ports: StackPorts, extra: Record<string, string> = {}): Proc {
  return spawnNode([...NPM_START_NODE_ARGS, '--import', 'tsx', 'scripts/start.ts'], { ...stackEnv(dataDir, ports), ...extra });
}

/** Resolves when `url` answers 200; fails early, with the output, if the process exits. */
export async function waitFor200(url: string, proc: Proc, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`process exited early (${proc.child.exitCode ?? proc.child.signalCode}) before ${url} answered:\n${proc.output()}`);
    }
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} not 200 within ${timeoutMs} ms:\n${proc.output()}`);
}

/** SIGTERM, then SIGKILL if it lingers; resolves with the exit code. */
export async function stopProc(proc: Proc | undefined, graceMs = 30_000): Promise<number | null> {
  if (!proc) return null;
  if (proc.child.exitCode === null && proc.child.signalCode === null) {
    proc.child.kill('SIGTERM');
    const timer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
    await proc.exited;
    clearTimeout(timer);
  }
  return proc.child.exitCode;
}

/** A stack trace line, as printed by node or pino: what an explained failure never shows. */
export const STACK_LINE = /\n\s+at |"stack":/;
