import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { runScript } from '../support/scripts';
import { freeStackPorts, STACK_LINE, stackEnv, startStack, stopProc, waitFor200, type Proc, type StackPorts } from './support/processes';

/**
 * The README's operator steps while the system runs: create-admin, seed and migrate in a
 * second terminal use the embedded PostgreSQL `npm start` is running (same data folder,
 * same port) instead of trying to start another one; a second `npm start` on the same
 * data folder says which one runs.
 */

describe('scripts beside a running npm start', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'rfy-beside-'));
  // As root, PostgreSQL runs as a `postgres` user that must reach its folder.
  chmodSync(root, 0o755);
  const dataDir = path.join(root, 'data');
  let ports: StackPorts;
  let env: Record<string, string>;
  let stack: Proc | undefined;
  let second: Proc | undefined;

  const script = (file: string, args: string[]) => runScript(file, args, env, 120_000);

  async function sql<T>(query: string): Promise<T[]> {
    const client = new Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${ports.pg}/realtyforyou` });
    await client.connect();
    try {
      return (await client.query(query)).rows as T[];
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    ports = await freeStackPorts();
    env = stackEnv(dataDir, ports);
    stack = startStack(dataDir, ports);
    await waitFor200(`http://127.0.0.1:${ports.api}/health/ready`, stack);
  }, 240_000);

  afterAll(async () => {
    await stopProc(second);
    await stopProc(stack);
    rmSync(root, { recursive: true, force: true });
  }, 60_000);

  it('when create-admin runs while npm start runs, then it exits 0 and the admin signs in through the running API', async () => {
    const run = await script('scripts/create-admin.ts', ['--email', 'ops-admin@example.com', '--password', 'ops-admin-pass-1', '--name', 'Ops Admin']);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/admin created: id \d+, ops-admin@example.com/);

    // Same database and same signing key as the running API.
    const login = await fetch(`http://127.0.0.1:${ports.api}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'ops-admin@example.com', password: 'ops-admin-pass-1' }),
    });
    expect(login.status).toBe(200);
    const token = ((await login.json()) as { data: { attributes: { access_token: string } } }).data.attributes.access_token;
    const users = await fetch(`http://127.0.0.1:${ports.api}/api/v1/admin/users`, { headers: { Authorization: `Bearer ${token}` } });
    expect(users.status).toBe(200);
  }, 150_000);

  it('when seed runs while npm start runs, then it exits 0 and its listings are in the running database', async () => {
    const run = await script('scripts/seed.ts', ['--properties', '12', '--realtors', '2', '--buyers', '1', '--images-per-property', '1']);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    const [row] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM properties WHERE mls_id LIKE 'SEED%'`);
    expect(row!.n).toBe(12);
  }, 150_000);

  it('when migrate runs while npm start runs, then status lists nothing pending and latest is already up to date', async () => {
    const status = await script('scripts/migrate.ts', ['status']);
    expect({ code: status.code, stderr: status.stderr }).toEqual({ code: 0, stderr: '' });
    expect(status.stdout).toMatch(/^pending: \(none\)$/m);
    const latest = await script('scripts/migrate.ts', []);
    expect({ code: latest.code, stdout: latest.stdout }).toEqual({ code: 0, stdout: 'already up to date\n' });
  }, 150_000);

  it('when a second npm start runs on the same data folder, then it exits 1 naming the running PID and ports, without a stack trace, and the first keeps serving', async () => {
    const otherApi = await freeStackPorts();
    second = startStack(dataDir, { ...ports, api: otherApi.api });
    const { code } = await second.exited;
    expect(code).toBe(1);
    const out = second.output();
    expect(out).toContain(`RealtyForYou is already running on the data folder ${dataDir}`);
    expect(out).toContain(`PID ${stack!.child.pid}`);
    expect(out).toContain(`API port ${ports.api}`);
    expect(out).toContain(`PostgreSQL port ${ports.pg}`);
    expect(out).toContain(`Temporal port ${ports.temporal}`);
    expect(out).not.toMatch(STACK_LINE);
    expect((await fetch(`http://127.0.0.1:${ports.api}/health/ready`)).status).toBe(200);
  }, 120_000);

  it('when npm start has stopped, then a script starts a PostgreSQL of its own on the data folder and stops it again', async () => {
    expect(await stopProc(stack)).toBe(0);
    stack = undefined;
    expect(existsSync(path.join(dataDir, 'npm-start.lock'))).toBe(false);
    const status = await script('scripts/migrate.ts', ['status']);
    expect({ code: status.code, stderr: status.stderr }).toEqual({ code: 0, stderr: '' });
    expect(status.stdout).toMatch(/^pending: \(none\)$/m);
    // Stopped again: no server left on the folder.
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  }, 150_000);
});
