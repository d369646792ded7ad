import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { PROJECT_ROOT } from '../../lib/config';
import { freePort } from '../support/ports';

/**
 * `npm start` as a user runs it: the real entry point with its embedded Postgres and
 * Temporal dev server, on free ports and a throw-away data folder.
 */

interface Ports {
  api: number;
  pg: number;
  temporal: number;
  ui: number;
}

function startSystem(dataDir: string, ports: Ports): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATA_DIR: dataDir,
      PORT: String(ports.api),
      HOST: '127.0.0.1',
      EMBEDDED_PG_PORT: String(ports.pg),
      TEMPORAL_DEV_PORT: String(ports.temporal),
      TEMPORAL_UI_PORT: String(ports.ui),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}

async function waitForReady(url: string, child: ChildProcess, output: () => string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`npm start exited early (${child.exitCode}):\n${output()}`);
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`not ready within ${timeoutMs} ms:\n${output()}`);
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

async function withPg<T>(port: number, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${port}/realtyforyou` });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

describe('npm start (embedded defaults)', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'rfy-start-'));
  chmodSync(root, 0o755);
  const dataDir = path.join(root, 'data');
  let running: ReturnType<typeof startSystem> | undefined;

  afterAll(async () => {
    if (running) await stop(running.child);
    rmSync(root, { recursive: true, force: true });
  });

  it('when started, stopped and started again, then it is ready each time, serves the Web UI and keeps its data', async () => {
    const ports: Ports = { api: await freePort(), pg: await freePort(), temporal: await freePort(), ui: await freePort() };
    const ready = `http://127.0.0.1:${ports.api}/health/ready`;

    running = startSystem(dataDir, ports);
    await waitForReady(ready, running.child, running.output);
    const ui = await fetch(`http://127.0.0.1:${ports.ui}/`);
    expect(ui.status).toBe(200);

    const tables = await withPg(ports.pg, (c) =>
      c.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('users','properties','bookings','tours','calls','tour_notes','transcripts','highlights','recordings','audit_logs')`),
    );
    expect(tables.rows[0].n).toBe(10);
    await withPg(ports.pg, (c) =>
      c.query(`INSERT INTO users (full_name, email, cognito_sub) VALUES ('Persisted Pat', 'pat@example.com', 'sub-pat')`),
    );

    expect(await stop(running.child)).toBe(0);
    // Every part let go of its port: the next start can bind them again.
    running = startSystem(dataDir, ports);
    await waitForReady(ready, running.child, running.output);
    const kept = await withPg(ports.pg, (c) => c.query(`SELECT full_name FROM users WHERE email = 'pat@example.com'`));
    expect(kept.rows).toEqual([{ full_name: 'Persisted Pat' }]);
    expect(await stop(running.child)).toBe(0);
    running = undefined;
  }, 300_000);
});
