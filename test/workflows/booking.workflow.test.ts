import { ApplicationFailure } from '@temporalio/common';
import { Client, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import {
  DEFAULT_REMINDER_HEADSTART_SECONDS,
  bookingStateQuery,
  bookingWorkflowId,
  cancelUpdate,
  confirmUpdate,
  declineUpdate,
  rescheduleUpdate,
  type BookingNoticeKind,
  type BookingState,
} from '../../contracts/bookings';
import { endTourUpdate, startTourUpdate, tourFinishedSignal, tourStateQuery, tourWorkflowId } from '../../contracts/tours';
import { bookingWorkflow } from '../../workflows/booking.workflow';
import { BUYER, FakeBookingActivities, pendingBooking, REALTOR, type FakeBooking } from '../support/booking-activity-fakes';
import { createTimeSkippingEnv, serverClock } from '../support/temporal';
import { eventually } from '../support/wait';
import { localActivityAt, localActivityMarkers, type HistoryEvent } from './support/history';
import { withPipeline } from './support/pipeline-fakes';

/**
 * BookingWorkflow (and the TourWorkflow it starts) on the time-skipping server, with
 * activity fakes that answer like the database would and record every call together with
 * the server time at which the workflow scheduled it.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** The reminder's head start when the workflow's input does not set one. */
const HEADSTART = MINUTE;
const TASK_QUEUE = 'booking-workflow-test';

const waitFor = <T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>): Promise<T> => eventually(what, probe, 10_000, 20);

