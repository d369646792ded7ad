import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  defineQuery,
  defineSignal,
  defineUpdate,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { CommandLock } from './command-lock';
import type { ProcessingStep, StepOutcome } from '../activities/tours.activities';
import type { Attendee, Meeting } from '../adapters/meetings/port';
import { PropertyId, RealtorId, TourStage } from './search-attributes';

/**
 * One per tour (id `tour-<id>`), started when its booking is confirmed; the only writer
 * of the tour's and its call's status:
 *   scheduled → in_progress → processing → completed, or cancelled, or processing_failed
 * (resumable with the retry update). The call ends on request, when its maximum length
 * is reached, or when everyone has left for a while. Processing runs its steps in order;
 * a finished step is never run again.
 */

export const tourWorkflowId = (tourId: number) => `tour-${tourId}`;

export interface TourWorkflowInput {
  tourId: number;
  bookingId: number;
  maxCallMinutes?: number;
  emptyCallEndMinutes?: number;
  /** A tour nobody started is cancelled this long after its scheduled end. */
  noShowGraceMinutes?: number;
}

export type TourStageValue = 'scheduled' | 'in_progress' | 'processing' | 'completed' | 'cancelled' | 'processing_failed';

export interface TourState {
  tourId: number;
  stage: TourStageValue | 'loading' | 'missing';
  scheduledAt: string | null;
  durationMinutes: number | null;
  participants: number[];
  recording: boolean;
  steps: Partial<Record<ProcessingStep, StepOutcome | { status: 'failed'; detail: string }>>;
  failedStep: ProcessingStep | null;
  failure: string | null;
}

export const tourCancelSignal = defineSignal('cancelTour');
export const tourRescheduleSignal = defineSignal<[string, number]>('rescheduleTour');
/** The booking workflow's signal a finished tour sends (named here to avoid an import cycle). */
export const TOUR_FINISHED_SIGNAL = 'tourFinished';

export const startTourUpdate = defineUpdate<TourState, [number]>('startTour');
export const endTourUpdate = defineUpdate<TourState, [number]>('endTour');
export const joinCallUpdate = defineUpdate<{ Meeting: Meeting; Attendee: Attendee }, [number]>('joinCall');
export const leaveCallUpdate = defineUpdate<TourState, [number]>('leaveCall');
/** On or off, and who asked (audit-logged); the second argument is absent in older histories. */
export const setRecordingUpdate = defineUpdate<TourState, [boolean, number?]>('setRecording');
export const retryProcessingUpdate = defineUpdate<TourState, []>('retryProcessing');
export const tourStateQuery = defineQuery<TourState>('state');
/** Kept for operators' scripts: the stage alone. */
export const tourStageQuery = defineQuery<TourStageValue | 'loading' | 'missing'>('stage');

export const TOUR_INVALID = 'InvalidTourTransition';
const STEP_FAILED = 'ProcessingStepFailed';
const STEPS: ProcessingStep[] = ['recording', 'transcription', 'highlights', 'summary', 'summary_email'];

const db = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: [STEP_FAILED] },
});

/**
 * Ending the call retries without limit: a call that could not be ended would leave the
 * tour in progress for good, its recording never processed.
 */
const callEnd = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

const call = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5, nonRetryableErrorTypes: [STEP_FAILED] },
});

/** Long steps heartbeat; a worker that dies mid-step is noticed within the heartbeat timeout. */
const longStep = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 10, nonRetryableErrorTypes: [STEP_FAILED] },
});

const shortStep = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 10, nonRetryableErrorTypes: [STEP_FAILED] },
});

/**
 * Emails to both participants when the call opens and when it closes. Sent beside the
 * lifecycle, never in its way: a slow email provider delays neither the call's timers nor
 * the recap, and a notice that cannot be sent is logged, not fatal.
 */
const notices = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 20 },
});
/** What participants are told about recording: in the join answer and the tour-start email. */
export function recordingNotice(recording: boolean): string {
  return recording
    ? 'This call is being recorded (audio and video) so that a transcript, highlights and a summary can be prepared for both of you after the tour. The realtor can stop and restart the recording during the call.'
    : 'This call is not being recorded. If the realtor starts recording, everyone in the call is told.';
}

/** Tours started before the tour_start / tour_end emails existed replay without them. */
export const TOUR_NOTICES_PATCH = 'tour-start-end-notices';

const RUN_STEP: Record<ProcessingStep, (tourId: number) => Promise<StepOutcome>> = {
  recording: (id) => longStep.processRecording(id),
  transcription: (id) => longStep.processTranscription(id),
  highlights: (id) => shortStep.processHighlights(id),
  summary: (id) => shortStep.processSummary(id),
  summary_email: (id) => shortStep.processSummaryEmail(id),
};

