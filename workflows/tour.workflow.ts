import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  type ActivityOptions,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ParkedProcessing } from '../activities/processing.activities';
import { bookingWorkflowIdOf, endTourUpdate, joinCallUpdate, leaveCallUpdate, PROCESSING_STEPS, retryProcessingUpdate, setRecordingUpdate, startTourUpdate, TOUR_COMMANDS, TOUR_FAILURES, TOUR_NOTICES_PATCH, tourCancelSignal, tourFinishedSignal, tourRescheduleSignal, tourStageQuery, tourStateQuery, type JoinInfo, type ProcessingStep, type StepOutcome, type TourCommand, type TourNoticeKind, type TourState, type TourStatus, type TourWorkflowInput, TOUR_STATUS } from '../contracts/tours';
import { asLocal } from './activity-options';
import { Alarm } from './alarm';
import { upsertAttributes, upsertChanged } from './attributes';
import { CommandLock } from './command-lock';
import { PropertyId, RealtorId, TourStage } from './search-attributes';

/**
 * One per tour, started when its booking is confirmed; the only writer of the tour's and
 * its call's status (the moves are the contract's TOUR_TRANSITIONS). The call ends on
 * request, when its maximum length is reached, or when everyone has left for a while.
 * Processing runs its steps in order; a finished step is never run again.
 *
 * `TourLifecycle` holds the state and what each message does; `tourWorkflow` only wires the
 * handlers and runs the main loop. Replay-safe: the commands (activities, search attribute
 * upserts, the notices patch, the final signal) come in the order they always did.
 */

/** Older imports of the workflow module still find the messages here; they are declared in the contract. */
export * from '../contracts/tours';

/** The tour's row as its booking's confirmation created it. */
export interface TourCreated {
  scheduledAt: string;
  durationMinutes: number;
  propertyId: number;
  realtorId: number;
}

/**
 * How a booking on its local-steps path starts the tour: told what the row holds (no read at
 * the start) and awaiting it as a child. With `created` the tour runs its short database
 * steps as local activities inside the workflow task of the command (one task per command
 * instead of a round trip per step), its pipeline as one activity that completes it, keeps
 * one timer for its waits, upserts only the search attributes that changed, and reports to
 * its booking by completing instead of signalling. Without it (tours started before) it
 * runs as it always did, so their histories replay.
 */
export interface TourWorkflowStart extends TourWorkflowInput {
  created?: TourCreated;
}

const STEP_FAILED = TOUR_FAILURES.stepFailed;

/**
 * Each retry policy once: the local-steps path's local activities use the policies of the
 * activities they stand in for (a change here moves both paths).
 */
const DB_STEP: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: [STEP_FAILED] },
};

/**
 * Ending the call retries without limit: a call that could not be ended would leave the
 * tour in progress for good, its recording never processed.
 */
const CALL_END: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

const CALL_STEP: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5, nonRetryableErrorTypes: [STEP_FAILED] },
};

/** The processing steps', long or short, and the whole pipeline's. */
const PROCESSING_RETRY: RetryPolicy = { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 10, nonRetryableErrorTypes: [STEP_FAILED] };

const db = proxyActivities<Activities>(DB_STEP);
const callEnd = proxyActivities<Activities>(CALL_END);
const call = proxyActivities<Activities>(CALL_STEP);

/** Long steps heartbeat; a worker that dies mid-step is noticed within the heartbeat timeout. */
const longStep = proxyActivities<Activities>({ startToCloseTimeout: '2 hours', heartbeatTimeout: '2 minutes', retry: PROCESSING_RETRY });

const shortStep = proxyActivities<Activities>({ startToCloseTimeout: '5 minutes', retry: PROCESSING_RETRY });

/**
 * Emails to both participants when the call opens and when it closes. Sent beside the
 * lifecycle, never in its way: a slow email provider delays neither the call's timers nor
 * the recap, and a notice that cannot be sent is logged, not fatal.
 */
const notices = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 20 },
});

