/**
 * node --import tsx test/tools/record-booking-history.ts [outDir]
 *
 * Re-records the BookingWorkflow histories (test/fixtures/histories/booking-*.json) that
 * test/workflows/booking-replay.test.ts replays: it runs the real workflow bundle (the
 * tours it starts included) on the time-skipping test server with activity fakes and
 * saves each booking's history as proto JSON, the format `temporal workflow show
 * --output json` and the Web UI's download write.
 *
 * Re-record only on purpose: a committed history stands for workflows already running in
 * production, which new workflow code must still replay. After a deliberate,
 * incompatible change (behind `patched()`), record new files next to the old ones rather
 * than replacing them, as booking-legacy-*.json were kept (recorded with the workflow of
 * commit cf2bb82; this script does not write them). It writes booking-ownmail-*.json: the
 * workflow as it runs now, on its local-steps path ('booking-local-db-steps') with the
 * reminder's activity started ahead of its time ('booking-reminder-at-due') and its own
 * notices sent as local activities ('booking-own-notices-local'). The booking-ahead-*.json
 * (without the last, recorded with the workflow of commit 8908eca), booking-local-*.json
 * (local steps, the reminder's activity at its time) and the booking-*.json without any
 * were recorded before and stay as they are.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, type WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { bookingStateQuery, bookingWorkflowId, cancelUpdate, confirmUpdate, declineUpdate, rescheduleUpdate } from '../../contracts/bookings';
import { endTourUpdate, startTourUpdate, tourWorkflowId } from '../../contracts/tours';
import { bookingWorkflow } from '../../workflows/booking.workflow';
import { historyToJson } from '../fixtures/history-json';
import { BUYER, FakeBookingActivities, pendingBooking, REALTOR } from '../support/booking-activity-fakes';
import { createTimeSkippingEnv, serverClock } from '../support/temporal';
import { eventually } from '../support/wait';
import { runRecorder } from './run-recorder';
import { withPipeline } from '../workflows/support/pipeline-fakes';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const TASK_QUEUE = 'record-booking-history';

export const DEFAULT_OUT_DIR = path.join(__dirname, '..', 'fixtures', 'histories');

const waitFor = (what: string, probe: () => Promise<boolean>) => eventually(what, probe, 15_000, 20);

/** Runs each scenario and writes `<name>.json` files; returns their paths. */
export async function recordBookingHistories(outDir = DEFAULT_OUT_DIR): Promise<string[]> {
  const env = await createTimeSkippingEnv();
  // A plain client: the environment's own one lets the server skip time while awaiting a result.
  const client = new Client({ connection: env.connection, namespace: env.namespace });
  const fakes = new FakeBookingActivities();
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowsPath: require.resolve('../../workflows'),
    activities: withPipeline(fakes.activities),
  });
  const written: string[] = [];
  mkdirSync(outDir, { recursive: true });

  const save = async (name: string, handle: WorkflowHandle) => {
    const file = path.join(outDir, `${name.replace(/^booking-/, 'booking-ownmail-')}.json`);
    writeFileSync(file, historyToJson(await handle.fetchHistory()));
    written.push(file);
  };
  const { sleepUntil, startIn } = serverClock(() => env);
  const book = async (id: number, scheduledAt: number) => {
    fakes.bookings.set(id, pendingBooking(id, scheduledAt));
    const handle = await client.workflow.start(bookingWorkflow, { taskQueue: TASK_QUEUE, workflowId: bookingWorkflowId(id), args: [{ bookingId: id }] });
    await waitFor('the booking to load', async () => (await handle.query(bookingStateQuery).catch(() => null))?.status === 'pending');
    return handle;
  };
  const inTwoHours = () => startIn(2 * HOUR);

  try {
    await worker.runUntil(async () => {
      // Scenarios that sleep come first: once a tour completes after its booking closed,
      // the test server stops skipping time for good.
      // request → nobody answers → expired at its time
      {
        const T = await inTwoHours();
        const booking = await book(1, T);
        await sleepUntil(T + MINUTE);
        const state = await booking.result();
        if (state.status !== 'expired') throw new Error(`booking 1 ended ${state.status}`);
        await save('booking-request-expire', booking);
      }
      // request → cancelled by the buyer while pending
      {
        const booking = await book(2, await inTwoHours());
        await booking.executeUpdate(cancelUpdate, { args: [BUYER, 'Changed my mind'] });
        const state = await booking.result();
        if (state.status !== 'cancelled') throw new Error(`booking 2 ended ${state.status}`);
        await save('booking-request-cancel', booking);
      }
      // request → confirm → reschedule → reminder → tour held and processed → completed
      {
        const T = await inTwoHours();
        const newT = T + HOUR;
        const booking = await book(3, T);
        const { tourId } = await booking.executeUpdate(confirmUpdate, { args: [REALTOR] });
        await booking.executeUpdate(rescheduleUpdate, { args: [BUYER, { scheduledAt: new Date(newT).toISOString(), durationMinutes: 45 }] });
        await sleepUntil(newT - 14 * MINUTE);
        await waitFor('the reminder', async () => (await booking.query(bookingStateQuery)).reminderSentFor === new Date(newT).toISOString());
        await sleepUntil(newT + MINUTE);
        const tour = client.workflow.getHandle(tourWorkflowId(tourId));
        await tour.executeUpdate(startTourUpdate, { args: [REALTOR.userId] });
        await tour.executeUpdate(endTourUpdate, { args: [REALTOR.userId] });
        const state = await booking.result();
        if (state.status !== 'completed') throw new Error(`booking 3 ended ${state.status}`);
        await save('booking-confirm-reschedule-complete', booking);
      }
      // request → confirm → cancelled by the realtor, which cancels the tour
      {
        const booking = await book(4, await inTwoHours());
        const { tourId } = await booking.executeUpdate(confirmUpdate, { args: [REALTOR] });
        // The cancellation notice waits for the tour to close, so the tour's answer and its
        // completion are always in this history (otherwise that is a race).
        fakes.bookings.get(4)!.noticeGate = { kind: 'cancelled', until: client.workflow.getHandle(tourWorkflowId(tourId)).result() };
        await booking.executeUpdate(cancelUpdate, { args: [REALTOR, 'The house was sold'] });
        const state = await booking.result();
        if (state.status !== 'cancelled') throw new Error(`booking 4 ended ${state.status}`);
        await save('booking-confirm-cancel', booking);
      }
      // request → declined by the realtor
      {
        const booking = await book(5, await inTwoHours());
        await booking.executeUpdate(declineUpdate, { args: [REALTOR, 'Not available then'] });
        const state = await booking.result();
        if (state.status !== 'declined') throw new Error(`booking 5 ended ${state.status}`);
        await save('booking-request-decline', booking);
      }
    });
  } finally {
    await env.teardown();
  }
  return written;
}

if (require.main === module) runRecorder('record-booking-history', () => recordBookingHistories(process.argv[2] ? path.resolve(process.argv[2]) : DEFAULT_OUT_DIR));