function refuse(message: string): never {
  throw ApplicationFailure.create({ type: TOUR_INVALID, message, nonRetryable: true });
}

function reasonOf(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}

export async function tourWorkflow(input: TourWorkflowInput): Promise<TourState> {
  const maxCallMs = (input.maxCallMinutes ?? 120) * 60_000;
  const emptyEndMs = (input.emptyCallEndMinutes ?? 10) * 60_000;
  const noShowMs = (input.noShowGraceMinutes ?? 120) * 60_000;
  const state: TourState = {
    tourId: input.tourId,
    stage: 'loading',
    scheduledAt: null,
    durationMinutes: null,
    participants: [],
    recording: false,
    steps: {},
    failedStep: null,
    failure: null,
  };
  let version = 0;
  let cancelRequested = false;
  let endRequested = null as { by: number | null; reason: string } | null;
  let retryRequested = false;
  let startedAtMs = 0;
  let emptySinceMs: number | null = null;
  const bump = () => {
    version += 1;
  };

  const setStage = (stage: TourStageValue) => {
    state.stage = stage;
    upsertSearchAttributes([{ key: TourStage, value: stage }]);
    bump();
  };

  const lock = new CommandLock(() => state.stage !== 'loading');
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => lock.run(fn);

  const allow = (stages: TourStageValue[], what: string) => (..._args: unknown[]): void => {
    if (state.stage === 'loading') return;
    if (!stages.includes(state.stage as TourStageValue)) refuse(`This tour is ${state.stage}; ${what}`);
  };

  setHandler(tourStateQuery, () => state);
  setHandler(tourStageQuery, () => state.stage);
  setHandler(tourCancelSignal, () => {
    cancelRequested = true;
    bump();
  });
  setHandler(tourRescheduleSignal, (at, minutes) => {
    state.scheduledAt = at;
    state.durationMinutes = minutes;
    bump();
  });

  setHandler(
    startTourUpdate,
    (userId) =>
      exclusive(async () => {
        allow(['scheduled'], 'it cannot be started')();
        const started = await call.startCall(input.tourId, userId).catch((err) => refuse(reasonOf(err)));
        // With RECORD_CALLS the activity starts the recording with the call (older results lack the flag).
        state.recording = (started as { recording?: boolean }).recording === true;
        startedAtMs = Date.now();
        emptySinceMs = Date.now();
        setStage('in_progress');
        return state;
      }),
    { validator: allow(['scheduled'], 'it cannot be started') },
  );

  setHandler(
    joinCallUpdate,
    (userId) =>
      exclusive(async () => {
        allow(['in_progress'], 'the call is not open')();
        const join = await call.joinCall(input.tourId, userId).catch((err) => refuse(reasonOf(err)));
        if (!state.participants.includes(userId)) state.participants.push(userId);
        emptySinceMs = null;
        bump();
        return join;
      }),
    { validator: allow(['in_progress'], 'the call is not open') },
  );

  setHandler(
    leaveCallUpdate,
    (userId) =>
      exclusive(async () => {
        allow(['in_progress'], 'the call is not open')();
        await call.leaveCall(input.tourId, userId);
        state.participants = state.participants.filter((p) => p !== userId);
        // A repeated leave (a client's retry) must not restart the empty-call timer.
        if (!state.participants.length && emptySinceMs === null) emptySinceMs = Date.now();
        bump();
        return state;
      }),
    { validator: allow(['in_progress'], 'the call is not open') },
  );

  setHandler(
    setRecordingUpdate,
    (on, userId) =>
      exclusive(async () => {
        allow(['in_progress'], 'recording needs a live call')();
        const r = await call.setRecording(input.tourId, on, userId ?? null).catch((err) => refuse(reasonOf(err)));
        state.recording = r.recording;
        bump();
        return state;
      }),
    { validator: allow(['in_progress'], 'recording needs a live call') },
  );

  setHandler(
    endTourUpdate,
    async (userId) => {
      // Accepted while the tour loaded: only the loaded stage can say whether it may end.
      await condition(() => state.stage !== 'loading');
      allow(['in_progress'], 'only a tour in progress can be ended')();
      endRequested ??= { by: userId, reason: 'ended by a participant' };
      bump();
      await condition(() => state.stage !== 'in_progress');
      return state;
    },
    { validator: allow(['in_progress'], 'only a tour in progress can be ended') },
  );

  setHandler(
    retryProcessingUpdate,
    async () => {
      await condition(() => state.stage !== 'loading');
      allow(['processing_failed'], 'only a tour whose processing failed can be retried')();
      retryRequested = true;
      bump();
      // Answer once processing has resumed, so the caller reads the tour as processing.
      await condition(() => state.stage !== 'processing_failed');
      return state;
    },
    { validator: allow(['processing_failed'], 'only a tour whose processing failed can be retried') },
  );

  const tour = await db.loadTourForWorkflow(input.tourId);
  if (!tour) {
    state.stage = 'missing';
    return state;
  }
  // A reschedule signalled while the row loaded is newer than the row that was read.
  if (state.scheduledAt === null) {
    state.scheduledAt = tour.scheduledAt;
    state.durationMinutes = tour.durationMinutes;
  }
  setStage(tour.status as TourStageValue);
  upsertSearchAttributes([
    { key: PropertyId, value: tour.propertyId },
    { key: RealtorId, value: tour.realtorId },
  ]);

  // Waiting for the start, or a cancellation, or a no-show.
  while (state.stage === 'scheduled') {
    const seen = version;
    const noShowAt = Date.parse(state.scheduledAt!) + state.durationMinutes! * 60_000 + noShowMs;
    const wait = noShowAt - Date.now();
    if (!cancelRequested && wait > 0 && (await condition(() => version !== seen, wait))) continue;
    await exclusive(async () => {
      if (state.stage !== 'scheduled') return;
      await db.setTourStatus(input.tourId, 'cancelled', { reason: cancelRequested ? 'booking cancelled' : 'never started' });
      setStage('cancelled');
    });
  }

  const sent: Array<Promise<void>> = [];
  const notify = (kind: 'tour_start' | 'tour_end') => {
    if (!patched(TOUR_NOTICES_PATCH)) return;
    sent.push(notices.sendTourNotice(input.tourId, kind).catch((err) => log.warn('tour notice not sent', { tourId: input.tourId, kind, error: reasonOf(err) })));
  };
  if (state.stage === 'in_progress') notify('tour_start');

  // The live call: ends on request, at its maximum length, or after everyone left for a while.
  while (state.stage === 'in_progress') {
    const seen = version;
    const deadlines = [startedAtMs + maxCallMs];
    if (emptySinceMs !== null) deadlines.push(emptySinceMs + emptyEndMs);
    const wait = Math.min(...deadlines) - Date.now();
    if (!endRequested && !cancelRequested && wait > 0 && (await condition(() => version !== seen, wait))) continue;
    const reason = endRequested?.reason ?? (cancelRequested ? 'booking cancelled' : Date.now() >= startedAtMs + maxCallMs ? 'maximum call length reached' : 'everyone left the call');
    await exclusive(async () => {
      await callEnd.endCall(input.tourId, endRequested?.by ?? null, reason);
      state.participants = [];
      state.recording = false;
      setStage('processing');
    });
    notify('tour_end');
  }

  // Processing, step by step; a permanent failure parks the tour until an operator retries.
  while (state.stage === 'processing' || state.stage === 'processing_failed') {
    if (state.stage === 'processing_failed') {
      await condition(() => retryRequested);
      retryRequested = false;
      state.failedStep = null;
      state.failure = null;
      await db.setTourStatus(input.tourId, 'processing', { error: null });
      setStage('processing');
    }
    for (const step of STEPS) {
      const done = state.steps[step];
      if (done && done.status !== 'failed') continue;
      await db.setTourStatus(input.tourId, 'processing', { step });
      try {
        state.steps[step] = await RUN_STEP[step](input.tourId);
      } catch (err) {
        const reason = reasonOf(err);
        state.steps[step] = { status: 'failed', detail: reason };
        state.failedStep = step;
        state.failure = reason;
        await db.markStepFailed(input.tourId, step, reason);
        await db.setTourStatus(input.tourId, 'processing_failed', { step, error: `${step}: ${reason}` });
        setStage('processing_failed');
        log.warn('tour processing parked', { tourId: input.tourId, step, reason });
        break;
      }
    }
    if (state.stage === 'processing') {
      await db.setTourStatus(input.tourId, 'completed', { step: null, error: null });
      setStage('completed');
    }
  }

  await Promise.all(sent);
  try {
    await getExternalWorkflowHandle(`booking-${input.bookingId}`).signal(TOUR_FINISHED_SIGNAL, state.stage === 'completed' ? 'completed' : 'cancelled');
  } catch (err) {
    // The booking may have ended already (e.g. cancelled at the last moment).
    log.info('booking not told of the finished tour', { error: String(err) });
  }
  return state;
}
