import { spawn, type ChildProcess } from 'node:child_process';
import { PROJECT_ROOT } from './config';

/**
 * Processes of this project started from its own tools (the benchmarks, the fuzzer): a
 * TypeScript entry point under node with tsx, waited for over HTTP, and stopped.
 */

export interface TsxSpawn {
  env: NodeJS.ProcessEnv;
  /** The checkout to run in; this one when absent. */
  cwd?: string;
  /** Node flags before `--import tsx` (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** An IPC channel too (for `child.send`). */
  ipc?: boolean;
  /** Every chunk of its stdout and stderr. */
  onOutput?: (chunk: string) => void;
}

/** `node [nodeArgs] --import tsx <args>`, stdin ignored, stdout and stderr piped. */
export function spawnTsx(args: string[], opts: TsxSpawn): ChildProcess {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', ...args], {
    cwd: opts.cwd ?? PROJECT_ROOT,
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe', ...(opts.ipc ? (['ipc'] as const) : [])],
  });
  const { onOutput } = opts;
  if (onOutput) {
    child.stdout?.on('data', (d: Buffer) => onOutput(d.toString()));
    child.stderr?.on('data', (d: Buffer) => onOutput(d.toString()));
  }
  return child;
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** SIGTERM, then SIGKILL after `killAfterMs`; resolves once it has exited (at once if it already had). */
export async function stopChild(child: ChildProcess | undefined, killAfterMs = 10_000): Promise<void> {
  if (!child || hasExited(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  await exited;
  clearTimeout(timer);
}

export interface HttpWait {
  /** Who is waited for, in the errors; "the server" when absent. */
  name?: string;
  /** 60 s when absent. */
  timeoutMs?: number;
  /** Between tries; 200 ms when absent. */
  everyMs?: number;
  /** Whether an answer means ready; when absent, any answer but a 5xx. */
  ready?: (status: number) => boolean;
  /** What it printed, appended to the errors. */
  output?: () => string;
}

/**
 * Polls `url` until an answer is `ready`; rejects when `child` exits first or the time
 * passes (connection errors mean not listening yet).
 */
export async function waitForHttp(url: string, child: ChildProcess, opts: HttpWait = {}): Promise<void> {
  const { name = 'the server', timeoutMs = 60_000, everyMs = 200, ready = (status) => status < 500 } = opts;
  const tail = () => (opts.output ? `:\n${opts.output()}` : '');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (hasExited(child)) throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before ${url} answered${tail()}`);
    if (Date.now() > deadline) throw new Error(`${name}: ${url} did not answer within ${timeoutMs} ms${tail()}`);
    const answered = await fetch(url).then(
      async (res) => {
        await res.arrayBuffer();
        return ready(res.status);
      },
      () => false,
    );
    if (answered) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * The node flags `npm start` runs with (package.json's start and start:prod scripts give the
 * same): the API process's V8 old-space limit. Without one V8 let the API's heap grow with the
 * sign-up burst's garbage: its peak RSS was 366–386 MiB at 500 tours, 331 with it (README
 * "Scaling"). Its worker process sets its own (TEMPORAL_WORKER_MAX_OLD_SPACE_MB).
 */
export const NPM_START_NODE_ARGS: readonly string[] = ['--max-old-space-size=256'];

/**
 * `npm start` (scripts/start.ts) with `env`, ready once `<apiUrl>/health/ready` answers 200:
 * the whole stack (API, worker, and the embedded PostgreSQL and Temporal unless `env` names
 * others) is up. On failure it is stopped, and the error carries the end of its output.
 */
export async function startNpmStart(opts: { env: NodeJS.ProcessEnv; apiUrl: string; nodeArgs?: string[]; timeoutMs?: number }): Promise<{ child: ChildProcess; stop(): Promise<void> }> {
  let output = '';
  const child = spawnTsx(['scripts/start.ts'], {
    env: opts.env,
    nodeArgs: [...NPM_START_NODE_ARGS, ...(opts.nodeArgs ?? [])],
    onOutput: (chunk) => {
      output = (output + chunk).slice(-20_000);
    },
  });
  // It stops its parts in order: PostgreSQL and Temporal may take a while.
  const stop = () => stopChild(child, 60_000);
  try {
    await waitForHttp(`${opts.apiUrl}/health/ready`, child, {
      name: 'npm start',
      timeoutMs: opts.timeoutMs ?? 240_000,
      everyMs: 500,
      ready: (status) => status === 200,
      output: () => output,
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { child, stop };
}
