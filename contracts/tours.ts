import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { bookingWorkflowId } from './bookings';

/**
 * The tours domain's contract: what the API, the TourWorkflow, its activities and the tests
 * agree on, declared once (as `app/order/api.go` in reference-app-orders-go). A leaf: it
 * imports only the workflow SDK's message definitions and other contracts.
 */

// Statuses ---------------------------------------------------------------------------------

export const TOUR_STATUSES = ['scheduled', 'in_progress', 'processing', 'completed', 'cancelled', 'processing_failed'] as const;
export type TourStatus = (typeof TOUR_STATUSES)[number];

/** Each status by name, so code outside this module never spells one (`TOUR_STATUS.in_progress`). */
export const TOUR_STATUS = {
  scheduled: 'scheduled',
  in_progress: 'in_progress',
  processing: 'processing',
  completed: 'completed',
  cancelled: 'cancelled',
  processing_failed: 'processing_failed',
} as const satisfies { [S in TourStatus]: S };

/** The statuses the workflow writes through `setTourStatus` (start and end have activities of their own). */
export type WorkflowWrittenTourStatus = Exclude<TourStatus, typeof TOUR_STATUS.scheduled | typeof TOUR_STATUS.in_progress>;

/** What the workflow reports: a tour's status, or where the workflow itself is. */
export type TourStage = TourStatus | 'loading' | 'missing';

/**
 * The only moves the TourWorkflow makes:
 *   scheduled → in_progress → processing → completed, or cancelled (never started),
 *   processing ⇄ processing_failed (an operator's retry resumes it).
 */
export const TOUR_TRANSITIONS: Readonly<Record<TourStatus, readonly TourStatus[]>> = {
  scheduled: ['in_progress', 'cancelled'],
  in_progress: ['processing'],
  processing: ['completed', 'processing_failed'],
  processing_failed: ['processing'],
  completed: [],
  cancelled: [],
};

export const canMoveTour = (from: TourStatus, to: TourStatus): boolean => TOUR_TRANSITIONS[from].includes(to);

/** A tour in these can still be cancelled (through its booking). */
export const TOUR_CANCELLABLE: readonly TourStatus[] = ['scheduled', 'in_progress'];
/** A recording can be uploaded until processing picks it up. */
export const TOUR_ACCEPTS_UPLOAD: readonly TourStatus[] = ['scheduled', 'in_progress', 'processing'];

/** Which stage each command needs, and how a refusal reads ("This tour is <stage>; <why>"). */
export const TOUR_COMMANDS = {
  start: { from: ['scheduled'], refusal: 'it cannot be started' },
  join: { from: ['in_progress'], refusal: 'the call is not open' },
  leave: { from: ['in_progress'], refusal: 'the call is not open' },
  setRecording: { from: ['in_progress'], refusal: 'recording needs a live call' },
  end: { from: ['in_progress'], refusal: 'only a tour in progress can be ended' },
  retry: { from: ['processing_failed'], refusal: 'only a tour whose processing failed can be retried' },
} as const satisfies Record<string, { from: readonly TourStatus[]; refusal: string }>;
export type TourCommand = keyof typeof TOUR_COMMANDS;

export const CALL_STATUSES = ['created', 'active', 'ended', 'cancelled'] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];
export const CALL_STATUS = { created: 'created', active: 'active', ended: 'ended', cancelled: 'cancelled' } as const satisfies { [S in CallStatus]: S };

// Post-tour processing ---------------------------------------------------------------------

export const PROCESSING_STEPS = ['recording', 'transcription', 'highlights', 'summary', 'summary_email'] as const;
export type ProcessingStep = (typeof PROCESSING_STEPS)[number];

