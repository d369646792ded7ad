import { counter, histogram, secondsBetween } from '../lib/metrics';

/**
 * Business KPIs, recorded by activities right after the change they count committed (an
 * activity runs once per attempt and never on replay; a retry that finds the change
 * already made records nothing), so every event is counted once.
 */

const MINUTE_BUCKETS = [30, 60, 120, 300, 600, 900, 1800, 2700, 3600, 5400, 7200];
const SETUP_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600, 7 * 24 * 3600];

export const bookingOutcomes = counter({
  name: 'rfy_bookings_total',
  help: 'Bookings that reached an outcome (confirmed, declined, cancelled, expired, completed)',
  labelNames: ['outcome'] as const,
});

export const toursStarted = counter({ name: 'rfy_tours_started_total', help: 'Tours whose call started (scheduled → in_progress)' });
export const toursCompleted = counter({ name: 'rfy_tours_completed_total', help: 'Tours that finished their post-tour pipeline (→ completed)' });

export const callSetupSeconds = histogram({
  name: 'rfy_call_setup_seconds',
  help: 'Call setup time: confirm → first join (phase=confirm_to_first_join), call start → both joined (phase=start_to_both_joined)',
  labelNames: ['phase'] as const,
  buckets: SETUP_BUCKETS,
});

export const meetingDurationSeconds = histogram({ name: 'rfy_meeting_duration_seconds', help: 'Call length, start to end', buckets: MINUTE_BUCKETS });
export const recordingSeconds = counter({ name: 'rfy_recording_seconds_total', help: 'Length of processed tour recordings (÷60 for recording minutes)' });

export const pipelineStepSeconds = histogram({
  name: 'rfy_pipeline_step_duration_seconds',
  help: 'Post-tour processing step duration by step and outcome (done, skipped)',
  labelNames: ['step', 'outcome'] as const,
  buckets: [0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 900, 1800],
});
export const pipelineStepFailures = counter({
  name: 'rfy_pipeline_step_failures_total',
  help: 'Post-tour processing steps that failed for good, by step',
  labelNames: ['step'] as const,
});
export const endToSummarySeconds = histogram({
  name: 'rfy_tour_end_to_summary_seconds',
  help: 'From the end of the call to the summary being ready',
  buckets: [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200],
});

export const reminderLagSeconds = histogram({
  name: 'rfy_reminder_lag_seconds',
  help: 'Reminder emails: sent − due (15 minutes before the tour)',
  buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900],
});

export const imageProcessingSeconds = histogram({
  name: 'rfy_image_processing_seconds',
  help: 'Rendering a property image (both variants), by outcome',
  labelNames: ['outcome'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
});

export const transcriptionRealTimeFactor = histogram({
  name: 'rfy_transcription_real_time_factor',
  help: 'Transcription time ÷ audio length (below 1: faster than real time)',
  labelNames: ['provider'] as const,
  buckets: [0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 4],
});

export { secondsBetween };
