import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';

/**
 * The buyer-feedback domain's contract (issue 14, point 3): what a buyer says about a tour,
 * the FeedbackWorkflow's id, input and messages, and the notices it sends, declared once and
 * imported by the API, the workflow, its activities and the tests. A leaf.
 *
 * One FeedbackWorkflow per tour, started once when the tour's call has ended (the showing
 * is over; the recap's processing does not hold it up): it asks the buyer for feedback and,
 * if none came, reminds them once a day later. Feedback is given once, then editable for a
 * week.
 */

// What a buyer says ----------------------------------------------------------------------------

export const FEEDBACK_RATING_MIN = 1;
export const FEEDBACK_RATING_MAX = 5;

export const FEEDBACK_INTEREST_LEVELS = ['not_interested', 'somewhat_interested', 'very_interested'] as const;
export type FeedbackInterestLevel = (typeof FEEDBACK_INTEREST_LEVELS)[number];

export const FEEDBACK_PRICE_OPINIONS = ['too_low', 'about_right', 'too_high'] as const;
export type FeedbackPriceOpinion = (typeof FEEDBACK_PRICE_OPINIONS)[number];

/** The scores the per-listing averages use: interest 1 (none) to 3 (very); price -1 (too low) to +1 (too high). */
export const FEEDBACK_INTEREST_SCORE: Readonly<Record<FeedbackInterestLevel, number>> = { not_interested: 1, somewhat_interested: 2, very_interested: 3 };
export const FEEDBACK_PRICE_SCORE: Readonly<Record<FeedbackPriceOpinion, number>> = { too_low: -1, about_right: 0, too_high: 1 };

export const FEEDBACK_COMMENTS_MAX = 2000;

/** Feedback may be changed this long after it was first given. */
export const FEEDBACK_EDIT_WINDOW_MS = 7 * 24 * 60 * 60_000;

/** The buyer is reminded this long after the request, if no feedback came by then. */
export const FEEDBACK_REMINDER_DELAY_MS = 24 * 60 * 60_000;

// Workflow ---------------------------------------------------------------------------------

export const feedbackWorkflowId = (tourId: number) => `feedback-${tourId}`;

/** The workflow's registered name: the tour activities start it by name. */
export const FEEDBACK_WORKFLOW_TYPE = 'feedbackWorkflow';

export interface FeedbackWorkflowInput {
  tourId: number;
  /** Default FEEDBACK_REMINDER_DELAY_MS. */
  reminderDelayMs?: number;
}

/** The buyer answered: the reminder is not sent. */
export const feedbackGivenSignal = defineSignal('feedbackGiven');

export interface FeedbackWorkflowState {
  tourId: number;
  requested: boolean;
  reminded: boolean;
  answered: boolean;
}
export const feedbackStateQuery = defineQuery<FeedbackWorkflowState>('feedbackState');

/**
 * Starts a tour's FeedbackWorkflow, at most once: a running one is kept, and one that has
 * finished is not started again (a retried caller after the buyer answered changes nothing).
 */
export async function startFeedbackWorkflow(client: Client, taskQueue: string, tourId: number): Promise<void> {
  const input: FeedbackWorkflowInput = { tourId };
  try {
    await client.workflow.start(FEEDBACK_WORKFLOW_TYPE, {
      taskQueue,
      workflowId: feedbackWorkflowId(tourId),
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

// Notices ----------------------------------------------------------------------------------

export const FEEDBACK_NOTICE_KINDS = ['request', 'reminder'] as const;
export type FeedbackNoticeKind = (typeof FEEDBACK_NOTICE_KINDS)[number];

/**
 * What the notice activity did: sent it (or had sent it before), or not, because the buyer
 * has answered, the tour or its booking was cancelled, the tour has not ended (or is gone),
 * or the email provider refused the address for good.
 */
export type FeedbackNoticeOutcome = 'sent' | 'answered' | 'cancelled' | 'not_ended' | 'gone' | 'refused';

/** The notifications ledger's key: one request and one reminder per tour and buyer. */
export const feedbackNoticeKey = (tourId: number, kind: FeedbackNoticeKind, buyerId: number) => `feedback-${kind}:${tourId}:user-${buyerId}`;

/** Where the buyer gives feedback (the emails link to it). */
export const feedbackPath = (tourId: number) => `/api/v1/buyers/tours/${tourId}/feedback`;
