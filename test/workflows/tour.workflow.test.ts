import { ApplicationFailure } from '@temporalio/common';
import { WorkflowUpdateFailedError, WorkflowUpdateStage, type WorkflowHandle } from '@temporalio/client';
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
  type TourState,
  type TourWorkflowInput,
} from '../../contracts/tours';
import { bookingWorkflowId } from '../../contracts/bookings';
import { tourWorkflow, type TourWorkflowStart } from '../../workflows/tour.workflow';
import { attendeeOf, FakeTourActivities, meetingOf, type FakeTour } from '../fixtures/tour-activity-fakes';
import { bookingStubSignalsQuery, bookingStubWorkflow } from '../fixtures/workflows/booking-stub.workflow';
import { createTimeSkippingEnv, serverClock } from '../support/temporal';
import { eventually } from '../support/wait';
import { localActivityAt, type HistoryEvent } from './support/history';
import { withPipeline } from './support/pipeline-fakes';

/**
 * TourWorkflow on the time-skipping server with activity fakes that record every call and
 * the server time at which the workflow scheduled it. A stand-in booking workflow under
 * the id the tour's input names records the signal the finished tour sends.
 *
 * Every behaviour is checked on both paths a tour can run: as tours were started before
 * (it reads its row, each step an activity, it signals its booking) and on the local-steps
 * path a booking's confirmation starts it on now (told its row in `created`, its short steps
 * local activities, its pipeline one activity, its booking told by its completion). The
 * activity fakes see the same calls either way.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const TASK_QUEUE = 'tour-workflow-test';

const REALTOR = 8;
const BUYER = 7;
const STEP_ACTIVITIES = ['processRecording', 'processTranscription', 'processHighlights', 'processSummary', 'processSummaryEmail'];

const waitFor = <T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>): Promise<T> => eventually(what, probe, 10_000, 20);

/** No workflow task and no activity open in the history (or the workflow has closed). */
function isIdle(events: HistoryEvent[]): boolean {
  let tasks = 0;
  let activities = 0;
  for (const e of events) {
    if (e.workflowTaskScheduledEventAttributes) tasks += 1;
    if (e.workflowTaskCompletedEventAttributes || e.workflowTaskFailedEventAttributes || e.workflowTaskTimedOutEventAttributes) tasks -= 1;
    if (e.activityTaskScheduledEventAttributes) activities += 1;
    if (e.activityTaskCompletedEventAttributes || e.activityTaskFailedEventAttributes || e.activityTaskTimedOutEventAttributes || e.activityTaskCanceledEventAttributes) activities -= 1;
    if (e.workflowExecutionCompletedEventAttributes || e.workflowExecutionFailedEventAttributes || e.workflowExecutionTerminatedEventAttributes) return true;
  }
  return tasks === 0 && activities === 0;
}

const PATHS = [
  ['as tours started before it (activities, a signal to the booking)', false],
  ['on the local-steps path (started with what its row holds)', true],
] as const;

