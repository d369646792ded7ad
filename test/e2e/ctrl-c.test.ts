import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createBuyer, createProperty, createRealtor } from '../support/factories';
import { httpAt } from '../support/http';
import { eventually } from '../support/wait';
import { keepAliveLoad } from './support/keep-alive-load';
import { freeStackPorts, spawnCommand, stackEnv, waitFor200, type Proc } from './support/processes';
import { groupExists, processTree, stillRunning, type ProcessInfo } from './support/process-tree';

/**
 * Ctrl-C on `npm start` while clients are busy: the terminal sends SIGINT to the whole
 * process group (npm, its shell, the system). The system stops the API first, so no
 * request meets a stopped worker, Temporal or PostgreSQL (no 5xx): a client sees its
 * answers, then at worst a closed connection. Then the worker, Temporal and PostgreSQL
 * stop, in that order, and nothing of them is left.
 *
 * Run twice: as `npm start`, whose shell and npm report the interruption itself once the
 * system has exited (they end by SIGINT, as a shell reports any interrupted command), and
 * as the command `npm start` runs, whose own exit code is then seen: 0.
 */

/** Rejects naming `what` unless `promise` settles within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

interface LogLine {
  level?: number;
  msg?: string;
  step?: string;
  /** The logger: `realtyforyou` for npm start itself, `worker` for its worker process (which logs its own steps). */
  name?: string;
}

/** The system's pino JSON lines (the output also holds npm's and others' lines). */
function logLines(output: string): LogLine[] {
  return output.split('\n').flatMap((line) => {
    try {
      const entry = JSON.parse(line) as unknown;
      return entry && typeof entry === 'object' ? [entry as LogLine] : [];
    } catch {
      return [];
    }
  });
}

/** The shutdown steps npm start itself logged as stopped, in order (at debug); its worker process logs its own. */
const stoppedSteps = (output: string) => logLines(output).flatMap((l) => (l.msg === 'stopped' && l.step && l.name === 'realtyforyou' ? [l.step] : []));

/** Whether the system logged the end of its shutdown, and no error (pino's 50) or fatal (60) line at all. */
const stoppedCleanly = (output: string) => {
  const lines = logLines(output);
  return lines.some((l) => l.msg === 'stopped' && l.step === undefined) && !lines.some((l) => (l.level ?? 0) >= 50);
};

/** Socket errors that mean "the server has closed": what a client may meet once the API stops. */
const CLOSED = ['ECONNREFUSED', 'ECONNRESET', 'EPIPE'];

interface Case {
  name: string;
  command: string;
  args: string[];
  /** How the group leader ends. */
  exit: { code: number | null; signal: NodeJS.Signals | null };
}

const CASES: Case[] = [
  { name: 'npm start', command: 'npm', args: ['start', '--silent'], exit: { code: null, signal: 'SIGINT' } },
  { name: 'node --import tsx scripts/start.ts', command: process.execPath, args: ['--import', 'tsx', 'scripts/start.ts'], exit: { code: 0, signal: null } },
];

describe('Ctrl-C on npm start under light load', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'rfy-ctrl-c-'));
  // As root, PostgreSQL runs as its own user, which must reach the data folder.
  chmodSync(root, 0o755);
  const started: Proc[] = [];
  let tree: ProcessInfo[] = [];

  afterAll(async () => {
    // Only when a test failed half-way: whatever it started goes, by pid.
    for (const stack of started) {
      const pgid = stack.child.pid!;
      const left = stillRunning([...tree, ...processTree(pgid)]);
      if (groupExists(pgid)) process.kill(-pgid, 'SIGKILL');
      for (const p of left) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    rmSync(root, { recursive: true, force: true });
  });

  it.each(CASES.map((c) => [c.name, c] as const))('when SIGINT reaches the process group of %s while clients are busy, then no answer is a 5xx, it stops cleanly in order and no process of it is left', async (_name, c) => {
    const ports = await freeStackPorts();
    const url = `http://127.0.0.1:${ports.api}`;
    const stack = spawnCommand(
      c.command,
      c.args,
      // Debug logs name each shutdown step as it stops; no per-user rate limit, so the load is served.
      { ...stackEnv(path.join(root, 'data'), ports), LOG_LEVEL: 'debug', API_RATE_LIMIT_MAX: '0', npm_config_update_notifier: 'false' },
      { detached: true },
    );
    started.push(stack);
    const pgid = stack.child.pid!;
    await waitFor200(`${url}/health/ready`, stack, 300_000);

    const api = httpAt(url);
    const [buyer, realtor] = await Promise.all([createBuyer(api), createRealtor(api)]);
    for (let i = 0; i < 3; i += 1) await createProperty(api, realtor);

    const load = keepAliveLoad({
      url,
      clients: 4,
      requests: [{ path: '/api/v1/buyers/properties?per_page=5', headers: buyer.auth }, { path: '/health' }, { path: '/health/ready' }],
    });
    try {
      await eventually('answers under load', () => load.outcomes.filter((o) => o.status === 200).length >= 60, 120_000);

      // Everything npm start runs, PostgreSQL, Temporal and the worker process included (each in a group of its own).
      tree = processTree(pgid);
      expect(tree.map((p) => p.comm)).toEqual(expect.arrayContaining(['postgres', 'temporal']));
      expect(tree.filter((p) => p.comm === 'node' && p.pgid !== pgid && p.pgid === p.pid)).toHaveLength(1);

      const sigintAt = Date.now();
      process.kill(-pgid, 'SIGINT');
      const exit = await within(stack.exited, 60_000, `${c.name} exiting after SIGINT`);
      await load.stop();

      // The system said it stopped, with no step failing or timing out.
      const output = stack.output();
      const clean = stoppedCleanly(output);
      expect({ exit, clean, tail: clean ? '' : output.slice(-3000) }).toEqual({ exit: c.exit, clean: true, tail: '' });

      // No 5xx, ever; instead of an answer, at worst a closed connection.
      expect(load.outcomes.filter((o) => o.status !== undefined && o.status >= 500)).toEqual([]);
      expect(load.outcomes.filter((o) => o.error !== undefined && !CLOSED.includes(o.error))).toEqual([]);
      // The load really ran into the shutdown.
      expect(load.outcomes.some((o) => o.sentAt >= sigintAt)).toBe(true);

      // API first, then the worker, Temporal, PostgreSQL.
      const steps = stoppedSteps(output).filter((s) => ['http', 'worker', 'temporal-dev-server', 'postgres'].includes(s));
      expect(steps).toEqual(['http', 'worker', 'temporal-dev-server', 'postgres']);

      // Nothing left: not in the group, not PostgreSQL's or Temporal's own processes.
      expect(stillRunning(tree)).toEqual([]);
      expect(groupExists(pgid)).toBe(false);
    } finally {
      await load.stop();
    }
  }, 480_000);
});
