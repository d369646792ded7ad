import { createProcessingActivities } from '../../../activities/processing.activities';
import { type ProcessingStep, type StepOutcome, type StepStatus, type WorkflowWrittenTourStatus } from '../../../contracts/tours';

/**
 * The pipeline activities of the TourWorkflow's local-steps path (`runProcessing`,
 * `parkProcessing`) over a set of per-step fakes: the real composition from
 * activities/processing.activities.ts, with the steps' records kept in memory as
 * tour_processing_steps would keep them. Added to the shared activity fakes, which have
 * one activity per step.
 */

type StepFakes = {
  processRecording(tourId: number): Promise<StepOutcome>;
  processTranscription(tourId: number): Promise<StepOutcome>;
  processHighlights(tourId: number): Promise<StepOutcome>;
  processSummary(tourId: number): Promise<StepOutcome>;
  processSummaryEmail(tourId: number): Promise<StepOutcome>;
  setTourStatus(tourId: number, status: WorkflowWrittenTourStatus, detail?: { step?: string | null; error?: string | null; reason?: string }): Promise<void>;
  markStepFailed(tourId: number, step: ProcessingStep, reason: string): Promise<void>;
};

export function withPipeline<A extends StepFakes>(fakes: A): A & ReturnType<typeof createProcessingActivities> {
  const records = new Map<number, Partial<Record<ProcessingStep, { status: StepStatus; detail: string | null }>>>();
  const current = new Map<number, ProcessingStep | null>();
  const of = (tourId: number) => records.get(tourId) ?? records.set(tourId, {}).get(tourId)!;
  const recordingStep =
    (step: ProcessingStep, fn: (tourId: number) => Promise<StepOutcome>) =>
    async (tourId: number): Promise<StepOutcome> => {
      of(tourId)[step] = { status: 'running', detail: null };
      const outcome = await fn(tourId);
      of(tourId)[step] = outcome;
      return outcome;
    };
  const pipeline = createProcessingActivities({
    recorded: async (tourId) => ({ ...of(tourId) }),
    currentStep: async (tourId) => current.get(tourId) ?? null,
    run: {
      recording: recordingStep('recording', fakes.processRecording),
      transcription: recordingStep('transcription', fakes.processTranscription),
      highlights: recordingStep('highlights', fakes.processHighlights),
      summary: recordingStep('summary', fakes.processSummary),
      summary_email: recordingStep('summary_email', fakes.processSummaryEmail),
    },
    setTourStatus: async (tourId, status, detail) => {
      if (detail?.step !== undefined) current.set(tourId, detail.step as ProcessingStep | null);
      await fakes.setTourStatus(tourId, status, detail);
    },
    markStepFailed: async (tourId, step, reason) => {
      of(tourId)[step] = { status: 'failed', detail: reason };
      await fakes.markStepFailed(tourId, step, reason);
    },
  });
  return { ...fakes, ...pipeline };
}