/** The short database and call steps of the local-steps path. */
const localDb = proxyLocalActivities<Activities>(asLocal(DB_STEP));
const localCallEnd = proxyLocalActivities<Activities>(asLocal(CALL_END));
const localCall = proxyLocalActivities<Activities>(asLocal(CALL_STEP));

/** The whole pipeline in one activity (local-steps path): the long steps' heartbeat and retries. */
const pipeline = proxyActivities<Activities>({ startToCloseTimeout: '3 hours', heartbeatTimeout: '2 minutes', retry: PROCESSING_RETRY });

const RUN_STEP: Record<ProcessingStep, (tourId: number) => Promise<StepOutcome>> = {
  recording: (id) => longStep.processRecording(id),
  transcription: (id) => longStep.processTranscription(id),
  highlights: (id) => shortStep.processHighlights(id),
  summary: (id) => shortStep.processSummary(id),
  summary_email: (id) => shortStep.processSummaryEmail(id),
};

function refuse(message: string): never {
  throw ApplicationFailure.create({ type: TOUR_FAILURES.invalidTransition, message, nonRetryable: true });
}

function reasonOf(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}

/** The tour's state, its transitions and what each update and signal does to them. */
export class TourLifecycle {
  readonly state: TourState;
  private readonly maxCallMs: number;
  private readonly emptyEndMs: number;
  private readonly noShowMs: number;
  /** Bumped on every change, so the main loop's waits wake up and re-read the deadlines. */
  private version = 0;
  private cancelRequested = false;
  private endRequested: { by: number | null; reason: string } | null = null;
  private retryRequested = false;
  private startedAtMs = 0;
  private emptySinceMs: number | null = null;
  private readonly sent: Array<Promise<void>> = [];
  /** Commands and the workflow's own timers take turns, so each sees the state the previous one left. */
  private readonly lock = new CommandLock(() => this.state.stage !== 'loading');
  /** Started with `created` (TourWorkflowStart): the local-steps path. */
  readonly local: boolean;
  /** The main loop's one timer (local-steps path). */
  private readonly alarm = new Alarm();

  constructor(private readonly input: TourWorkflowStart) {
    this.local = Boolean(input.created);
    this.maxCallMs = (input.maxCallMinutes ?? 120) * 60_000;
    this.emptyEndMs = (input.emptyCallEndMinutes ?? 10) * 60_000;
    this.noShowMs = (input.noShowGraceMinutes ?? 120) * 60_000;
    this.state = { tourId: input.tourId, stage: 'loading', scheduledAt: null, durationMinutes: null, participants: [], recording: false, steps: {}, failedStep: null, failure: null };
  }

  // Rules --------------------------------------------------------------------------------

  /** The validator of a command, and its re-check once it holds the lock. While the row loads, let it wait. */
  check(command: TourCommand): void {
    const { from, refusal } = TOUR_COMMANDS[command];
    if (this.state.stage === 'loading') return;
    if (!(from as readonly string[]).includes(this.state.stage)) refuse(`This tour is ${this.state.stage}; ${refusal}`);
  }

  /** `check` as an update's validator (whatever the update's arguments). */
  validator(command: TourCommand): (..._args: unknown[]) => void {
    return () => this.check(command);
  }

  private bump(): void {
    this.version += 1;
  }

  private setStage(stage: TourStatus): void {
    this.state.stage = stage;
    upsertAttributes([{ key: TourStage, value: stage }], this.local);
    this.bump();
  }

  /** The short database and call steps: local activities on the local-steps path. */
  private get calls(): typeof call {
    return this.local ? localCall : call;
  }

  private get dbSteps(): typeof db {
    return this.local ? localDb : db;
  }

  /** Waits until `atMs` (workflow time) or a change of version; true when woken by a change. */
  private async waitUntil(atMs: number, woken: () => boolean): Promise<boolean> {
    if (this.local) return this.alarm.wait(atMs, woken);
    const wait = atMs - Date.now();
    return wait > 0 && condition(woken, wait);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.run(fn);
  }

