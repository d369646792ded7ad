import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { BookingNoticeKind } from './bookings';
import type { ProcessingStep, TourNoticeKind } from './tours';

/**
 * The webhooks domain's contract: the event types realtors and admins subscribe to, the
 * delivery statuses, the delivery workflow's id, input and retry schedule, declared once
 * and imported by the API, the workflow, its activities, the worker's dispatcher and tests.
 */

// Event types ------------------------------------------------------------------------------

export const WEBHOOK_EVENT_TYPES = [
  'booking.requested',
  'booking.confirmed',
  'booking.declined',
  'booking.cancelled',
  'booking.rescheduled',
  'booking.expired',
  'tour.started',
  'tour.ended',
  'recording.ready',
  'transcript.ready',
  'summary.ready',
  'feedback.received',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Each event type by name, so code outside this module never spells one. */
export const WEBHOOK_EVENT = {
  bookingRequested: 'booking.requested',
  bookingConfirmed: 'booking.confirmed',
  bookingDeclined: 'booking.declined',
  bookingCancelled: 'booking.cancelled',
  bookingRescheduled: 'booking.rescheduled',
  bookingExpired: 'booking.expired',
  tourStarted: 'tour.started',
  tourEnded: 'tour.ended',
  recordingReady: 'recording.ready',
  transcriptReady: 'transcript.ready',
  summaryReady: 'summary.ready',
  feedbackReceived: 'feedback.received',
} as const satisfies Record<string, WebhookEventType>;

/**
 * The booking notices that are facts worth an event (the reminder is not). The notice
 * activity runs once per fact (its ledger key), so it is where a booking event is recorded.
 */
export const BOOKING_NOTICE_EVENTS: Readonly<Partial<Record<BookingNoticeKind, WebhookEventType>>> = {
  request: WEBHOOK_EVENT.bookingRequested,
  confirmed: WEBHOOK_EVENT.bookingConfirmed,
  declined: WEBHOOK_EVENT.bookingDeclined,
  cancelled: WEBHOOK_EVENT.bookingCancelled,
  rescheduled: WEBHOOK_EVENT.bookingRescheduled,
  expired: WEBHOOK_EVENT.bookingExpired,
};

export const TOUR_NOTICE_EVENTS: Readonly<Record<TourNoticeKind, WebhookEventType>> = {
  tour_start: WEBHOOK_EVENT.tourStarted,
  tour_end: WEBHOOK_EVENT.tourEnded,
};

/** The post-tour pipeline steps whose completion is an event. */
export const PROCESSING_STEP_EVENTS: Readonly<Partial<Record<ProcessingStep, WebhookEventType>>> = {
  recording: WEBHOOK_EVENT.recordingReady,
  transcription: WEBHOOK_EVENT.transcriptReady,
  summary: WEBHOOK_EVENT.summaryReady,
};

/**
 * The natural key of a domain event: one row per fact, however often the activity that
 * records it is retried. Booking events reuse the notice's occasion (its discriminator).
 */
export const domainEventKeys = {
  booking: (bookingId: number, kind: BookingNoticeKind, discriminator: string) => `booking:${bookingId}:${kind}:${discriminator}`,
  tour: (tourId: number, type: WebhookEventType) => `tour:${tourId}:${type}`,
  feedback: (feedbackId: number) => `feedback:${feedbackId}`,
};

/** The body every endpoint receives, as the Standard Webhooks specification shapes it. */
export interface WebhookPayload {
  type: WebhookEventType;
  /** When the fact became true (ISO 8601, UTC). */
  timestamp: string;
  data: Record<string, unknown>;
}

/** The `webhook-id` of an event's message: the same on every retry and redelivery, so receivers can deduplicate. */
export const webhookMessageId = (eventPublicId: string) => `msg_${eventPublicId.replace(/-/g, '')}`;

/** Standard Webhooks secrets: `whsec_` and the base64 of the key bytes. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';
export const WEBHOOK_SECRET_BYTES = 32;

/** Endpoints one user may register: each event fans out to every one of them. */
export const WEBHOOK_MAX_ENDPOINTS_PER_OWNER = 20;

// Deliveries -------------------------------------------------------------------------------

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];
export const WEBHOOK_DELIVERY_STATUS = {
  pending: 'pending',
  delivered: 'delivered',
  failed: 'failed',
} as const satisfies { [S in WebhookDeliveryStatus]: S };