describe.each(PATHS)('TourWorkflow on the time-skipping server with activity fakes, %s', (_path, local) => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let workerRun: Promise<void>;
  let fakes: FakeTourActivities;
  let nextTourId = 1;
  const started: string[] = [];

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
    fakes = new FakeTourActivities();
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: TASK_QUEUE,
      workflowsPath: require.resolve('../fixtures/workflows/tour-harness.workflows'),
      activities: withPipeline(fakes.activities),
    });
    workerRun = worker.run();
  });

  afterEach(async () => {
    // Nothing of one test may wake up during the next one's time skips. Work still in flight
    // (a tour notice runs beside the lifecycle) is let finish first: the test server keeps
    // time locked for good for a task whose workflow was terminated under it.
    await Promise.all(
      started.splice(0).map(async (id) => {
        const handle = env.client.workflow.getHandle(id);
        await waitFor(`${id} to be idle`, async () => isIdle((await handle.fetchHistory().catch(() => null))?.events ?? []) || undefined);
        await handle.terminate('test over').catch(() => undefined);
      }),
    );
  });

  afterAll(async () => {
    if (worker) {
      worker.shutdown();
      await workerRun;
    }
    await env?.teardown();
  });

  const { sleepUntil, startIn } = serverClock(() => env);

  interface Started {
    tourId: number;
    bookingId: number;
    handle: WorkflowHandle<typeof tourWorkflow>;
    booking: WorkflowHandle<typeof bookingStubWorkflow> | null;
  }

  /**
   * A scheduled tour row as the booking's confirmation committed it, the booking stand-in,
   * and the tour's workflow (waited on until it has loaded, unless the load is gated).
   */
  async function tour(
    opts: {
      scheduledAt?: number;
      durationMinutes?: number;
      withBooking?: boolean;
      loadGate?: Promise<void>;
      /** The booking's workflow id in the input (default `bookingWorkflowId(bookingId)`). */
      bookingWorkflowId?: string;
      /** An input as tours started before it named the booking's workflow. */
      legacyInput?: boolean;
    } & Partial<Omit<TourWorkflowInput, 'tourId' | 'bookingId' | 'bookingWorkflowId'>> = {},
  ): Promise<Started> {
    const tourId = nextTourId++;
    const bookingId = 1000 + tourId;
    const { scheduledAt = await startIn(HOUR), durationMinutes = 30, withBooking = true, loadGate, bookingWorkflowId: bookingWfId = bookingWorkflowId(bookingId), legacyInput = false, ...limits } = opts;
    const row: FakeTour = {
      status: 'scheduled',
      scheduledAt: new Date(scheduledAt).toISOString(),
      durationMinutes,
      propertyId: 100 + tourId,
      realtorId: REALTOR,
      buyerId: BUYER,
      ...(loadGate ? { loadGate } : {}),
    };
    fakes.addTour(tourId, row);
    let booking: Started['booking'] = null;
    if (withBooking) {
      const workflowId = bookingWfId;
      started.push(workflowId);
      booking = await env.client.workflow.start(bookingStubWorkflow, { taskQueue: TASK_QUEUE, workflowId });
    }
    const workflowId = tourWorkflowId(tourId);
    started.push(workflowId);
    const created = local ? { created: { scheduledAt: row.scheduledAt, durationMinutes, propertyId: row.propertyId, realtorId: row.realtorId } } : {};
    const handle = await env.client.workflow.start(tourWorkflow, {
      taskQueue: TASK_QUEUE,
      workflowId,
      // Older inputs lack the booking's workflow id: the cast stands for a payload recorded before it existed.
      args: [{ tourId, bookingId, ...(legacyInput ? {} : { bookingWorkflowId: bookingWfId }), maxCallMinutes: 120, emptyCallEndMinutes: 10, noShowGraceMinutes: 60, ...limits, ...created } as TourWorkflowStart],
    });
    if (!loadGate) await waitFor('the tour to load', async () => (await handle.query(tourStateQuery).catch(() => null))?.stage !== 'loading' || undefined);
    return { tourId, bookingId, handle, booking };
  }

  const state = (h: WorkflowHandle<typeof tourWorkflow>): Promise<TourState> => h.query(tourStateQuery);

  /** The tour read its row first (only as tours started before the local-steps path). */
  const LOAD = local ? [] : ['loadTourForWorkflow'];
  /** Tests of what only tours started before do (the row read at the start, the signal): registered on that path alone. */
  const onlyAsBefore = (register: () => void) => {
    if (!local) register();
  };

  /**
   * How the booking learns the outcome: the signal (as before), or the tour's own completion
   * (local-steps path, where its booking awaits it as a child and no signal is sent).
   */
  async function bookingTold(t: Started, outcome: 'completed' | 'cancelled'): Promise<void> {
    if (!local) {
      expect(await t.booking!.result()).toEqual([outcome]);
      return;
    }
    expect((await t.handle.result()).stage).toBe(outcome);
    expect(await t.booking!.query(bookingStubSignalsQuery)).toEqual([]);
  }

  const stageBecomes = (h: WorkflowHandle<typeof tourWorkflow>, ...stages: TourState['stage'][]) =>
    waitFor(`stage ${stages.join(' or ')}`, async () => {
      const s = await state(h);
      return stages.includes(s.stage) && s;
    });

  async function updateError(p: Promise<unknown>): Promise<ApplicationFailure> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (err as WorkflowUpdateFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    return cause as ApplicationFailure;
  }

  async function startAndJoinBoth(t: Started): Promise<void> {
    await t.handle.executeUpdate(startTourUpdate, { args: [REALTOR] });
    await t.handle.executeUpdate(joinCallUpdate, { args: [REALTOR] });
    await t.handle.executeUpdate(joinCallUpdate, { args: [BUYER] });
  }

  const the = (calls: Array<{ at: number }>, i = 0) => {
    const c = calls[i];
    if (!c) throw new Error(`no call #${i}`);
    return c;
  };

  /**
   * Workflow (server) time at which the tour called `name` the i-th time. An activity's
   * attempt knows when the server scheduled it; a local activity runs in the worker without
   * the server, so its time is the workflow task's that ran it (the WorkflowTaskStarted
   * before its marker in the history).
   */
  async function calledAt(t: Started, name: NonNullable<Parameters<FakeTourActivities['callsOf']>[1]>, i = 0): Promise<number> {
    return local ? localActivityAt(t.handle, name, i) : the(fakes.callsOf(t.tourId, name), i).at;
  }

  describe('the whole lifecycle', () => {
    it('when the realtor starts the tour, both join, record and the realtor ends it, then each gets their own attendee, the pipeline runs in order, the tour completes and the booking is told "completed"', async () => {
      const t = await tour();
      expect(await state(t.handle)).toMatchObject({ tourId: t.tourId, stage: 'scheduled', durationMinutes: 30, participants: [], recording: false });

      const afterStart = await t.handle.executeUpdate(startTourUpdate, { args: [REALTOR] });
      expect(afterStart.stage).toBe('in_progress');
      expect(fakes.callsOf(t.tourId, 'startCall').map((c) => c.args)).toEqual([[t.tourId, REALTOR]]);

      const realtorJoin = await t.handle.executeUpdate(joinCallUpdate, { args: [REALTOR] });
      const buyerJoin = await t.handle.executeUpdate(joinCallUpdate, { args: [BUYER] });
      expect(realtorJoin).toEqual({ Meeting: meetingOf(t.tourId), Attendee: attendeeOf(t.tourId, REALTOR) });
      expect(buyerJoin).toEqual({ Meeting: meetingOf(t.tourId), Attendee: attendeeOf(t.tourId, BUYER) });
      expect(realtorJoin.Attendee.AttendeeId).not.toBe(buyerJoin.Attendee.AttendeeId);
      expect((await state(t.handle)).participants).toEqual([REALTOR, BUYER]);

      expect((await t.handle.executeUpdate(setRecordingUpdate, { args: [true, REALTOR] })).recording).toBe(true);

      const afterEnd = await t.handle.executeUpdate(endTourUpdate, { args: [REALTOR] });
      expect(['processing', 'completed']).toContain(afterEnd.stage);
      expect(afterEnd).toMatchObject({ participants: [], recording: false });

      const result = await t.handle.result();
      expect(result).toMatchObject({ stage: 'completed', failedStep: null, failure: null, participants: [], recording: false });
      expect(result.steps).toEqual({
        recording: { status: 'done', detail: null },
        transcription: { status: 'done', detail: null },
        highlights: { status: 'done', detail: null },
        summary: { status: 'done', detail: null },
        summary_email: { status: 'done', detail: null },
      });

      // The notices run beside the lifecycle, so where they fall among the rest is not fixed.
      expect(fakes.namesOf(t.tourId).filter((n) => n !== 'sendTourNotice')).toEqual([
        ...LOAD,
        'startCall',
        'joinCall',
        'joinCall',
        'setRecording',
        'endCall',
        ...STEP_ACTIVITIES.flatMap((name) => ['setTourStatus', name]),
        'setTourStatus',
      ]);
      expect(fakes.callsOf(t.tourId, 'sendTourNotice').map((c) => c.args)).toEqual([
        [t.tourId, 'tour_start'],
        [t.tourId, 'tour_end'],
      ]);
      expect(fakes.callsOf(t.tourId, 'endCall').map((c) => c.args)).toEqual([[t.tourId, REALTOR, 'ended by a participant']]);
      expect(fakes.callsOf(t.tourId, 'setTourStatus').map((c) => c.args.slice(1))).toEqual([
        ['processing', { step: 'recording' }],
        ['processing', { step: 'transcription' }],
        ['processing', { step: 'highlights' }],
        ['processing', { step: 'summary' }],
        ['processing', { step: 'summary_email' }],
        ['completed', { step: null, error: null }],
      ]);
      expect(fakes.callsOf(t.tourId, 'markStepFailed')).toEqual([]);
      expect(fakes.tours.get(t.tourId)!.status).toBe('completed');
      await bookingTold(t, 'completed');
    });

    if (local) {
      it('when started with its row, then it reads nothing, answers start, each join and end in the workflow task that received them (a local activity marker, no activity task), keeps one call timer across the joins, and runs its pipeline as one activity', async () => {
        const t = await tour();
        await startAndJoinBoth(t);
        await t.handle.executeUpdate(endTourUpdate, { args: [REALTOR] });
        expect((await t.handle.result()).stage).toBe('completed');

        const events = (await t.handle.fetchHistory()).events ?? [];
        const scheduled = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
        expect(scheduled.sort()).toEqual(['runProcessing', 'sendTourNotice', 'sendTourNotice']);
        // Each update: accepted and completed with no workflow task in between, its step a marker.
        for (const [i, e] of events.entries()) {
          if (!e.workflowExecutionUpdateAcceptedEventAttributes) continue;
          const rest = events.slice(i + 1);
          const done = rest.findIndex((x) => x.workflowExecutionUpdateCompletedEventAttributes);
          const between = rest.slice(0, done);
          expect(between.some((x) => x.workflowTaskStartedEventAttributes)).toBe(false);
          expect(between.some((x) => x.markerRecordedEventAttributes?.markerName === 'core_local_activity')).toBe(true);
        }
        // The no-show wait, then the call's: the joins moved its deadline later and kept it.
        expect(events.filter((e) => e.timerStartedEventAttributes)).toHaveLength(2);
        expect(events.filter((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes)).toEqual([]);
        expect(fakes.tours.get(t.tourId)!.status).toBe('completed');
      });
    }

    it('when the booking workflow has already ended, then the tour still completes', async () => {
      const t = await tour({ withBooking: false });
      await t.handle.executeUpdate(startTourUpdate, { args: [REALTOR] });
      await t.handle.executeUpdate(endTourUpdate, { args: [REALTOR] });
      expect((await t.handle.result()).stage).toBe('completed');
    });
  });

  onlyAsBefore(() =>
    it('when the tour row does not exist, then the workflow ends "missing" without calling anything else', async () => {
      const tourId = nextTourId++;
      const workflowId = tourWorkflowId(tourId);
      started.push(workflowId);
      const handle = await env.client.workflow.start(tourWorkflow, { taskQueue: TASK_QUEUE, workflowId, args: [{ tourId, bookingId: 1000 + tourId, bookingWorkflowId: bookingWorkflowId(1000 + tourId) }] });
      expect((await handle.result()).stage).toBe('missing');
      expect(fakes.namesOf(tourId)).toEqual(['loadTourForWorkflow']);
    }),
  );

  describe('the live call', () => {
    it('when nobody ends a call, then the maximum call length timer ends it, with that reason, and processing follows', async () => {
      const t = await tour({ maxCallMinutes: 60, emptyCallEndMinutes: 10 });
      await startAndJoinBoth(t);
      const startedAt = await calledAt(t, 'startCall');

      await sleepUntil(startedAt + 59 * MINUTE);
      expect((await state(t.handle)).stage).toBe('in_progress');
      expect(fakes.callsOf(t.tourId, 'endCall')).toEqual([]);

      await sleepUntil(startedAt + 61 * MINUTE);
      await stageBecomes(t.handle, 'processing', 'completed');
      const [end, ...more] = fakes.callsOf(t.tourId, 'endCall');
      expect(more).toEqual([]);
      expect(end!.args).toEqual([t.tourId, null, 'maximum call length reached']);
      const endedAt = await calledAt(t, 'endCall');
      expect(endedAt - startedAt).toBeGreaterThanOrEqual(60 * MINUTE);
      expect(endedAt - startedAt).toBeLessThan(60 * MINUTE + 5_000);
      expect((await t.handle.result()).stage).toBe('completed');
      await bookingTold(t, 'completed');
    });

    it('when everyone leaves, then the call ends emptyCallEndMinutes after the last one left', async () => {
      const t = await tour({ maxCallMinutes: 120, emptyCallEndMinutes: 10 });
      await startAndJoinBoth(t);
      const startedAt = await calledAt(t, 'startCall');

      await sleepUntil(startedAt + 20 * MINUTE);
      await t.handle.executeUpdate(leaveCallUpdate, { args: [BUYER] });
      await sleepUntil(startedAt + 25 * MINUTE);
      const afterLeaving = await t.handle.executeUpdate(leaveCallUpdate, { args: [REALTOR] });
      expect(afterLeaving).toMatchObject({ stage: 'in_progress', participants: [] });
      const lastLeft = await calledAt(t, 'leaveCall', 1);

      await sleepUntil(lastLeft + 9 * MINUTE);
      expect((await state(t.handle)).stage).toBe('in_progress');
      expect(fakes.callsOf(t.tourId, 'endCall')).toEqual([]);

      await sleepUntil(lastLeft + 11 * MINUTE);
      await stageBecomes(t.handle, 'processing', 'completed');
      const [end] = fakes.callsOf(t.tourId, 'endCall');
      expect(end!.args).toEqual([t.tourId, null, 'everyone left the call']);
      const endedAt = await calledAt(t, 'endCall');
      expect(endedAt - lastLeft).toBeGreaterThanOrEqual(10 * MINUTE);
      expect(endedAt - lastLeft).toBeLessThan(10 * MINUTE + 5_000);
    });

    it('when someone rejoins an empty call in time, then the empty-call timer is called off', async () => {
      const t = await tour({ maxCallMinutes: 120, emptyCallEndMinutes: 10 });
      await startAndJoinBoth(t);
      await t.handle.executeUpdate(leaveCallUpdate, { args: [BUYER] });
      await t.handle.executeUpdate(leaveCallUpdate, { args: [REALTOR] });
      const lastLeft = await calledAt(t, 'leaveCall', 1);

      await sleepUntil(lastLeft + 5 * MINUTE);
      await t.handle.executeUpdate(joinCallUpdate, { args: [BUYER] });
      await sleepUntil(lastLeft + 30 * MINUTE);
      expect(await state(t.handle)).toMatchObject({ stage: 'in_progress', participants: [BUYER] });
      expect(fakes.callsOf(t.tourId, 'endCall')).toEqual([]);
    });

    it('when a leave is repeated on an empty call (a client retry), then the call still ends emptyCallEndMinutes after the last one really left', async () => {
      const t = await tour({ maxCallMinutes: 120, emptyCallEndMinutes: 10 });
      await startAndJoinBoth(t);
      await t.handle.executeUpdate(leaveCallUpdate, { args: [BUYER] });
      await t.handle.executeUpdate(leaveCallUpdate, { args: [REALTOR] });
      const lastLeft = await calledAt(t, 'leaveCall', 1);

      await sleepUntil(lastLeft + 6 * MINUTE);
      await t.handle.executeUpdate(leaveCallUpdate, { args: [REALTOR] });

      await sleepUntil(lastLeft + 11 * MINUTE);
      await stageBecomes(t.handle, 'processing', 'completed');
      const [end] = fakes.callsOf(t.tourId, 'endCall');
      expect(end!.args).toEqual([t.tourId, null, 'everyone left the call']);
      expect((await calledAt(t, 'endCall')) - lastLeft).toBeLessThan(10 * MINUTE + 5_000);
    });

    it('when the call cannot be ended for a while (meeting service down), then the workflow keeps retrying and the tour still ends and completes', async () => {
      const t = await tour();
      await t.handle.executeUpdate(startTourUpdate, { args: [REALTOR] });
      // More failures than any bounded retry of a call activity allows.
      fakes.failTransiently(t.tourId, 'endCall', 8);
      // Only accepted: its completion waits out the retries, which time skipping speeds up while the result is awaited.
      const ending = await t.handle.startUpdate(endTourUpdate, { args: [REALTOR], waitForStage: WorkflowUpdateStage.ACCEPTED });

      const result = await t.handle.result();
      expect((await ending.result()).stage).not.toBe('in_progress');
      expect(result.stage).toBe('completed');
      expect(fakes.callsOf(t.tourId, 'endCall').map((c) => c.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      await bookingTold(t, 'completed');
    });

    it('when recording is switched on and off, then the state follows what the call reports', async () => {
      const t = await tour();
      await t.handle.executeUpdate(startTourUpdate, { args: [REALTOR] });
      expect((await t.handle.executeUpdate(setRecordingUpdate, { args: [true, REALTOR] })).recording).toBe(true);
      expect((await t.handle.executeUpdate(setRecordingUpdate, { args: [false, REALTOR] })).recording).toBe(false);
      // An older client's update without the user still works; the activity is told nobody asked.
      expect((await t.handle.executeUpdate(setRecordingUpdate, { args: [true] })).recording).toBe(true);
      expect(fakes.callsOf(t.tourId, 'setRecording').map((c) => c.args)).toEqual([
        [t.tourId, true, REALTOR],
        [t.tourId, false, REALTOR],
        [t.tourId, true, null],
      ]);
    });

    it('when calls are recorded by default (RECORD_CALLS), then the tour is recording from its start', async () => {
      fakes.recordCalls = true;
      try {
        const t = await tour();
        const started = await t.handle.executeUpdate(startTourUpdate, { args: [REALTOR] });
        expect(started).toMatchObject({ stage: 'in_progress', recording: true });
        expect((await t.handle.executeUpdate(setRecordingUpdate, { args: [false, REALTOR] })).recording).toBe(false);
      } finally {
        fakes.recordCalls = false;
      }
    });

    it('when the tour-start email cannot be sent for a while, then the call and the recap go on and the notice is still sent once it can be', async () => {
      const t = await tour();
      fakes.failTransiently(t.tourId, 'sendTourNotice', 2);
      await t.handle.executeUpdate(startTourUpdate, { args: [REALTOR] });
      // The call is open and usable while the notice waits for its retries.
      await t.handle.executeUpdate(joinCallUpdate, { args: [BUYER] });
      expect((await state(t.handle)).stage).toBe('in_progress');
      await env.sleep(MINUTE);
      await t.handle.executeUpdate(endTourUpdate, { args: [REALTOR] });
      expect(await t.handle.result()).toMatchObject({ stage: 'completed' });
      const notices = fakes.callsOf(t.tourId, 'sendTourNotice');
      expect(notices.filter((c) => c.args[1] === 'tour_start').map((c) => c.attempt)).toEqual([1, 2, 3]);
      expect(notices.filter((c) => c.args[1] === 'tour_end').map((c) => c.attempt)).toEqual([1]);
    });
  });

  describe('refused commands', () => {
    it('when startTour is sent to a tour already in progress, then the update is refused and no second call is started', async () => {
      const t = await tour();
      await t.handle.executeUpdate(startTourUpdate, { args: [REALTOR] });
      const failure = await updateError(t.handle.executeUpdate(startTourUpdate, { args: [REALTOR] }));
      expect(failure.type).toBe('InvalidTourTransition');
      expect(failure.message).toBe('This tour is in_progress; it cannot be started');
      expect(fakes.callsOf(t.tourId, 'startCall')).toHaveLength(1);
      expect((await state(t.handle)).stage).toBe('in_progress');
    });

    it('when joinCall is sent before the tour started, then the update is refused and no attendee is created', async () => {
      const t = await tour();
      const failure = await updateError(t.handle.executeUpdate(joinCallUpdate, { args: [BUYER] }));
      expect(failure.type).toBe('InvalidTourTransition');
      expect(failure.message).toBe('This tour is scheduled; the call is not open');
      expect(fakes.callsOf(t.tourId, 'joinCall')).toEqual([]);
      expect((await state(t.handle)).participants).toEqual([]);
    });

    it('when endTour, leaveCall or setRecording is sent before the start, then each is refused', async () => {
      const t = await tour();
      expect((await updateError(t.handle.executeUpdate(endTourUpdate, { args: [REALTOR] }))).message).toBe('This tour is scheduled; only a tour in progress can be ended');
      expect((await updateError(t.handle.executeUpdate(leaveCallUpdate, { args: [REALTOR] }))).message).toBe('This tour is scheduled; the call is not open');
      expect((await updateError(t.handle.executeUpdate(setRecordingUpdate, { args: [true] }))).message).toBe('This tour is scheduled; recording needs a live call');
      expect((await updateError(t.handle.executeUpdate(retryProcessingUpdate, { args: [] }))).message).toBe(
        'This tour is scheduled; only a tour whose processing failed can be retried',
      );
      expect(fakes.namesOf(t.tourId)).toEqual(LOAD);
    });

    onlyAsBefore(() =>
      it('when endTour arrives while the tour is still loading, then it is refused once the tour turns out to be scheduled, and a later start is not ended at once', async () => {
        let release!: () => void;
        const t = await tour({ loadGate: new Promise<void>((r) => (release = r)) });
        await waitFor('the load to begin', () => fakes.callsOf(t.tourId, 'loadTourForWorkflow').length > 0);
        const ending = t.handle.executeUpdate(endTourUpdate, { args: [REALTOR] });
        // The update reaches the workflow, and is accepted, before the tour has loaded.
        await waitFor('the update to be accepted', async () => {
          const events = (await t.handle.fetchHistory()).events ?? [];
          return events.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes) || undefined;
        });
        release();

        const failure = await updateError(ending);
        expect(failure.message).toBe('This tour is scheduled; only a tour in progress can be ended');
        await t.handle.executeUpdate(startTourUpdate, { args: [REALTOR] });
        const startedAt = await calledAt(t, 'startCall');
        await t.handle.executeUpdate(joinCallUpdate, { args: [REALTOR] });
        await sleepUntil(startedAt + 5 * MINUTE);
        expect((await state(t.handle)).stage).toBe('in_progress');
        expect(fakes.callsOf(t.tourId, 'endCall')).toEqual([]);
      }),
    );

    onlyAsBefore(() =>
      it('when retryProcessing arrives while a tour that is still processing loads, then it is refused, and a later failure stays parked until an explicit retry', async () => {
        let release!: () => void;
        const t = await tour({ loadGate: new Promise<void>((r) => (release = r)) });
        fakes.tours.get(t.tourId)!.status = 'processing';
        fakes.failStep(t.tourId, 'transcription', 'bad audio');
        await waitFor('the load to begin', () => fakes.callsOf(t.tourId, 'loadTourForWorkflow').length > 0);
        const retrying = t.handle.executeUpdate(retryProcessingUpdate, { args: [] });
        await waitFor('the update to be accepted', async () => {
          const events = (await t.handle.fetchHistory()).events ?? [];
          return events.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes) || undefined;
        });
        release();

        expect((await updateError(retrying)).message).toBe('This tour is processing; only a tour whose processing failed can be retried');
        await stageBecomes(t.handle, 'processing_failed');
        await env.sleep(HOUR);
        expect((await state(t.handle)).stage).toBe('processing_failed');
        expect(fakes.callsOf(t.tourId, 'processTranscription')).toHaveLength(1);
      }),
    );

    it('when retryProcessing is sent to a tour whose processing did not fail, then it is refused', async () => {
      const t = await tour();
      await t.handle.executeUpdate(startTourUpdate, { args: [REALTOR] });
      const failure = await updateError(t.handle.executeUpdate(retryProcessingUpdate, { args: [] }));
      expect(failure.message).toBe('This tour is in_progress; only a tour whose processing failed can be retried');
    });
  });

  describe('processing failures', () => {
    it('when transcription fails for good, then the tour parks in processing_failed at that step, and a retry resumes there without re-running the recording step and completes', async () => {
      const t = await tour();
      fakes.failStep(t.tourId, 'transcription', 'bad audio');
      await t.handle.executeUpdate(startTourUpdate, { args: [REALTOR] });
      await t.handle.executeUpdate(endTourUpdate, { args: [REALTOR] });

      const parked = await stageBecomes(t.handle, 'processing_failed');
      expect(parked).toMatchObject({
        stage: 'processing_failed',
        failedStep: 'transcription',
        failure: 'bad audio',
        steps: { recording: { status: 'done', detail: null }, transcription: { status: 'failed', detail: 'bad audio' } },
      });
      expect(parked.steps.highlights).toBeUndefined();
      // A non-retryable failure: one attempt only.
      expect(fakes.callsOf(t.tourId, 'processTranscription').map((c) => c.attempt)).toEqual([1]);
      expect(fakes.callsOf(t.tourId, 'markStepFailed').map((c) => c.args)).toEqual([[t.tourId, 'transcription', 'bad audio']]);
      expect(fakes.callsOf(t.tourId, 'setTourStatus').at(-1)!.args).toEqual([t.tourId, 'processing_failed', { step: 'transcription', error: 'transcription: bad audio' }]);
      expect(fakes.callsOf(t.tourId, 'processHighlights')).toEqual([]);

      // Parked means parked: time passing does not retry on its own.
      await env.sleep(2 * HOUR);
      expect((await state(t.handle)).stage).toBe('processing_failed');
      expect(fakes.callsOf(t.tourId, 'processTranscription')).toHaveLength(1);
      // Nor is the booking told anything while the tour is parked.
      expect(await t.booking!.query(bookingStubSignalsQuery)).toEqual([]);

      fakes.healStep(t.tourId, 'transcription');
      await t.handle.executeUpdate(retryProcessingUpdate, { args: [] });
      const result = await t.handle.result();
      expect(result).toMatchObject({ stage: 'completed', failedStep: null, failure: null });
      expect(result.steps.transcription).toEqual({ status: 'done', detail: null });

      const count = (name: Parameters<FakeTourActivities['callsOf']>[1]) => fakes.callsOf(t.tourId, name).length;
      expect(count('processRecording')).toBe(1);
      expect(count('processTranscription')).toBe(2);
      expect(count('processHighlights')).toBe(1);
      expect(count('processSummary')).toBe(1);
      expect(count('processSummaryEmail')).toBe(1);
      const afterFailure = fakes.namesOf(t.tourId).slice(fakes.namesOf(t.tourId).lastIndexOf('markStepFailed') + 1);
      expect(afterFailure).toEqual([
        'setTourStatus',
        'setTourStatus',
        ...STEP_ACTIVITIES.slice(1).flatMap((name) => ['setTourStatus', name]),
        'setTourStatus',
      ]);
      expect(fakes.callsOf(t.tourId, 'setTourStatus').map((c) => c.args.slice(1)).slice(-6)).toEqual([
        ['processing', { error: null }],
        ['processing', { step: 'transcription' }],
        ['processing', { step: 'highlights' }],
        ['processing', { step: 'summary' }],
        ['processing', { step: 'summary_email' }],
        ['completed', { step: null, error: null }],
      ]);
      await bookingTold(t, 'completed');
    });
  });

  describe('cancellation and no-shows', () => {
    it('when the booking cancels the tour before it starts, then it ends cancelled without a call and the booking is told "cancelled"', async () => {
      const t = await tour();
      await t.handle.signal(tourCancelSignal);
      const result = await t.handle.result();
      expect(result.stage).toBe('cancelled');
      expect(fakes.namesOf(t.tourId)).toEqual([...LOAD, 'setTourStatus']);
      expect(fakes.callsOf(t.tourId, 'setTourStatus').map((c) => c.args)).toEqual([[t.tourId, 'cancelled', { reason: 'booking cancelled' }]]);
      expect(fakes.callsOf(t.tourId, 'startCall')).toEqual([]);
      await bookingTold(t, 'cancelled');
    });

    onlyAsBefore(() =>
      it('when the input names the booking\'s workflow, then the finished tour tells that workflow, not one named after the booking id', async () => {
        const t = await tour({ bookingWorkflowId: `booking-elsewhere-${nextTourId}` });
        await t.handle.signal(tourCancelSignal);
        expect((await t.handle.result()).stage).toBe('cancelled');
        expect(await t.booking!.result()).toEqual(['cancelled']);
      }),
    );

    onlyAsBefore(() =>
      it('when the input predates bookingWorkflowId (a tour started by older code), then the tour tells booking-<bookingId>', async () => {
        const t = await tour({ legacyInput: true });
        await t.handle.signal(tourCancelSignal);
        expect((await t.handle.result()).stage).toBe('cancelled');
        expect(await t.booking!.result()).toEqual(['cancelled']);
      }),
    );

    it('when nobody starts the tour, then it is cancelled noShowGraceMinutes after its scheduled end', async () => {
      const T = await startIn(HOUR);
      const t = await tour({ scheduledAt: T, durationMinutes: 30, noShowGraceMinutes: 60 });
      const deadline = T + 30 * MINUTE + 60 * MINUTE;

      await sleepUntil(deadline - MINUTE);
      expect((await state(t.handle)).stage).toBe('scheduled');
      expect(fakes.callsOf(t.tourId, 'setTourStatus')).toEqual([]);

      await sleepUntil(deadline + MINUTE);
      const result = await t.handle.result();
      expect(result.stage).toBe('cancelled');
      const [cancel, ...more] = fakes.callsOf(t.tourId, 'setTourStatus');
      expect(more).toEqual([]);
      expect(cancel!.args).toEqual([t.tourId, 'cancelled', { reason: 'never started' }]);
      const cancelledAt = await calledAt(t, 'setTourStatus');
      expect(cancelledAt).toBeGreaterThanOrEqual(deadline);
      expect(cancelledAt).toBeLessThan(deadline + 1_000);
      await bookingTold(t, 'cancelled');
    });

    it('when the tour is rescheduled, then the no-show deadline moves with it', async () => {
      const oldT = await startIn(HOUR);
      const newT = oldT + 3 * HOUR;
      const t = await tour({ scheduledAt: oldT, durationMinutes: 30, noShowGraceMinutes: 60 });
      await t.handle.signal(tourRescheduleSignal, new Date(newT).toISOString(), 45);
      await waitFor('the reschedule', async () => (await state(t.handle)).scheduledAt === new Date(newT).toISOString());

      // Well past the old deadline (oldT + 90 min): still waiting.
      await sleepUntil(oldT + 2 * HOUR);
      expect((await state(t.handle)).stage).toBe('scheduled');
      const newDeadline = newT + 45 * MINUTE + 60 * MINUTE;
      await sleepUntil(newDeadline - MINUTE);
      expect((await state(t.handle)).stage).toBe('scheduled');
      expect(fakes.callsOf(t.tourId, 'setTourStatus')).toEqual([]);

      await sleepUntil(newDeadline + MINUTE);
      expect((await t.handle.result()).stage).toBe('cancelled');
      const [cancel] = fakes.callsOf(t.tourId, 'setTourStatus');
      expect(cancel!.args).toEqual([t.tourId, 'cancelled', { reason: 'never started' }]);
      const cancelledAt = await calledAt(t, 'setTourStatus');
      expect(cancelledAt).toBeGreaterThanOrEqual(newDeadline);
      expect(cancelledAt).toBeLessThan(newDeadline + 1_000);
    });

    onlyAsBefore(() =>
      it('when a reschedule arrives while the tour is still loading an older schedule, then the newer schedule wins', async () => {
        const oldT = await startIn(HOUR);
        const newT = oldT + 3 * HOUR;
        let release!: () => void;
        const t = await tour({ scheduledAt: oldT, durationMinutes: 30, noShowGraceMinutes: 60, loadGate: new Promise<void>((r) => (release = r)) });
        await waitFor('the load to begin', () => fakes.callsOf(t.tourId, 'loadTourForWorkflow').length > 0);
        await t.handle.signal(tourRescheduleSignal, new Date(newT).toISOString(), 45);
        release();

        await waitFor('the tour to load', async () => (await state(t.handle)).stage !== 'loading');
        expect(await state(t.handle)).toMatchObject({ stage: 'scheduled', scheduledAt: new Date(newT).toISOString(), durationMinutes: 45 });
        await sleepUntil(oldT + 2 * HOUR);
        expect((await state(t.handle)).stage).toBe('scheduled');
      }),
    );
  });
});
