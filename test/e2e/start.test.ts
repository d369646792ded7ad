import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freeStackPorts, startStack, stopProc, waitFor200, type Proc } from './support/processes';

/**
 * `npm start` as a user runs it: the real entry point with its embedded Postgres and
 * Temporal dev server, on free ports and a throw-away data folder.
 */

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
  let running: Proc | undefined;

  afterAll(async () => {
    await stopProc(running);
    rmSync(root, { recursive: true, force: true });
  });

  it('when started, stopped and started again, then it is ready each time, serves the Web UI and keeps its data', async () => {
    const ports = await freeStackPorts();
    const ready = `http://127.0.0.1:${ports.api}/health/ready`;

    running = startStack(dataDir, ports);
    await waitFor200(ready, running);
    const ui = await fetch(`http://127.0.0.1:${ports.ui}/`);
    expect(ui.status).toBe(200);

    const tables = await withPg(ports.pg, (c) =>
      c.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('users','properties','bookings','tours','calls','tour_notes','transcripts','highlights','recordings','audit_logs')`),
    );
    expect(tables.rows[0].n).toBe(10);
    await withPg(ports.pg, (c) =>
      c.query(`INSERT INTO users (full_name, email, cognito_sub) VALUES ('Persisted Pat', 'pat@example.com', 'sub-pat')`),
    );

    expect(await stopProc(running)).toBe(0);
    // Every part let go of its port: the next start can bind them again.
    running = startStack(dataDir, ports);
    await waitFor200(ready, running);
    const kept = await withPg(ports.pg, (c) => c.query(`SELECT full_name FROM users WHERE email = 'pat@example.com'`));
    expect(kept.rows).toEqual([{ full_name: 'Persisted Pat' }]);
    expect(await stopProc(running)).toBe(0);
    running = undefined;
  }, 300_000);
});
