/**
 * Re-records the TourWorkflow histories that `test/workflows/tour-replay.test.ts` replays:
 *
 *   node --import tsx test/tools/record-tour-history.ts [scenario ...]
 *
 * Runs each scenario on the time-skipping test server with the activity fakes and a booking
 * stand-in, and writes `test/fixtures/histories/tour-<scenario>.json`. Re-record only on
 * purpose (a deliberate, versioned change of the workflow); a replay failure otherwise means
 * the change would break tours that are running.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import {
  endTourUpdate,
  joinCallUpdate,
  leaveCallUpdate,
  retryProcessingUpdate,
  setRecordingUpdate,
  startTourUpdate,
  tourCancelSignal,
  tourRescheduleSignal,
  tourStateQuery,
  tourWorkflowId,
} from '../../contracts/tours';
import { tourWorkflow } from '../../workflows/tour.workflow';
import { historyToJson } from '../fixtures/history-json';
import { FakeTourActivities } from '../fixtures/tour-activity-fakes';
import { bookingStubWorkflow } from '../fixtures/workflows/booking-stub.workflow';
import { createTimeSkippingEnv, serverClock } from '../support/temporal';
import { eventually } from '../support/wait';
import { bookingWorkflowId } from '../../contracts/bookings';
import { runRecorder } from './run-recorder';
import { withPipeline } from '../workflows/support/pipeline-fakes';
import type { TourWorkflowStart } from '../../workflows/tour.workflow';

export const HISTORIES_DIR = path.join(__dirname, '..', 'fixtures', 'histories');
const TASK_QUEUE = 'tour-history-recorder';
const MINUTE = 60_000;
const REALTOR = 8;
const BUYER = 7;

type Handle = WorkflowHandle<typeof tourWorkflow>;

interface Scenario {
  tourId: number;
  /** Started as a booking on the local-steps path starts it (told its row in `created`; its booking learns the outcome from its completion). */
  local?: boolean;
  run(h: Handle, ctx: { env: TestWorkflowEnvironment; fakes: FakeTourActivities; tourId: number }): Promise<void>;
}

const until = (what: string, probe: () => Promise<boolean>) => eventually(what, probe, 10_000, 20);

/** File name (without `tour-` and `.json`) → what happens in it. Fixed ids keep re-recordings comparable. */
export const SCENARIOS: Record<string, Scenario> = {
  lifecycle: {
    tourId: 9001,
    async run(h) {
      await h.executeUpdate(startTourUpdate, { args: [REALTOR] });
      await h.executeUpdate(joinCallUpdate, { args: [REALTOR] });
      await h.executeUpdate(joinCallUpdate, { args: [BUYER] });
      await h.executeUpdate(setRecordingUpdate, { args: [true] });
      await h.executeUpdate(leaveCallUpdate, { args: [BUYER] });
      await h.executeUpdate(endTourUpdate, { args: [REALTOR] });
    },
  },
  'processing-retry': {
    tourId: 9002,
    async run(h, { fakes, tourId }) {
      fakes.failStep(tourId, 'transcription', 'bad audio');
      await h.executeUpdate(startTourUpdate, { args: [REALTOR] });
      await h.executeUpdate(joinCallUpdate, { args: [BUYER] });
      await h.executeUpdate(endTourUpdate, { args: [REALTOR] });
      await until('the tour to park', async () => (await h.query(tourStateQuery)).stage === 'processing_failed');
      fakes.healStep(tourId, 'transcription');
      await h.executeUpdate(retryProcessingUpdate, { args: [] });
    },
  },
  cancelled: {
    tourId: 9003,
    async run(h) {
      await h.signal(tourCancelSignal);
    },
  },
  'max-call-length': {
    tourId: 9004,
    async run(h, { env }) {
      await h.executeUpdate(startTourUpdate, { args: [REALTOR] });
      await h.executeUpdate(joinCallUpdate, { args: [REALTOR] });
      await env.sleep(61 * MINUTE);
    },
  },
  /** Recorded from the start (RECORD_CALLS), stopped and restarted, with the tour_start / tour_end notices. */
  'recorded-notices': {
    tourId: 9006,
    async run(h, { fakes }) {
      fakes.recordCalls = true;
      await h.executeUpdate(startTourUpdate, { args: [REALTOR] });
      fakes.recordCalls = false;
      await h.executeUpdate(joinCallUpdate, { args: [REALTOR] });
      await h.executeUpdate(joinCallUpdate, { args: [BUYER] });
      await h.executeUpdate(setRecordingUpdate, { args: [false, REALTOR] });
      await h.executeUpdate(setRecordingUpdate, { args: [true, REALTOR] });
      await h.executeUpdate(endTourUpdate, { args: [REALTOR] });
    },
  },
  'no-show-rescheduled': {
    tourId: 9005,
    async run(h, { env }) {
      const at = new Date(await serverClock(() => env).startIn(3 * 60 * MINUTE)).toISOString();
      await h.signal(tourRescheduleSignal, at, 45);
      // The result (awaited next) skips time to the moved no-show deadline.
    },
  },
};