export const STEP_STATUSES = ['running', 'done', 'skipped', 'failed'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

/** What a finished step returns to the workflow. */
export type StepOutcome = { status: 'done' | 'skipped'; detail: string | null };
export type StepRecord = StepOutcome | { status: 'failed'; detail: string };

// Failure types ----------------------------------------------------------------------------

/** ApplicationFailure types: the workflow refused a command; a step failed for good. */
export const TOUR_FAILURES = {
  invalidTransition: 'InvalidTourTransition',
  stepFailed: 'ProcessingStepFailed',
} as const;
export type TourFailureType = (typeof TOUR_FAILURES)[keyof typeof TOUR_FAILURES];

// Workflow ---------------------------------------------------------------------------------

export const tourWorkflowId = (tourId: number) => `tour-${tourId}`;

export interface TourWorkflowInput {
  tourId: number;
  bookingId: number;
  /** The booking's workflow, told when the tour finishes (as reference-app-orders passes RequestorWID). */
  bookingWorkflowId: string;
  maxCallMinutes?: number;
  emptyCallEndMinutes?: number;
  /** A tour nobody started is cancelled this long after its scheduled end. */
  noShowGraceMinutes?: number;
}

/** Tours started before the input named their booking's workflow carry only its id. */
export function bookingWorkflowIdOf(input: TourWorkflowInput): string {
  return (input as Partial<TourWorkflowInput>).bookingWorkflowId ?? bookingWorkflowId(input.bookingId);
}

export interface TourState {
  tourId: number;
  stage: TourStage;
  scheduledAt: string | null;
  durationMinutes: number | null;
  participants: number[];
  recording: boolean;
  steps: Partial<Record<ProcessingStep, StepRecord>>;
  failedStep: ProcessingStep | null;
  failure: string | null;
}

/**
 * Join information shaped as Chime returns it, so a client written for Chime works against
 * either meetings provider. Declared here (the meetings port uses these very types), so the
 * contract stays a leaf.
 */
export interface MediaPlacement {
  AudioHostUrl: string;
  AudioFallbackUrl: string;
  SignalingUrl: string;
  TurnControlUrl: string;
  ScreenDataUrl?: string;
  ScreenViewingUrl?: string;
  ScreenSharingUrl?: string;
  EventIngestionUrl?: string;
}

export interface Meeting {
  MeetingId: string;
  ExternalMeetingId: string;
  MediaRegion: string;
  MediaPlacement: MediaPlacement;
}

export interface Attendee {
  AttendeeId: string;
  ExternalUserId: string;
  JoinToken: string;
}

/** What a join answers: the meeting and the caller's own attendee. */
export interface JoinInfo {
  Meeting: Meeting;
  Attendee: Attendee;
}

export const tourCancelSignal = defineSignal('cancelTour');
export const tourRescheduleSignal = defineSignal<[string, number]>('rescheduleTour');

export const startTourUpdate = defineUpdate<TourState, [number]>('startTour');
export const endTourUpdate = defineUpdate<TourState, [number]>('endTour');
export const joinCallUpdate = defineUpdate<JoinInfo, [number]>('joinCall');
export const leaveCallUpdate = defineUpdate<TourState, [number]>('leaveCall');
/** On or off, and who asked (audit-logged); the second argument is absent in older histories. */
export const setRecordingUpdate = defineUpdate<TourState, [boolean, number?]>('setRecording');
export const retryProcessingUpdate = defineUpdate<TourState, []>('retryProcessing');
export const tourStateQuery = defineQuery<TourState>('state');
/** Kept for operators' scripts: the stage alone. */
export const tourStageQuery = defineQuery<TourStage>('stage');

/** How a tour ended, as its booking is told. */
export type TourOutcome = 'completed' | 'cancelled';
/** Sent by a finished tour to its booking's workflow. */
export const tourFinishedSignal = defineSignal<[TourOutcome]>('tourFinished');
/** The signal's name, for the booking side until it uses the definition itself. */
export const TOUR_FINISHED_SIGNAL = tourFinishedSignal.name;

// Notices ----------------------------------------------------------------------------------

/** Tours started before the tour_start / tour_end emails existed replay without them. */
export const TOUR_NOTICES_PATCH = 'tour-start-end-notices';

export type TourNoticeKind = 'tour_start' | 'tour_end';

/** What participants are told about recording: in the join answer and the tour-start email. */
export function recordingNotice(recording: boolean): string {
  return recording
    ? 'This call is being recorded (audio and video) so that a transcript, highlights and a summary can be prepared for both of you after the tour. The realtor can stop and restart the recording during the call.'
    : 'This call is not being recorded. If the realtor starts recording, everyone in the call is told.';
}

/** Where a tour's recording, its captures and highlight frames are stored. */
export const tourRecordingPrefix = (tourId: number) => `recordings/${tourWorkflowId(tourId)}`;
