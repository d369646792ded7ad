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
 * commit cf2bb82; this script does not write them).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, type WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import {
  bookingStateQuery,
  bookingWorkflowId,
  cancelUpdate,
  confirmUpdate,
  declineUpdate,
  rescheduleUpdate,
  type ActorRef,
  type BookingSnapshot,
  type BookingStatus,
} from '../../contracts/bookings';
import { endTourUpdate, startTourUpdate, tourWorkflowId, type TourStatus } from '../../contracts/tours';
import type { TourSnapshot } from '../../activities/bookings.activities';
import { bookingWorkflow } from '../../workflows/booking.workflow';
import { historyToJson } from '../fixtures/history-json';
import { createTimeSkippingEnv } from '../support/temporal';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const TASK_QUEUE = 'record-booking-history';
const BUYER: ActorRef = { userId: 7, role: 'buyer' };
const REALTOR: ActorRef = { userId: 8, role: 'realtor' };

export const DEFAULT_OUT_DIR = path.join(__dirname, '..', 'fixtures', 'histories');

/** The rows the activities would read and write, in memory; every call succeeds. */
function fakeActivities() {
  const bookings = new Map<number, BookingSnapshot & { icsSequence: number }>();
  const tours = new Map<number, TourSnapshot>();
  /** `<bookingId>:<kind>` → a notice that is held until the promise settles. */
  const held = new Map<string, Promise<unknown>>();
  const done = { status: 'done' as const, detail: null };
  return {
    bookings,
    held,
    activities: {
      async loadBookingForWorkflow(id: number) {
        const b = bookings.get(id);
        return b ? { ...b } : null;
      },
      async confirmBooking(id: number) {
        const b = bookings.get(id)!;
        Object.assign(b, { status: 'confirmed', tourId: id * 10, callId: id * 10 + 1 });
        tours.set(id * 10, { status: 'scheduled', scheduledAt: b.scheduledAt, durationMinutes: b.durationMinutes, propertyId: b.propertyId, realtorId: b.realtorId, buyerId: b.buyerId });
        return { tourId: id * 10, callId: id * 10 + 1 };
      },
      async transitionBooking(id: number, to: BookingStatus) {
        bookings.get(id)!.status = to;
      },
      async rescheduleBooking(id: number, change: { scheduledAt: string; durationMinutes: number }) {
        const b = bookings.get(id)!;
        Object.assign(b, { scheduledAt: new Date(change.scheduledAt).toISOString(), durationMinutes: change.durationMinutes, icsSequence: b.icsSequence + 1 });
        return { scheduledAt: b.scheduledAt, durationMinutes: b.durationMinutes, icsSequence: b.icsSequence };
      },
      async sendBookingNotice(n: { bookingId: number; kind: string }) {
        await held.get(`${n.bookingId}:${n.kind}`)?.catch(() => undefined);
        return { sent: 2, failed: 0 };
      },
      async loadTourForWorkflow(id: number) {
        const t = tours.get(id);
        return t ? { ...t } : null;
      },
      async setTourStatus(id: number, status: TourStatus) {
        const t = tours.get(id);
        if (t) t.status = status;
      },
      async markStepFailed() {},
      async sendTourNotice() {},
      async startCall(tourId: number) {
        return { MeetingId: `meeting-${tourId}`, ExternalMeetingId: `tour-${tourId}`, MediaRegion: 'local', MediaPlacement: {} };
      },
      async endCall() {},
      async processRecording() {
        return done;
      },
      async processTranscription() {
        return done;
      },
      async processHighlights() {
        return done;
      },
      async processSummary() {
        return done;
      },
      async processSummaryEmail() {
        return done;
      },
    },
  };
}

async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs each scenario and writes `<name>.json` files; returns their paths. */
export async function recordBookingHistories(outDir = DEFAULT_OUT_DIR): Promise<string[]> {
  const env = await createTimeSkippingEnv();
  // A plain client: the environment's own one lets the server skip time while awaiting a result.
  const client = new Client({ connection: env.connection, namespace: env.namespace });
  const fakes = fakeActivities();
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowsPath: require.resolve('../../workflows'),
    activities: fakes.activities,
  });
  const written: string[] = [];
  mkdirSync(outDir, { recursive: true });

  const save = async (name: string, handle: WorkflowHandle) => {
    const file = path.join(outDir, `${name}.json`);
    writeFileSync(file, historyToJson(await handle.fetchHistory()));
    written.push(file);
  };
  const sleepUntil = async (atMs: number) => {
    const ms = atMs - (await env.currentTimeMs());
    if (ms > 0) await env.sleep(ms);
  };
  const book = async (id: number, scheduledAt: number) => {
    fakes.bookings.set(id, {
      status: 'pending',
      scheduledAt: new Date(scheduledAt).toISOString(),
      durationMinutes: 30,
      propertyId: 100 + id,
      realtorId: REALTOR.userId,
      buyerId: BUYER.userId,
      tourId: null,
      callId: null,
      icsSequence: 0,
    });
    const handle = await client.workflow.start(bookingWorkflow, { taskQueue: TASK_QUEUE, workflowId: bookingWorkflowId(id), args: [{ bookingId: id }] });
    await waitFor('the booking to load', async () => (await handle.query(bookingStateQuery).catch(() => null))?.status === 'pending');
    return handle;
  };
  const inTwoHours = async () => Math.ceil(((await env.currentTimeMs()) + 2 * HOUR) / MINUTE) * MINUTE;

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
        fakes.held.set('4:cancelled', client.workflow.getHandle(tourWorkflowId(tourId)).result());
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

if (require.main === module) {
  recordBookingHistories(process.argv[2] ? path.resolve(process.argv[2]) : DEFAULT_OUT_DIR).then(
    (files) => {
      process.stdout.write(`${files.map((f) => `recorded ${path.relative(process.cwd(), f)}`).join('\n')}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`record-booking-history failed: ${String((err as Error).stack ?? err)}\n`);
      process.exit(1);
    },
  );
}
