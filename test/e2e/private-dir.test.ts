import { lstatSync, mkdtempSync, readlinkSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RELOCATED_ROOT } from '../../db/postgres-user';
import { runScript } from '../support/scripts';
import { freeStackPorts, STACK_LINE, stackEnv, startStack, stopProc, waitFor200, type Proc } from './support/processes';

/**
 * `npm start` with its data in a private folder (mode 700, as `mktemp -d` makes and as
 * /root is). As root, PostgreSQL runs as the `postgres` user, which cannot enter such a
 * folder: its binaries and cluster then run from RELOCATED_ROOT, linked from the data
 * folder. As any other user the folder is simply the user's own. Either way it works.
 * And a child process that fails (here PostgreSQL, its port taken) ends npm start with a
 * message that says why, not a stack trace.
 */

const isRoot = process.getuid?.() === 0;

describe('npm start in a private (mode 700) folder', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'rfy-private-'));
  const dataDir = path.join(root, 'data');
  let stack: Proc | undefined;
  let relocatedCluster: string | undefined;

  afterAll(async () => {
    await stopProc(stack);
    rmSync(root, { recursive: true, force: true });
    if (relocatedCluster) rmSync(relocatedCluster, { recursive: true, force: true });
  }, 60_000);

  it('when started there, then it is ready, scripts work beside it, it stops cleanly and keeps its data for the next start', async () => {
    expect(statSync(root).mode & 0o777).toBe(0o700);
    const ports = await freeStackPorts();
    stack = startStack(dataDir, ports, { LOG_LEVEL: 'info' });
    await waitFor200(`http://127.0.0.1:${ports.api}/health/ready`, stack);

    const link = path.join(dataDir, 'postgres');
    if (isRoot) {
      // The postgres user cannot enter `root`: the cluster lives where it can.
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      relocatedCluster = readlinkSync(link);
      expect(relocatedCluster.startsWith(`${RELOCATED_ROOT}/clusters/`)).toBe(true);
      expect(stack.output()).toContain('postgres user cannot reach');
    } else {
      expect(lstatSync(link).isDirectory()).toBe(true);
    }

    const env = stackEnv(dataDir, ports);
    const admin = await runScript('scripts/create-admin.ts', ['--email', 'private@example.com', '--password', 'private-pass-1', '--name', 'Private Admin'], env, 120_000);
    expect({ code: admin.code, stderr: admin.stderr }).toEqual({ code: 0, stderr: '' });

    expect(await stopProc(stack)).toBe(0);
    expect(stack.output()).not.toMatch(/EACCES|Unhandled 'error' event/);
    expect(stack.output()).not.toMatch(STACK_LINE);

    // Started again: the same cluster, with the admin still in it.
    stack = startStack(dataDir, ports);
    await waitFor200(`http://127.0.0.1:${ports.api}/health/ready`, stack);
    const login = await fetch(`http://127.0.0.1:${ports.api}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'private@example.com', password: 'private-pass-1' }),
    });
    expect(login.status).toBe(200);
    expect(await stopProc(stack)).toBe(0);
    stack = undefined;
  }, 400_000);

  it("when PostgreSQL's port is taken by another program, then npm start exits 1 saying so, without a stack trace, and leaves nothing running", async () => {
    const ports = await freeStackPorts();
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(ports.pg, '127.0.0.1', resolve));
    try {
      const failing = startStack(dataDir, ports);
      const { code } = await failing.exited;
      expect(code).toBe(1);
      expect(failing.output()).toContain(`embedded PostgreSQL did not start on port ${ports.pg}`);
      expect(failing.output()).toContain(`port ${ports.pg} is taken by another program`);
      expect(failing.output()).not.toMatch(STACK_LINE);
      // The lock went with it: the next start is not told one is already running.
      const again = startStack(dataDir, ports);
      expect((await again.exited).code).toBe(1);
      expect(again.output()).not.toContain('already running');
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  }, 240_000);
});