/** A delivery in these is done; only a redelivery (a new delivery) sends it again. */
export const FINAL_WEBHOOK_DELIVERY_STATUSES: readonly WebhookDeliveryStatus[] = [WEBHOOK_DELIVERY_STATUS.delivered, WEBHOOK_DELIVERY_STATUS.failed];

/** How one attempt ended, as the attempt activity reports it to the workflow. */
export type WebhookAttemptOutcome =
  /** A 2xx answer: the delivery is done. */
  | 'delivered'
  /** Not delivered; another attempt is scheduled. */
  | 'retrying'
  /** Not delivered and no attempt left (or the endpoint is disabled): the delivery failed. */
  | 'failed'
  /** The delivery or its endpoint no longer exists: nothing to do. */
  | 'gone';

export interface WebhookAttemptResult {
  outcome: WebhookAttemptOutcome;
  /** This attempt's failure disabled the endpoint: its owner is to be told. */
  endpointDisabled: boolean;
  endpointId: number | null;
}

// Workflow ---------------------------------------------------------------------------------

export const webhookDeliveryWorkflowId = (deliveryId: number) => `webhook-delivery-${deliveryId}`;
export const WEBHOOK_DELIVERY_WORKFLOW_TYPE = 'webhookDeliveryWorkflow';

export interface WebhookDeliveryInput {
  deliveryId: number;
  /** Attempts stop this long after the first one; the last one is at its end. */
  retryWindowMs: number;
  /** An endpoint whose deliveries have all failed for this long is disabled. */
  disableAfterMs: number;
}

/** The configured timings a delivery runs with. */
export type WebhookDeliverySettings = Omit<WebhookDeliveryInput, 'deliveryId'>;

/** The configuration's timings, as lib/config.ts shapes them (structurally: a contract imports no layer). */
export function webhookDeliverySettings(config: { webhooks: { retryWindowMs: number; disableAfterMs: number } }): WebhookDeliverySettings {
  return { retryWindowMs: config.webhooks.retryWindowMs, disableAfterMs: config.webhooks.disableAfterMs };
}

/**
 * Waits between attempts (the Standard Webhooks reference schedule): the last one repeats
 * until the retry window is used up.
 */
export const WEBHOOK_RETRY_DELAYS_MS: readonly number[] = [5_000, 5 * 60_000, 30 * 60_000, 2 * 3_600_000, 5 * 3_600_000, 10 * 3_600_000];

/**
 * When each attempt is due, in ms after the first: the delays added up, and a last attempt
 * at the window's end when the next delay would run past it. 24 h: 0, 5 s, 5 min 5 s,
 * 35 min 5 s, 2 h 35 min, 7 h 35 min, 17 h 35 min and 24 h (eight attempts).
 */
export function webhookAttemptOffsets(retryWindowMs: number): number[] {
  const offsets = [0];
  for (let i = 0; ; i += 1) {
    const delay = WEBHOOK_RETRY_DELAYS_MS[Math.min(i, WEBHOOK_RETRY_DELAYS_MS.length - 1)]!;
    const last = offsets[offsets.length - 1]!;
    if (last + delay >= retryWindowMs) {
      if (last < retryWindowMs) offsets.push(retryWindowMs);
      return offsets;
    }
    offsets.push(last + delay);
  }
}

/**
 * Starts a delivery's workflow, from the worker's dispatcher and from a redelivery in the
 * API. Idempotent: the id is the delivery's, a running one is kept, and one that already
 * ran is not run again (its delivery has its outcome).
 */
export async function startWebhookDeliveryWorkflow(client: Client, taskQueue: string, deliveryId: number, settings: WebhookDeliverySettings): Promise<void> {
  const input: WebhookDeliveryInput = { ...settings, deliveryId };
  try {
    await client.workflow.start(WEBHOOK_DELIVERY_WORKFLOW_TYPE, {
      taskQueue,
      workflowId: webhookDeliveryWorkflowId(deliveryId),
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

// Notices ----------------------------------------------------------------------------------

/** The ledger key of the email telling an endpoint's owner it was disabled (once per disabling). */
export const webhookDisabledNoticeKey = (endpointId: number, disabledAt: Date) => `webhook-disabled:${endpointId}:${disabledAt.getTime()}`;