  /** A command that runs alone, checked again once it holds the lock. */
  private guarded<T>(command: TourCommand, fn: () => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      this.check(command);
      return fn();
    });
  }

  /** A command answered after the loop acts on it; it waits for the row, then is checked. */
  private async afterLoad(command: TourCommand): Promise<void> {
    // Accepted while the tour loaded: only the loaded stage can say whether it may go on.
    await condition(() => this.state.stage !== 'loading');
    this.check(command);
  }

  // Signals ------------------------------------------------------------------------------

  cancel(): void {
    this.cancelRequested = true;
    this.bump();
  }

  reschedule(at: string, minutes: number): void {
    this.state.scheduledAt = at;
    this.state.durationMinutes = minutes;
    this.bump();
  }

  // Updates ------------------------------------------------------------------------------

  start(userId: number): Promise<TourState> {
    return this.guarded('start', async () => {
      const started = await this.calls.startCall(this.state.tourId, userId).catch((err) => refuse(reasonOf(err)));
      // With RECORD_CALLS the activity starts the recording with the call (older results lack the flag).
      this.state.recording = (started as { recording?: boolean }).recording === true;
      this.startedAtMs = Date.now();
      this.emptySinceMs = Date.now();
      this.setStage(TOUR_STATUS.in_progress);
      return this.state;
    });
  }

  join(userId: number): Promise<JoinInfo> {
    return this.guarded('join', async () => {
      const joined = await this.calls.joinCall(this.state.tourId, userId).catch((err) => refuse(reasonOf(err)));
      if (!this.state.participants.includes(userId)) this.state.participants.push(userId);
      this.emptySinceMs = null;
      this.bump();
      return joined;
    });
  }

  leave(userId: number): Promise<TourState> {
    return this.guarded('leave', async () => {
      await this.calls.leaveCall(this.state.tourId, userId);
      this.state.participants = this.state.participants.filter((p) => p !== userId);
      // A repeated leave (a client's retry) must not restart the empty-call timer.
      if (!this.state.participants.length && this.emptySinceMs === null) this.emptySinceMs = Date.now();
      this.bump();
      return this.state;
    });
  }

  setRecording(on: boolean, userId?: number): Promise<TourState> {
    return this.guarded('setRecording', async () => {
      const r = await this.calls.setRecording(this.state.tourId, on, userId ?? null).catch((err) => refuse(reasonOf(err)));
      this.state.recording = r.recording;
      this.bump();
      return this.state;
    });
  }

  async end(userId: number): Promise<TourState> {
    await this.afterLoad('end');
    this.endRequested ??= { by: userId, reason: 'ended by a participant' };
    this.bump();
    await condition(() => this.state.stage !== TOUR_STATUS.in_progress);
    return this.state;
  }

  async retry(): Promise<TourState> {
    await this.afterLoad('retry');
    this.retryRequested = true;
    this.bump();
    // Answer once processing has resumed, so the caller reads the tour as processing.
    await condition(() => this.state.stage !== TOUR_STATUS.processing_failed);
    return this.state;
  }

  // The main loop's phases ---------------------------------------------------------------

  /** Reads the row; false when the tour does not exist. */
  async load(): Promise<boolean> {
    const created = this.input.created;
    if (created) {
      // Told at the start what the confirmation created: nothing to read. A reschedule
      // signalled before this first task is newer than that.
      this.state.scheduledAt ??= created.scheduledAt;
      this.state.durationMinutes ??= created.durationMinutes;
      this.state.stage = TOUR_STATUS.scheduled;
      upsertChanged([
        { key: TourStage, value: TOUR_STATUS.scheduled },
        { key: PropertyId, value: created.propertyId },
        { key: RealtorId, value: created.realtorId },
      ]);
      this.bump();
      return true;
    }
    const tour = await db.loadTourForWorkflow(this.state.tourId);
    if (!tour) {
      this.state.stage = 'missing';
      return false;
    }
    // A reschedule signalled while the row loaded is newer than the row that was read.
    if (this.state.scheduledAt === null) {
      this.state.scheduledAt = tour.scheduledAt;
      this.state.durationMinutes = tour.durationMinutes;
    }
    this.setStage(tour.status as TourStatus);
    upsertSearchAttributes([
      { key: PropertyId, value: tour.propertyId },
      { key: RealtorId, value: tour.realtorId },
    ]);
    return true;
  }

  /** Waiting for the start, or a cancellation, or a no-show. */
  async awaitStart(): Promise<void> {
    while (this.state.stage === TOUR_STATUS.scheduled) {
      const seen = this.version;
      const noShowAt = Date.parse(this.state.scheduledAt!) + this.state.durationMinutes! * 60_000 + this.noShowMs;
      if (!this.cancelRequested && (await this.waitUntil(noShowAt, () => this.version !== seen))) continue;
      await this.exclusive(async () => {
        if (this.state.stage !== TOUR_STATUS.scheduled) return;
        await this.dbSteps.setTourStatus(this.state.tourId, TOUR_STATUS.cancelled, { reason: this.cancelRequested ? 'booking cancelled' : 'never started' });
        this.setStage(TOUR_STATUS.cancelled);
      });
    }
  }

  /** The live call: ends on request, at its maximum length, or after everyone left for a while. */
  async runCall(): Promise<void> {
    if (this.state.stage === TOUR_STATUS.in_progress) this.notify('tour_start');
    while (this.state.stage === TOUR_STATUS.in_progress) {
      const seen = this.version;
      const deadlines = [this.startedAtMs + this.maxCallMs];
      if (this.emptySinceMs !== null) deadlines.push(this.emptySinceMs + this.emptyEndMs);
      if (!this.endRequested && !this.cancelRequested && (await this.waitUntil(Math.min(...deadlines), () => this.version !== seen))) continue;
      const reason = this.endRequested?.reason ?? (this.cancelRequested ? 'booking cancelled' : Date.now() >= this.startedAtMs + this.maxCallMs ? 'maximum call length reached' : 'everyone left the call');
      await this.exclusive(async () => {
        await (this.local ? localCallEnd : callEnd).endCall(this.state.tourId, this.endRequested?.by ?? null, reason);
        this.state.participants = [];
        this.state.recording = false;
        this.setStage(TOUR_STATUS.processing);
      });
      this.notify('tour_end');
    }
  }

  /** The processing steps not finished yet (never run, or failed), in order. */
  private stepsToDo(): ProcessingStep[] {
    return PROCESSING_STEPS.filter((step) => {
      const done = this.state.steps[step];
      return !done || done.status === 'failed';
    });
  }

  /** A parked tour waits for an operator's retry, then is processing again. */
  private async resumeOnRetry(): Promise<void> {
    await condition(() => this.retryRequested);
    this.retryRequested = false;
    this.state.failedStep = null;
    this.state.failure = null;
    await this.dbSteps.setTourStatus(this.state.tourId, TOUR_STATUS.processing, { error: null });
    this.setStage(TOUR_STATUS.processing);
  }

  /** Processing, step by step; a permanent failure parks the tour until an operator retries. */
  async runProcessing(): Promise<void> {
    if (this.local) return this.runPipeline();
    const tourId = this.state.tourId;
    while (this.state.stage === TOUR_STATUS.processing || this.state.stage === TOUR_STATUS.processing_failed) {
      if (this.state.stage === TOUR_STATUS.processing_failed) await this.resumeOnRetry();
      for (const step of this.stepsToDo()) {
        await db.setTourStatus(tourId, TOUR_STATUS.processing, { step });
        try {
          this.state.steps[step] = await RUN_STEP[step](tourId);
        } catch (err) {
          const reason = reasonOf(err);
          this.state.steps[step] = { status: 'failed', detail: reason };
          this.state.failedStep = step;
          this.state.failure = reason;
          await db.markStepFailed(tourId, step, reason);
          await db.setTourStatus(tourId, TOUR_STATUS.processing_failed, { step, error: `${step}: ${reason}` });
          this.setStage(TOUR_STATUS.processing_failed);
          log.warn('tour processing parked', { tourId, step, reason });
          break;
        }
      }
      if (this.state.stage === TOUR_STATUS.processing) {
        await db.setTourStatus(tourId, TOUR_STATUS.completed, { step: null, error: null });
        this.setStage(TOUR_STATUS.completed);
      }
    }
  }

  /**
   * The local-steps path: the steps still to do in one activity that also completes the
   * tour; a failure parks it (the step it was at recorded as failed) until an operator retries.
   */
  private async runPipeline(): Promise<void> {
    const tourId = this.state.tourId;
    while (this.state.stage === TOUR_STATUS.processing || this.state.stage === TOUR_STATUS.processing_failed) {
      if (this.state.stage === TOUR_STATUS.processing_failed) await this.resumeOnRetry();
      try {
        const run = await pipeline.runProcessing(tourId, this.stepsToDo(), { complete: true });
        Object.assign(this.state.steps, run.steps);
        this.setStage(TOUR_STATUS.completed);
      } catch (err) {
        const parked: ParkedProcessing = await this.dbSteps.parkProcessing(tourId, reasonOf(err));
        Object.assign(this.state.steps, parked.steps);
        this.state.failedStep = parked.step;
        this.state.failure = parked.reason;
        this.setStage(TOUR_STATUS.processing_failed);
        log.warn('tour processing parked', { tourId, step: parked.step, reason: parked.reason });
      }
    }
  }

  /** Waits for the notices, then tells the booking how the tour ended (by completing, on the local-steps path). */
  async finish(): Promise<void> {
    await Promise.all(this.sent);
    if (this.local) return;
    try {
      await getExternalWorkflowHandle(bookingWorkflowIdOf(this.input)).signal(tourFinishedSignal, this.state.stage === TOUR_STATUS.completed ? TOUR_STATUS.completed : 'cancelled');
    } catch (err) {
      // The booking may have ended already (e.g. cancelled at the last moment).
      log.info('booking not told of the finished tour', { error: String(err) });
    }
  }

  private notify(kind: TourNoticeKind): void {
    // Tours on the local-steps path were all started after the notices existed: no marker needed.
    if (!this.local && !patched(TOUR_NOTICES_PATCH)) return;
    const tourId = this.state.tourId;
    this.sent.push(notices.sendTourNotice(tourId, kind).catch((err) => log.warn('tour notice not sent', { tourId, kind, error: reasonOf(err) })));
  }
}

