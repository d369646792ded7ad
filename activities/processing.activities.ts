import { ApplicationFailure } from '@temporalio/activity';
import { currentActivity } from './activity-context';
import { PROCESSING_STEPS, TOUR_FAILURES, TOUR_STATUS, type ProcessingStep, type StepOutcome, type StepRecord, type StepStatus, type WorkflowWrittenTourStatus } from '../contracts/tours';

/**
 * The post-tour pipeline as one activity (the TourWorkflow's local-steps path): the steps it
 * is given, in order, each exactly as its own activity runs it (recorded in
 * tour_processing_steps, its KPIs, its webhook event), the tour's current step kept on the
 * row, and the tour completed after the last. One activity instead of two per step (the
 * step and the status write before it): every activity started is a billable action.
 *
 * Safe to retry: a step recorded as done or skipped is not run again, so a retry after a
 * transient failure resumes at the step that failed. A permanent failure of a step
 * (ProcessingStepFailed) ends the activity for good; `parkProcessing` then records it.
 */

export interface ProcessingRun {
  steps: Partial<Record<ProcessingStep, StepOutcome>>;
}

export interface ParkedProcessing {
  step: ProcessingStep;
  reason: string;
  /** Every step's record as it stands, the failed one included. */
  steps: Partial<Record<ProcessingStep, StepRecord>>;
}

export interface ProcessingDeps {
  /** Each step's record in tour_processing_steps. */
  recorded(tourId: number): Promise<Partial<Record<ProcessingStep, { status: StepStatus; detail: string | null }>>>;
  /** The step the tour's row says it is at. */
  currentStep(tourId: number): Promise<ProcessingStep | null>;
  /** The steps as their own activities run them. */
  run: Record<ProcessingStep, (tourId: number) => Promise<StepOutcome>>;
  setTourStatus(tourId: number, status: WorkflowWrittenTourStatus, detail?: { step?: string | null; error?: string | null; reason?: string }): Promise<void>;
  markStepFailed(tourId: number, step: ProcessingStep, reason: string): Promise<void>;
}

/** While a long step runs, the worker says it is alive (an LLM call does not heartbeat on its own). */
function keepAlive(): () => void {
  const ctx = currentActivity();
  if (!ctx) return () => undefined;
  const timer = setInterval(() => ctx.heartbeat(), 20_000);
  return () => clearInterval(timer);
}

const FINISHED = new Set(['done', 'skipped']);

export function createProcessingActivities(deps: ProcessingDeps) {
  return {
    async runProcessing(tourId: number, steps: ProcessingStep[], opts: { complete: boolean }): Promise<ProcessingRun> {
      const unknown = steps.filter((s) => !PROCESSING_STEPS.includes(s));
      if (unknown.length) throw ApplicationFailure.nonRetryable(`Unknown processing step(s): ${unknown.join(', ')}`, TOUR_FAILURES.stepFailed);
      const stop = keepAlive();
      try {
        const recorded = await deps.recorded(tourId);
        const out: ProcessingRun = { steps: {} };
        for (const step of PROCESSING_STEPS.filter((s) => steps.includes(s))) {
          const before = recorded[step];
          if (before && FINISHED.has(before.status)) {
            out.steps[step] = { status: before.status as StepOutcome['status'], detail: before.detail };
            continue;
          }
          await deps.setTourStatus(tourId, TOUR_STATUS.processing, { step });
          out.steps[step] = await deps.run[step](tourId);
        }
        if (opts.complete) await deps.setTourStatus(tourId, TOUR_STATUS.completed, { step: null, error: null });
        return out;
      } finally {
        stop();
      }
    },

    /**
     * Parks the tour after its pipeline failed for good: the step it was at (the row's
     * current step) is recorded as failed with the reason, and the tour as processing_failed
     * until an operator retries. Returns every step's record for the workflow's state.
     */
    async parkProcessing(tourId: number, reason: string): Promise<ParkedProcessing> {
      const recorded = await deps.recorded(tourId);
      const step =
        (await deps.currentStep(tourId)) ??
        PROCESSING_STEPS.find((s) => !recorded[s] || !FINISHED.has(recorded[s]!.status)) ??
        PROCESSING_STEPS[PROCESSING_STEPS.length - 1]!;
      await deps.markStepFailed(tourId, step, reason);
      await deps.setTourStatus(tourId, TOUR_STATUS.processing_failed, { step, error: `${step}: ${reason}` });
      const steps: ParkedProcessing['steps'] = {};
      for (const s of PROCESSING_STEPS) {
        const r = s === step ? { status: 'failed' as const, detail: reason } : recorded[s];
        // A step that never finished (or never began) has no outcome yet.
        if (!r || r.status === 'running') continue;
        steps[s] = r.status === 'failed' ? { status: 'failed', detail: r.detail ?? '' } : { status: r.status, detail: r.detail };
      }
      return { step, reason, steps };
    },
  };
}
