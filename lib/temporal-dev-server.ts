import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { childProcessEnv } from './config';
import type { Logger } from './logger';
import { StartupError } from './shutdown';
import { temporalHealthy } from './temporal';

/**
 * The Temporal dev server (`temporal server start-dev`) with a SQLite file, so that
 * workflows survive a restart of `npm start`. Not for production: there Temporal runs
 * as its own service (see docker-compose.yml).
 */

export interface DevServerOptions {
  cliPath: string;
  dbFile: string;
  port: number;
  uiPort: number;
  namespace: string;
  /** Search attributes the workflows upsert, registered at start (name → type). */
  searchAttributes: Record<string, 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList'>;
  /** `--sqlite-pragma` settings (journal_mode, synchronous), e.g. { journal_mode: 'wal', synchronous: 'normal' }. */
  sqlitePragmas?: Record<string, string>;
  logger: Logger;
  readyTimeoutMs?: number;
  /** The environment it is started from (this process's by default, `childProcessEnv`); its OTEL_* variables are left out. */
  env?: NodeJS.ProcessEnv;
}

export interface RunningDevServer {
  address: string;
  uiUrl: string;
  stop(): Promise<void>;
}

/**
 * The dev server's environment: this process's, without the app's OpenTelemetry settings.
 * The server reads the same standard variables and would export its own traces to the
 * app's collector, or refuse to start at all on one it does not support
 * (`OTEL_TRACES_EXPORTER=console`: "unsupported OTEL exporter").
 */
export function devServerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('OTEL_')));
}

export async function startTemporalDevServer(opts: DevServerOptions): Promise<RunningDevServer> {
  const log = opts.logger.child({ component: 'temporal-dev-server' });
  await mkdir(path.dirname(opts.dbFile), { recursive: true });
  const args = [
    'server', 'start-dev',
    '--db-filename', opts.dbFile,
    '--ip', '127.0.0.1',
    '--port', String(opts.port),
    '--ui-port', String(opts.uiPort),
    '--namespace', opts.namespace,
    '--log-level', 'warn',
    ...Object.entries(opts.searchAttributes).flatMap(([k, v]) => ['--search-attribute', `${k}=${v}`]),
    ...Object.entries(opts.sqlitePragmas ?? {}).flatMap(([k, v]) => ['--sqlite-pragma', `${k}=${v}`]),
  ];
  // Its own process group: Ctrl-C in the terminal reaches only npm start, which stops
  // Temporal after the API and the worker, not while they still use it.
  const child = spawn(opts.cliPath, args, { env: devServerEnv(opts.env ?? childProcessEnv({})), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let tail = '';
  const onOutput = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    tail = (tail + text).slice(-2000);
    for (const line of text.split('\n')) if (line.trim()) log.debug(line.trim());
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
  // In its own group it no longer dies with a terminal's Ctrl-C: if this process exits
  // without stopping it (a second Ctrl-C, a shutdown timeout), stop it here.
  process.once('exit', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  });
  let spawnError: NodeJS.ErrnoException | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
    // A CLI that cannot be executed emits `error` and never `exit`.
    child.on('error', (err) => {
      spawnError = err;
      resolve();
    });
  });

  const address = `127.0.0.1:${opts.port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 90_000);
  for (;;) {
    if (spawnError) {
      throw new StartupError(`could not run the Temporal CLI ${opts.cliPath}: ${spawnError.code ?? spawnError.message} (set TEMPORAL_CLI_PATH, or run npm run temporal:toolchain)`);
    }
    if (exited) {
      throw new StartupError(`temporal dev server exited (code ${exited.code ?? exited.signal}) before it was ready; is port ${opts.port} or ${opts.uiPort} taken?\n${tail.trim()}`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new StartupError(`temporal dev server not ready after ${opts.readyTimeoutMs ?? 90_000} ms\n${tail}`);
    }
    if (await probe(address)) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  log.info({ address, ui: `http://localhost:${opts.uiPort}` }, 'Temporal dev server ready');

  return {
    address,
    uiUrl: `http://localhost:${opts.uiPort}`,
    stop: () => stopChild(child, exitPromise, () => exited !== undefined),
  };
}

async function probe(address: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 1000 });
    await temporalHealthy(connection, 1000);
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

async function stopChild(child: ChildProcess, exitPromise: Promise<void>, hasExited: () => boolean): Promise<void> {
  if (hasExited() || child.pid === undefined) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exitPromise;
  clearTimeout(timer);
}
