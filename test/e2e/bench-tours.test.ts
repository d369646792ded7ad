import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/config';
import type { TourBenchResult } from '../../bench/tours/scenario';
import { startEmbeddedStack } from '../../bench/tours/stack';

/**
 * `npm run bench:tours` at a small size, as CI runs it: its own `npm start` on free ports,
 * 10 tours by 5 clients. Correctness only — no request fails, all tours are live at once,
 * every email goes out exactly once, every workflow completes, and the history and process
 * counters are there — never how fast: this machine is shared. Each run also waits for its
 * reminder booking's reminder, due 90 s after it was booked.
 */

const TOURS = 10;

/** Runs bench/tours/main.ts with `args` in `env` alone; its exit code and everything it printed. */
async function runBench(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/tours/main.ts', ...args], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { code, output };
}

describe('npm run bench:tours', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'rfy-bench-tours-test-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('when 10 tours run through the API with 5 clients, then nothing fails, every email is sent exactly once and the report is written', async () => {
    const out = path.join(dir, 'benchmarks.md');
    const json = path.join(dir, 'result.json');
    // A section another tool wrote stays where it is.
    writeFileSync(out, '# Benchmarks\n\n<!-- section:stt begin -->\nstt numbers\n<!-- section:stt end -->\n');
    const { code, output } = await runBench(['--tours', String(TOURS), '--concurrency', '5', '--out', out, '--json', json], {});
    if (code !== 0) throw new Error(`bench:tours exited ${code}:\n${output}`);

    const r = JSON.parse(readFileSync(json, 'utf8')) as TourBenchResult;
    expect(r.problems).toEqual([]);
    const phase = (name: string) => r.phases.find((p) => p.name === name);
    const perPair: Record<string, number> = { register: 2, 'sign in': 2, property: 1, book: 1, confirm: 1, start: 1, join: 2, note: 2, end: 1 };
    for (const [name, n] of Object.entries(perPair)) {
      expect(phase(name)).toMatchObject({ count: n * TOURS, errors: 0 });
      expect(phase(name)!.max).toBeGreaterThan(0);
    }
    expect(phase('recap (summary polls)')).toMatchObject({ errors: 0 });
    expect(r.liveCalls).toBe(TOURS);
    expect(r.endToSummaryReadyMs.count).toBe(TOURS);
    expect(r.workflowsCompleted).toEqual({ booking: TOURS, tour: TOURS });

    // Every kind exactly as often as the flow sends it, and no other kind.
    const emails = Object.fromEntries(r.emails.map((e) => [e.template, e]));
    const expected = { welcome: 2, 'booking-request': 1, 'booking-confirmed': 2, 'tour-start': 2, 'tour-end': 2, 'tour-summary': 2, 'feedback-request': 1 };
    expect(Object.keys(emails).sort()).toEqual(Object.keys(expected).sort());
    for (const [template, n] of Object.entries(expected)) {
      expect(emails[template]).toEqual({ template, expected: n * TOURS, sent: n * TOURS, missing: 0, duplicated: 0, notSent: 0 });
    }

    // One booking of its own whose reminder falls due during the run: one to each side, timed.
    expect(r.reminders).toMatchObject({ bookings: 1, expected: 2, sent: 2, missing: 0, duplicated: 0, notSent: 0 });
    expect(r.reminders.lagMs.count).toBe(2);
    expect(r.reminders.lagMs.max).toBeGreaterThanOrEqual(0);
    expect(phase('reminder bookings (setup)')).toMatchObject({ errors: 0 });
    expect(phase('reminder bookings (cancel)')).toMatchObject({ count: 1, errors: 0 });

    // The counters from the histories: every workflow read, every measure present.
    expect(r.histories.kinds.booking).toMatchObject({ workflows: TOURS, completed: TOURS });
    expect(r.histories.kinds.tour).toMatchObject({ workflows: TOURS, completed: TOURS });
    expect(r.histories.perTour.events).toBeGreaterThan(0);
    expect(r.histories.perTour.actions).toBeGreaterThan(0);
    expect(r.histories.perTour.actions).toBeLessThan(r.histories.perTour.events);
    const types = r.histories.kinds.tour!.eventsByType.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['WorkflowExecutionStarted', 'ActivityTaskScheduled', 'WorkflowExecutionUpdateAccepted', 'WorkflowExecutionCompleted']));
    expect(r.histories.firstTaskMs.count).toBe(2 * TOURS);
    // confirm on the booking; start, two joins and end on the tour.
    expect(r.histories.updateAcceptedToCompletedMs.count).toBe(5 * TOURS);
    expect(r.histories.taskScheduleToStartMs.count).toBeGreaterThan(0);
    expect(r.histories.activityRunMs.length).toBeGreaterThan(0);

    // /proc of the stack it started: the API+worker process and PostgreSQL at least.
    const groups = Object.fromEntries(r.processes.map((p) => [p.group, p]));
    for (const g of ['api + worker (node)', 'postgresql', 'temporal dev server']) {
      expect(groups[g]?.peakRssMiB).toBeGreaterThan(0);
      expect(groups[g]?.cpuSeconds).toBeGreaterThan(0);
    }

    const doc = readFileSync(out, 'utf8');
    expect(doc).toContain('<!-- section:stt begin -->\nstt numbers\n<!-- section:stt end -->');
    expect(doc).toMatch(/<!-- section:tours begin -->\n## Tour scale: 10 tours, 5 clients[\s\S]*\| confirm \| 10 \| 0 \|[\s\S]*<!-- section:tours end -->/);
    expect(doc).toMatch(/\| reminder lag \(ledger sent_at − due; 1 booking of their own, due during the load\) \| \d[\d,]* \|/);
  }, 360_000);

  it('when API_URL, TEMPORAL_ADDRESS and DATABASE_URL name a running stack, then the load runs against it and counts its emails', async () => {
    const stack = await startEmbeddedStack({ say: () => undefined });
    try {
      const json = path.join(dir, 'external.json');
      const env = { API_URL: stack.apiUrl, TEMPORAL_ADDRESS: stack.temporalAddress, DATABASE_URL: stack.databaseUrl };
      const { code, output } = await runBench(['--tours', '3', '--concurrency', '3', '--out', '', '--json', json], env);
      if (code !== 0) throw new Error(`bench:tours exited ${code}:\n${output}`);
      expect(output).toContain(`3 tours, 3 clients against ${stack.apiUrl}`);
      expect(output).not.toContain('npm start in');
      const r = JSON.parse(readFileSync(json, 'utf8')) as TourBenchResult;
      expect(r.problems).toEqual([]);
      expect(r.phases.find((p) => p.name === 'confirm')).toMatchObject({ count: 3, errors: 0 });
      expect(r.workflowsCompleted).toEqual({ booking: 3, tour: 3 });
      expect(r.emails.find((e) => e.template === 'booking-confirmed')).toMatchObject({ expected: 6, sent: 6, missing: 0, duplicated: 0 });
      // Not its process tree: nothing measured from /proc.
      expect(r.processes).toEqual([]);
      expect(r.reminders).toMatchObject({ bookings: 1, expected: 2, sent: 2, missing: 0, duplicated: 0 });

      // Half a deployment is refused before any request, naming what is missing.
      const half = await runBench(['--tours', '1', '--out', ''], { API_URL: stack.apiUrl });
      expect(half.code).toBe(1);
      expect(half.output).toContain('needs its Temporal (--temporal-address or TEMPORAL_ADDRESS) and its PostgreSQL (--database-url or DATABASE_URL) too');
    } finally {
      await stack.stop();
    }
  }, 360_000);
});
