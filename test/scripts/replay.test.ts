import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { getConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { startTemporalDevServer, type RunningDevServer } from '../../lib/temporal-dev-server';
import { defaultQuery, mismatchEventId, replayFromServer } from '../../scripts/replay';
import { searchAttributesForCli } from '../../workflows/search-attributes';
import { tourCancelSignal, tourStateQuery, tourWorkflow, tourWorkflowId } from '../../workflows/tour.workflow';
import { bookingWorkflowId } from '../../contracts/bookings';
import { FakeTourActivities } from '../fixtures/tour-activity-fakes';
import { freePort } from '../support/ports';
import { runScript } from '../support/scripts';
import { eventually } from '../support/wait';

/**
 * `npm run replay` against a real Temporal dev server (the one `npm start` runs): tours
 * made by the current code, one of them still open, replay clean; the same histories
 * against a deliberately changed TourWorkflow are reported nondeterministic with the event
 * where they part, and the command exits 1.
 */

const ROOT = path.join(__dirname, '..', '..');
const CHANGED = path.join(ROOT, 'test', 'fixtures', 'workflows', 'tour-changed.workflow.ts');
const QUEUE = 'rfy-replay';
const HOUR = 3_600_000;

describe('npm run replay', () => {
  let dir: string;
  let server: RunningDevServer;
  let connection: Connection;
  let client: Client;

  beforeAll(async () => {
    try {
      Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
    } catch {
      // Installed already in this process.
    }
    dir = mkdtempSync(path.join(tmpdir(), 'rfy-replay-'));
    const config = getConfig();
    server = await startTemporalDevServer({
      cliPath: config.temporal.cliPath,
      dbFile: path.join(dir, 'temporal.db'),
      port: await freePort(),
      uiPort: await freePort(),
      namespace: 'default',
      searchAttributes: searchAttributesForCli(),
      logger: createLogger({ logLevel: 'warn', env: 'test' }, 'replay-test'),
    });
    connection = await Connection.connect({ address: server.address });
    client = new Client({ connection });

    // Three tours by the current code: two cancelled (closed), one waiting for its start (open).
    const fakes = new FakeTourActivities();
    const worker = await Worker.create({
      connection: await NativeConnection.connect({ address: server.address }),
      taskQueue: QUEUE,
      workflowsPath: require.resolve('../fixtures/workflows/tour-harness.workflows'),
      activities: fakes.activities,
    });
    await worker.runUntil(async () => {
      for (const tourId of [1, 2, 3]) {
        fakes.addTour(tourId, { status: 'scheduled', scheduledAt: new Date(Date.now() + 2 * HOUR).toISOString(), durationMinutes: 30, propertyId: 1, realtorId: 8, buyerId: 7 });
        const h = await client.workflow.start(tourWorkflow, { taskQueue: QUEUE, workflowId: tourWorkflowId(tourId), args: [{ tourId, bookingId: 100 + tourId, bookingWorkflowId: bookingWorkflowId(100 + tourId) }] });
        await eventually('the tour loaded', async () => (await h.query(tourStateQuery)).stage === 'scheduled');
        if (tourId !== 3) {
          await h.signal(tourCancelSignal);
          await h.result();
        }
      }
    });
    // Visibility is eventually consistent: wait until all three are listed.
    await eventually('all three listed', async () => {
      let n = 0;
      for await (const _ of client.workflow.list({ query: defaultQuery(new Date()) })) n += 1;
      return n === 3;
    }, 30_000);
  }, 180_000);

  afterAll(async () => {
    await client?.workflow.getHandle(tourWorkflowId(3)).terminate('test over').catch(() => undefined);
    await connection?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('when the histories are replayed against the current code, then each replays clean, open and closed alike', async () => {
    const lines: string[] = [];
    const summary = await replayFromServer({ client, query: defaultQuery(new Date()), limit: 100, workflowsPath: require.resolve('../../workflows'), print: (l) => lines.push(l) });
    expect(summary).toMatchObject({ replayed: 3, nondeterministic: 0, failed: 0, exitCode: 0 });
    expect(summary.outcomes.map((o) => o.workflowId).sort()).toEqual(['tour-1', 'tour-2', 'tour-3']);
    expect(lines.every((l) => l.startsWith('ok'))).toBe(true);
  }, 120_000);

  it('when the workflow code changed incompatibly, then every history is reported nondeterministic at the event where it parts, exit code 1', async () => {
    const summary = await replayFromServer({ client, query: defaultQuery(new Date()), limit: 100, workflowsPath: CHANGED });
    expect(summary).toMatchObject({ replayed: 0, nondeterministic: 3, exitCode: 1 });
    for (const o of summary.outcomes) {
      expect(o.status).toBe('nondeterministic');
      // The changed workflow starts a timer where the recorded one scheduled an activity.
      if (o.status === 'nondeterministic') expect(o.eventId).toEqual(expect.any(Number));
    }
  }, 120_000);

  it('when --limit is given, then at most that many are replayed; and the command itself prints a line each and exits 0 or 1', async () => {
    expect((await replayFromServer({ client, query: defaultQuery(new Date()), limit: 1, workflowsPath: require.resolve('../../workflows') })).outcomes).toHaveLength(1);
    const env = { TEMPORAL_ADDRESS: server.address, DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused' };
    const clean = await runScript('scripts/replay.ts', [], env, 120_000);
    expect(clean.stderr).toBe('');
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(/^ok +tour-1$/m);
    expect(clean.stdout).toMatch(/3 replayed, 0 nondeterministic, 0 failed/);
    const changed = await runScript('scripts/replay.ts', ['--workflows', path.relative(ROOT, CHANGED), '--query', "WorkflowType = 'tourWorkflow'"], env, 120_000);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toMatch(/^NONDETERMINISTIC +tour-\d at event \d+/m);
    const bad = await runScript('scripts/replay.ts', ['--limit', 'none'], env, 60_000);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--limit must be a whole number/);
  }, 300_000);

  it('when a nondeterminism message names the event, then its id is read from it', () => {
    expect(mismatchEventId('Nondeterminism(Timer machine does not handle this event: HistoryEvent(id: 5, ActivityTaskScheduled))')).toBe(5);
    expect(mismatchEventId('something else')).toBeNull();
  });
});