/**
 * The same scenarios under `closure-<name>` (ids + 100): recorded from the closure-style
 * TourWorkflow just before it became a state class, so that change is replayed against
 * histories of the code it replaced, not only the older committed ones.
 */
for (const [name, scenario] of Object.entries(SCENARIOS).filter(([n]) => !n.startsWith('closure-'))) {
  const tourId = scenario.tourId + 100;
  SCENARIOS[`closure-${name}`] = {
    tourId,
    run: (h, ctx) => scenario.run(h, ctx),
  };
}

/**
 * The same scenarios under `local-<name>` (ids + 200), started the way a booking on the
 * local-steps path starts its tour: recorded from the workflow's local-steps path (local
 * activities, the pipeline as one activity, no signal to the booking).
 */
for (const [name, scenario] of Object.entries(SCENARIOS).filter(([n]) => !n.startsWith('closure-') && !n.startsWith('local-'))) {
  SCENARIOS[`local-${name}`] = { tourId: scenario.tourId + 200, local: true, run: (h, ctx) => scenario.run(h, ctx) };
}

/** Runs the named scenarios (all when none are named) and writes their histories; returns the files written. */
export async function recordTourHistories(outDir = HISTORIES_DIR, only: string[] = []): Promise<string[]> {
  const unknown = only.filter((n) => !(n in SCENARIOS));
  if (unknown.length) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  const env = await createTimeSkippingEnv();
  const fakes = new FakeTourActivities();
  const { startIn } = serverClock(() => env);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowsPath: require.resolve('../fixtures/workflows/tour-harness.workflows'),
    activities: withPipeline(fakes.activities),
  });
  const written: string[] = [];
  try {
    await worker.runUntil(async () => {
      for (const [name, scenario] of Object.entries(SCENARIOS).filter(([n]) => !only.length || only.includes(n))) {
        const { tourId } = scenario;
        const bookingId = tourId + 1000;
        const start = await startIn(60 * MINUTE);
        const scheduledAt = new Date(start).toISOString();
        fakes.addTour(tourId, { status: 'scheduled', scheduledAt, durationMinutes: 30, propertyId: 100, realtorId: REALTOR, buyerId: BUYER });
        // A tour on the local-steps path tells its booking nothing (its parent awaits its result): no stand-in for it.
        const booking = scenario.local ? null : await env.client.workflow.start(bookingStubWorkflow, { taskQueue: TASK_QUEUE, workflowId: bookingWorkflowId(bookingId) });
        const input: TourWorkflowStart = { tourId, bookingId, bookingWorkflowId: bookingWorkflowId(bookingId), maxCallMinutes: 60, emptyCallEndMinutes: 10, noShowGraceMinutes: 60 };
        if (scenario.local) input.created = { scheduledAt, durationMinutes: 30, propertyId: 100, realtorId: REALTOR };
        const handle = await env.client.workflow.start(tourWorkflow, { taskQueue: TASK_QUEUE, workflowId: tourWorkflowId(tourId), args: [input] });
        await until('the tour to load', async () => (await handle.query(tourStateQuery)).stage !== 'loading');
        await scenario.run(handle, { env, fakes, tourId });
        const result = await handle.result();
        await booking?.result();
        const file = path.join(outDir, `tour-${name}.json`);
        await writeFile(file, historyToJson(await handle.fetchHistory()));
        written.push(file);
        process.stdout.write(`${path.relative(process.cwd(), file)}: ${result.stage}\n`);
      }
    });
  } finally {
    await env.teardown();
  }
  return written;
}

// `-- recorded-notices` records one scenario; with no names every history is re-recorded.
if (require.main === module) runRecorder('record-tour-history', () => recordTourHistories(HISTORIES_DIR, process.argv.slice(2)));