export async function tourWorkflow(input: TourWorkflowStart): Promise<TourState> {
  const tour = new TourLifecycle(input);
  setHandler(tourStateQuery, () => tour.state);
  setHandler(tourStageQuery, () => tour.state.stage);
  setHandler(tourCancelSignal, () => tour.cancel());
  setHandler(tourRescheduleSignal, (at, minutes) => tour.reschedule(at, minutes));
  // Each update's validator is its command's check; the handler checks again once it holds the lock.
  setHandler(startTourUpdate, (userId) => tour.start(userId), { validator: tour.validator('start') });
  setHandler(joinCallUpdate, (userId) => tour.join(userId), { validator: tour.validator('join') });
  setHandler(leaveCallUpdate, (userId) => tour.leave(userId), { validator: tour.validator('leave') });
  setHandler(setRecordingUpdate, (on, userId) => tour.setRecording(on, userId), { validator: tour.validator('setRecording') });
  setHandler(endTourUpdate, (userId) => tour.end(userId), { validator: tour.validator('end') });
  setHandler(retryProcessingUpdate, () => tour.retry(), { validator: tour.validator('retry') });

  if (!(await tour.load())) return tour.state;
  await tour.awaitStart();
  await tour.runCall();
  await tour.runProcessing();
  await tour.finish();
  return tour.state;
}