describe('BookingWorkflow on the time-skipping server with activity fakes', () => {
  let bundle: WorkflowBundleWithSourceMap;
  /**
   * One server per test. Time skipping is global to a server, and the test server (1.40)
   * stops skipping for good once an abandoned child (a tour) completes after its parent
   * (the booking) has closed: one such test would turn every later sleep into real time.
   */
  let env: TestWorkflowEnvironment;
  /**
   * A plain client: the environment's own one skips time while it awaits a result, and
   * with nothing else to do the server then jumps to its next timer, however far.
   * Here time moves only through env.sleep.
   */
  let client: Client;
  let worker: Worker;
  let workerRun: Promise<void>;
  let db: FakeBookingActivities;
  let nextBookingId = 1;

  beforeAll(async () => {
    bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: new DefaultLogger('WARN') });
  });

  beforeEach(async () => {
    env = await createTimeSkippingEnv();
    client = new Client({ connection: env.connection, namespace: env.namespace });
    db = new FakeBookingActivities();
    worker = await Worker.create({ connection: env.nativeConnection, taskQueue: TASK_QUEUE, workflowBundle: bundle, activities: withPipeline(db.activities) });
    workerRun = worker.run();
  });

  afterEach(async () => {
    if (worker) {
      worker.shutdown();
      await workerRun;
    }
    await env?.teardown();
  });

  const { sleepUntil, startIn } = serverClock(() => env);

  /** A booking row as the API would have committed it, and its workflow, loaded. */
  async function book(opts: { scheduledAt: number; expiryLeadMinutes?: number } & Omit<Partial<FakeBooking>, 'scheduledAt'>): Promise<{ id: number; handle: WorkflowHandle<typeof bookingWorkflow> }> {
    const id = nextBookingId++;
    const { scheduledAt, expiryLeadMinutes, ...rest } = opts;
    db.bookings.set(id, pendingBooking(id, scheduledAt, rest));
    const handle = await startWorkflow(id, expiryLeadMinutes);
    await waitFor('the booking to load', async () => (await handle.query(bookingStateQuery).catch(() => null))?.status !== 'loading' || undefined);
    return { id, handle };
  }

  async function startWorkflow(id: number, expiryLeadMinutes?: number): Promise<WorkflowHandle<typeof bookingWorkflow>> {
    const workflowId = bookingWorkflowId(id);
    return client.workflow.start(bookingWorkflow, {
      taskQueue: TASK_QUEUE,
      workflowId,
      args: [{ bookingId: id, ...(expiryLeadMinutes !== undefined ? { expiryLeadMinutes } : {}) }],
    });
  }

  const state = (h: WorkflowHandle<typeof bookingWorkflow>): Promise<BookingState> => h.query(bookingStateQuery);

  async function confirm(h: WorkflowHandle<typeof bookingWorkflow>) {
    return h.executeUpdate(confirmUpdate, { args: [REALTOR] });
  }

  async function updateError(p: Promise<unknown>): Promise<WorkflowUpdateFailedError> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    return err as WorkflowUpdateFailedError;
  }

  const kinds = (id: number) => db.noticesOf(id).map((c) => c.notice.kind);

  /** The booking's notices of a kind, once there is at least one. */
  const noticesOnceThere = (id: number, kind: BookingNoticeKind) => waitFor(`a ${kind} notice`, () => db.noticesOf(id, kind).length > 0 && db.noticesOf(id, kind));

  describe('the 15-minute reminder', () => {
    it('when a confirmed booking waits for its time, then no reminder exists at T−17 min and the reminder starts its head start before T−15 min (to the second), to be sent at T−15, keyed by T', async () => {
      const T = await startIn(2 * HOUR);
      const { id, handle } = await book({ scheduledAt: T });
      expect(await confirm(handle)).toEqual({ bookingId: id, tourId: id * 10, callId: id * 10 + 1 });
      await waitFor('the confirmation notice', () => db.noticesOf(id, 'confirmed').length > 0);

      await sleepUntil(T - 17 * MINUTE);
      expect(db.noticesOf(id, 'reminder')).toEqual([]);
      expect((await state(handle)).reminderSentFor).toBeNull();

      await sleepUntil(T - 14 * MINUTE);
      const [reminder, ...more] = await noticesOnceThere(id, 'reminder');
      expect(more).toEqual([]);
      // Its activity starts ahead and sends at sendAt itself (activities/bookings.activities.ts).
      expect(DEFAULT_REMINDER_HEADSTART_SECONDS * 1000).toBe(HEADSTART);
      expect(reminder!.at).toBeGreaterThanOrEqual(T - 15 * MINUTE - HEADSTART);
      expect(reminder!.at).toBeLessThan(T - 15 * MINUTE - HEADSTART + 1000);
      expect(reminder!.notice).toEqual({ bookingId: id, kind: 'reminder', discriminator: new Date(T).toISOString(), sendAt: new Date(T - 15 * MINUTE).toISOString() });
      expect((await state(handle)).reminderSentFor).toBe(new Date(T).toISOString());
      expect(kinds(id)).toEqual(['request', 'confirmed', 'reminder']);
    });

    it('when a confirmed booking is rescheduled, then no reminder goes at the old T−15 and one goes at the new T−15, keyed by the new time', async () => {
      const oldT = await startIn(2 * HOUR);
      const newT = oldT + 3 * HOUR;
      const { id, handle } = await book({ scheduledAt: oldT });
      await confirm(handle);

      const moved = await handle.executeUpdate(rescheduleUpdate, { args: [BUYER, { scheduledAt: new Date(newT).toISOString(), durationMinutes: 45 }] });
      expect(moved).toMatchObject({ status: 'confirmed', scheduledAt: new Date(newT).toISOString(), durationMinutes: 45 });
      const [rescheduled] = await noticesOnceThere(id, 'rescheduled');
      expect(rescheduled!.notice).toEqual({ bookingId: id, kind: 'rescheduled', discriminator: 'seq-1', actorUserId: BUYER.userId, previousScheduledAt: new Date(oldT).toISOString() });

      // Past the old reminder time and even the old tour's end: nothing for the old time.
      await sleepUntil(oldT + HOUR);
      expect(db.noticesOf(id, 'reminder')).toEqual([]);
      expect(db.callsOf(id, 'setTourStatus')).toEqual([]);

      await sleepUntil(newT - 17 * MINUTE);
      expect(db.noticesOf(id, 'reminder')).toEqual([]);
      await sleepUntil(newT - 14 * MINUTE);
      const reminders = await noticesOnceThere(id, 'reminder');
      expect(reminders).toHaveLength(1);
      expect(reminders[0]!.at).toBeGreaterThanOrEqual(newT - 15 * MINUTE - HEADSTART);
      expect(reminders[0]!.at).toBeLessThan(newT - 15 * MINUTE - HEADSTART + 1000);
      expect(reminders[0]!.notice.discriminator).toBe(new Date(newT).toISOString());
      expect(reminders[0]!.notice.sendAt).toBe(new Date(newT - 15 * MINUTE).toISOString());
      expect((await state(handle)).reminderSentFor).toBe(new Date(newT).toISOString());
    });

    it('when a confirmed booking is cancelled before T−15, then no reminder is sent, the tour is told to cancel and the workflow ends cancelled', async () => {
      const T = await startIn(2 * HOUR);
      let tourClosed!: () => void;
      // The booking's last notice waits for its tour to close: the test server stops skipping
      // time for good when a tour completes after its booking did (see the top of this file).
      const { id, handle } = await book({ scheduledAt: T, noticeGate: { kind: 'cancelled', until: new Promise<void>((r) => (tourClosed = r)) } });
      const { tourId } = await confirm(handle);
      const tour = client.workflow.getHandle(tourWorkflowId(tourId));
      void tour.result().then(tourClosed, tourClosed);
      await waitFor('the tour to load', async () => (await tour.query(tourStateQuery).catch(() => null))?.stage === 'scheduled');

      await sleepUntil(T - 30 * MINUTE);
      const cancelled = await handle.executeUpdate(cancelUpdate, { args: [BUYER, 'Found another place'] });
      expect(cancelled.status).toBe('cancelled');

      expect((await tour.result()).stage).toBe('cancelled');
      const result = await handle.result();
      expect(result.status).toBe('cancelled');
      expect(db.callsOf(id, 'transitionBooking').map((c) => c.args.slice(1))).toEqual([['cancelled', { actorUserId: BUYER.userId, reason: 'Found another place' }]]);
      expect(db.callsOf(id, 'setTourStatus').map((c) => c.args)).toEqual([[tourId, 'cancelled', { reason: 'booking cancelled' }]]);
      expect(db.noticesOf(id, 'cancelled').map((c) => c.notice)).toEqual([{ bookingId: id, kind: 'cancelled', discriminator: 'once', actorUserId: BUYER.userId }]);

      await sleepUntil(T + HOUR);
      expect(db.noticesOf(id, 'reminder')).toEqual([]);
      expect(kinds(id)).toEqual(['request', 'confirmed', 'cancelled']);
    });

    it('when a booking is confirmed later than T−15, then the reminder is sent at once, after the confirmation', async () => {
      const T = await startIn(10 * MINUTE);
      const { id, handle } = await book({ scheduledAt: T });
      await confirm(handle);
      // No time skipping: the reminder must not wait for anything.
      const [reminder] = await noticesOnceThere(id, 'reminder');
      expect(reminder!.at - (await localActivityAt(handle, 'confirmBooking'))).toBeLessThan(5_000);
      expect(reminder!.notice.discriminator).toBe(new Date(T).toISOString());
      await waitFor('every notice', () => kinds(id).length === 3);
      expect(kinds(id)).toEqual(['request', 'confirmed', 'reminder']);
    });
  });

  describe('pending expiry', () => {
    it('when nobody confirms a pending booking, then it expires at its scheduled time with an "expired" notice to both parties', async () => {
      const T = await startIn(2 * HOUR);
      const { id, handle } = await book({ scheduledAt: T });

      await sleepUntil(T - MINUTE);
      expect((await state(handle)).status).toBe('pending');
      expect(db.callsOf(id, 'transitionBooking')).toEqual([]);

      await sleepUntil(T + MINUTE);
      expect((await handle.result()).status).toBe('expired');
      const [expiry, ...more] = db.callsOf(id, 'transitionBooking');
      expect(more).toEqual([]);
      expect(expiry!.args).toEqual([id, 'expired', { actorUserId: null, reason: 'Not confirmed before its time' }]);
      const expiredAt = await localActivityAt(handle, 'transitionBooking');
      expect(expiredAt).toBeGreaterThanOrEqual(T);
      expect(expiredAt).toBeLessThan(T + 1000);
      // No actor: the activity addresses buyer and realtor alike.
      expect(db.noticesOf(id, 'expired').map((c) => c.notice)).toEqual([{ bookingId: id, kind: 'expired', discriminator: 'once' }]);
      expect(kinds(id)).toEqual(['request', 'expired']);
    });

    it('when expiryLeadMinutes is 30, then a pending booking expires 30 minutes before its time', async () => {
      const T = await startIn(2 * HOUR);
      const { id, handle } = await book({ scheduledAt: T, expiryLeadMinutes: 30 });

      await sleepUntil(T - 31 * MINUTE);
      expect((await state(handle)).status).toBe('pending');

      await sleepUntil(T - 29 * MINUTE);
      expect((await handle.result()).status).toBe('expired');
      const [expiry] = db.callsOf(id, 'transitionBooking');
      expect(expiry!.args[1]).toBe('expired');
      const expiredAt = await localActivityAt(handle, 'transitionBooking');
      expect(expiredAt).toBeGreaterThanOrEqual(T - 30 * MINUTE);
      expect(expiredAt).toBeLessThan(T - 30 * MINUTE + 1000);
      expect(db.noticesOf(id, 'expired')).toHaveLength(1);
    });
  });

  describe('refused commands', () => {
    it('when a booking was cancelled, then a confirm update is rejected with WorkflowUpdateFailedError and nothing is confirmed', async () => {
      let release!: () => void;
      const until = new Promise<void>((r) => (release = r));
      const T = await startIn(2 * HOUR);
      // The cancellation notice is still on its way, so the workflow is still running.
      const { id, handle } = await book({ scheduledAt: T, noticeGate: { kind: 'cancelled', until } });
      await handle.executeUpdate(cancelUpdate, { args: [BUYER, null] });

      const err = await updateError(confirm(handle));
      expect(err.cause).toBeInstanceOf(ApplicationFailure);
      expect(err.cause).toMatchObject({ type: 'InvalidTransition', message: 'This booking is cancelled; it cannot be confirmed' });
      expect(db.callsOf(id, 'confirmBooking')).toEqual([]);
      expect((await state(handle)).status).toBe('cancelled');

      release();
      expect((await handle.result()).status).toBe('cancelled');
      expect(db.tours.size).toBe(0);
    });

    it('when a booking was confirmed, then a decline update is rejected with WorkflowUpdateFailedError and the booking stays confirmed', async () => {
      const T = await startIn(2 * HOUR);
      const { id, handle } = await book({ scheduledAt: T });
      await confirm(handle);

      const err = await updateError(handle.executeUpdate(declineUpdate, { args: [REALTOR, 'Busy'] }));
      expect(err.cause).toMatchObject({ type: 'InvalidTransition', message: 'This booking is confirmed; it cannot be declined' });
      expect(db.callsOf(id, 'transitionBooking')).toEqual([]);
      expect((await state(handle)).status).toBe('confirmed');
    });

    it('when confirmBooking fails with SlotTaken, then the confirm update fails with that message, is not retried, and the booking stays pending', async () => {
      const T = await startIn(2 * HOUR);
      const message = 'The property or the realtor already has a tour at that time';
      const { id, handle } = await book({ scheduledAt: T, confirmFails: { type: 'SlotTaken', message } });

      const err = await updateError(confirm(handle));
      expect(err.cause).toBeInstanceOf(ApplicationFailure);
      expect(err.cause).toMatchObject({ type: 'SlotTaken', message });
      expect(db.callsOf(id, 'confirmBooking').map((c) => c.attempt)).toEqual([1]);
      expect(await state(handle)).toMatchObject({ status: 'pending', tourId: null, callId: null });
      expect(db.noticesOf(id, 'confirmed')).toEqual([]);

      // Still pending and still serving commands: the slot frees up and a retry works.
      db.bookings.get(id)!.confirmFails = undefined;
      expect(await confirm(handle)).toEqual({ bookingId: id, tourId: id * 10, callId: id * 10 + 1 });
      expect((await state(handle)).status).toBe('confirmed');
    });
  });

  describe('edges', () => {
    it('when the booking row does not exist, then the workflow ends with status "missing" and calls no other activity', async () => {
      const id = nextBookingId++;
      const handle = await startWorkflow(id);
      expect(await handle.result()).toMatchObject({ bookingId: id, status: 'missing', scheduledAt: null });
      expect(db.callsOf(id).map((c) => c.name)).toEqual(['loadBookingForWorkflow']);
    });

    it('when the notice activity fails for good, then the booking goes on: it is confirmed and reminded anyway', async () => {
      const T = await startIn(2 * HOUR);
      const { id, handle } = await book({ scheduledAt: T, noticeFailsFor: ['request', 'confirmed'] });
      await waitFor('the request notice attempt', () => db.noticesOf(id, 'request').length > 0);
      expect((await state(handle)).status).toBe('pending');

      await confirm(handle);
      await waitFor('the confirmation notice attempt', () => db.noticesOf(id, 'confirmed').length > 0);
      expect((await state(handle)).status).toBe('confirmed');

      await sleepUntil(T - 14 * MINUTE);
      await waitFor('the reminder', () => db.noticesOf(id, 'reminder').length > 0);
      // A permanent failure is one attempt, not twenty.
      expect(db.noticesOf(id).map((c) => [c.notice.kind, c.attempt])).toEqual([
        ['request', 1],
        ['confirmed', 1],
        ['reminder', 1],
      ]);
    });

    it('when the tour signals tourFinished("completed"), then the booking completes', async () => {
      const T = await startIn(2 * HOUR);
      const { id, handle } = await book({ scheduledAt: T });
      const { tourId } = await confirm(handle);

      await sleepUntil(T + 45 * MINUTE);
      expect((await state(handle)).status).toBe('confirmed');
      // What the tour's workflow sends once its call and processing are over.
      await handle.signal(tourFinishedSignal, 'completed');
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'completed', tourId, reminderSentFor: new Date(T).toISOString() });
      expect(db.callsOf(id, 'transitionBooking').map((c) => c.args)).toEqual([[id, 'completed', { actorUserId: null, reason: null }]]);
      expect(kinds(id)).toEqual(['request', 'confirmed', 'reminder']);
    });
  });

  describe('local database steps, one workflow task per command', () => {
    const history = async (h: WorkflowHandle): Promise<HistoryEvent[]> => (await h.fetchHistory()).events ?? [];

    it('when the database step succeeds, then a confirm is answered after one workflow task: accepted, the local activity marker, the status, the tour started and completed, with no task or activity in between', async () => {
      const T = await startIn(2 * HOUR);
      const { id, handle } = await book({ scheduledAt: T });
      expect(await confirm(handle)).toEqual({ bookingId: id, tourId: id * 10, callId: id * 10 + 1 });

      const events = await history(handle);
      const accepted = events.findIndex((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
      const completed = events.findIndex((e) => e.workflowExecutionUpdateCompletedEventAttributes);
      expect(accepted).toBeGreaterThan(0);
      expect(completed).toBeGreaterThan(accepted);
      const between = events.slice(accepted + 1, completed);
      // Nothing went through the server between the command and its answer.
      expect(between.filter((e) => e.workflowTaskScheduledEventAttributes || e.workflowTaskStartedEventAttributes || e.activityTaskScheduledEventAttributes)).toEqual([]);
      expect(localActivityMarkers(between).map((m) => m.activity_type)).toEqual(['confirmBooking']);
      expect(between.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes)).toHaveLength(1);
      expect(between.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)).toHaveLength(1);
      // The confirmation ran as a local activity, and the row was read as one too.
      expect(events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? [])).toEqual(expect.not.arrayContaining(['confirmBooking', 'loadBookingForWorkflow']));
      expect(localActivityMarkers(events).map((m) => m.activity_type)).toEqual(['loadBookingForWorkflow', 'sendBookingNotice', 'confirmBooking']);
    });

    it('when a booking starts, then its request goes out in its first workflow task, as a local activity, and the confirmation\'s notice as an activity after the confirm was answered', async () => {
      const T = await startIn(2 * HOUR);
      const { id, handle } = await book({ scheduledAt: T });
      await waitFor('the request notice', () => db.noticesOf(id, 'request').length > 0);
      await waitFor('the request\'s timer', async () => (await history(handle)).some((e) => e.timerStartedEventAttributes));
      let events = await history(handle);
      const firstTask = events.slice(0, events.findIndex((e) => e.timerStartedEventAttributes) + 1);
      // Read, request and timer in one task: nothing went through the server in between.
      expect(firstTask.filter((e) => e.workflowTaskCompletedEventAttributes)).toHaveLength(1);
      expect(firstTask.filter((e) => e.activityTaskScheduledEventAttributes)).toEqual([]);
      expect(localActivityMarkers(firstTask).map((m) => m.activity_type)).toEqual(['loadBookingForWorkflow', 'sendBookingNotice']);

      await confirm(handle);
      await waitFor('the confirmation notice', () => db.noticesOf(id, 'confirmed').length > 0);
      events = await history(handle);
      const completed = events.findIndex((e) => e.workflowExecutionUpdateCompletedEventAttributes);
      const scheduled = events.findIndex((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'sendBookingNotice');
      expect(scheduled).toBeGreaterThan(completed);
      expect(kinds(id)).toEqual(['request', 'confirmed']);
    });

    it('when the mail provider is down for the request\'s first attempt, then the local activity retries it and the booking goes on: one request sent, the booking still pending', async () => {
      const T = await startIn(2 * HOUR);
      const { id, handle } = await book({ scheduledAt: T, noticeDownFor: { kind: 'request', times: 1 } });
      // Its retry comes 5 s later (EMAIL_OPTIONS), inside the workflow task: worker time, not skipped.
      await eventually('the request\'s second attempt', () => db.noticesOf(id, 'request').length > 1, 30_000, 50);
      expect(db.noticesOf(id, 'request').map((c) => c.attempt)).toEqual([1, 2]);
      expect(db.bookings.get(id)!.noticeDownFor!.times).toBe(0);
      await waitFor('the request\'s marker', async () => localActivityMarkers(await history(handle)).some((m) => m.activity_type === 'sendBookingNotice'));
      expect(localActivityMarkers(await history(handle)).filter((m) => m.activity_type === 'sendBookingNotice').map((m) => m.attempt)).toEqual([2]);
      expect((await state(handle)).status).toBe('pending');
      expect(await confirm(handle)).toMatchObject({ bookingId: id });
    });

    it('when the confirmation commits but its answer is lost, then the local activity retries and finds it done: one tour, one tour workflow, one confirmation notice', async () => {
      const T = await startIn(2 * HOUR);
      const { id, handle } = await book({ scheduledAt: T, confirmAnswerLostOnce: true });
      const result = await confirm(handle);
      expect(result).toEqual({ bookingId: id, tourId: id * 10, callId: id * 10 + 1 });
      expect(db.callsOf(id, 'confirmBooking').map((c) => c.attempt)).toEqual([1, 2]);
      expect([...db.tours.values()].filter((t) => t.bookingId === id)).toHaveLength(1);
      expect(localActivityMarkers(await history(handle)).filter((m) => m.activity_type === 'confirmBooking').map((m) => m.attempt)).toEqual([2]);

      await waitFor('the confirmation notice', () => db.noticesOf(id, 'confirmed').length > 0);
      // Let the booking run on to its reminder: still exactly one of each.
      await sleepUntil(T - 14 * MINUTE);
      await waitFor('the reminder', () => db.noticesOf(id, 'reminder').length > 0);
      expect(db.noticesOf(id, 'confirmed')).toHaveLength(1);
      expect((await history(handle)).filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)).toHaveLength(1);
      expect((await client.workflow.getHandle(tourWorkflowId(result.tourId)).query(tourStateQuery)).stage).toBe('scheduled');
    });

    it('when a pending booking is confirmed, then it keeps the one timer it was waiting on for its reminder', async () => {
      const T = await startIn(2 * HOUR);
      const { id, handle } = await book({ scheduledAt: T });
      await confirm(handle);
      await sleepUntil(T - 14 * MINUTE);
      await noticesOnceThere(id, 'reminder');
      const events = await history(handle);
      expect(events.filter((e) => e.timerStartedEventAttributes)).toHaveLength(1);
      expect(events.filter((e) => e.timerFiredEventAttributes)).toHaveLength(1);
    });

    it('when its tour is held and completes, then the booking completes from the tour workflow\'s result, with no signal and no timer of its own left', async () => {
      const T = await startIn(2 * HOUR);
      const { id, handle } = await book({ scheduledAt: T });
      const { tourId } = await confirm(handle);
      const tour = client.workflow.getHandle(tourWorkflowId(tourId));
      await waitFor('the tour to load', async () => (await tour.query(tourStateQuery).catch(() => null))?.stage === 'scheduled');
      await tour.executeUpdate(startTourUpdate, { args: [REALTOR.userId] });
      await tour.executeUpdate(endTourUpdate, { args: [REALTOR.userId] });

      const result = await handle.result();
      expect(result).toMatchObject({ status: 'completed', tourId });
      expect(db.callsOf(id, 'transitionBooking').map((c) => c.args)).toEqual([[id, 'completed', { actorUserId: null, reason: null }]]);
      const events = await history(handle);
      expect(events.filter((e) => e.workflowExecutionSignaledEventAttributes)).toEqual([]);
      expect(events.filter((e) => e.childWorkflowExecutionCompletedEventAttributes)).toHaveLength(1);
      expect(events.filter((e) => e.timerStartedEventAttributes)).toHaveLength(1);
      expect(db.tours.get(tourId)!.status).toBe('completed');
      expect(kinds(id)).toEqual(['request', 'confirmed']);
    });
  });
});
