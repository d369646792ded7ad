import { Context } from '@temporalio/activity';
import type { Knex } from 'knex';
import { BOOKING_STATUS } from '../contracts/bookings';
import { FEEDBACK_EDIT_WINDOW_MS, feedbackNoticeKey, feedbackPath, startFeedbackWorkflow, type FeedbackNoticeKind, type FeedbackNoticeOutcome } from '../contracts/feedback';
import { TOUR_CANCELLABLE, TOUR_STATUS } from '../contracts/tours';
import type { Notifier } from '../adapters/email/notifier';
import { feedbackRepository } from '../db/repositories/feedback.repository';
import type { Logger } from '../lib/logger';
import { permanentRefusal } from './email-refusal';

/**
 * Buyer feedback, worker side: starting a tour's FeedbackWorkflow when its call has ended
 * (the hook below, called from the tour_end notice), and the workflow's one activity, the
 * request and reminder emails. Safe to retry: the workflow start is keyed by the tour, and
 * each email goes through the notifications ledger keyed by tour, kind and buyer.
 */

/** Email template names (templates/email/<name>.*). */
const TEMPLATES: Record<FeedbackNoticeKind, string> = { request: 'feedback-request', reminder: 'feedback-reminder' };

/**
 * Starts the tour's FeedbackWorkflow through the running activity's worker client, on the
 * worker's own task queue; a workflow already started (or finished) for the tour is kept.
 */
export async function startTourFeedback(tourId: number): Promise<void> {
  const ctx = Context.current();
  await startFeedbackWorkflow(ctx.client, ctx.info.taskQueue, tourId);
}

export interface FeedbackActivityDeps {
  knex: Knex;
  notifier: Notifier;
  logger: Logger;
  /** Where clients reach the API (the link in the emails). */
  publicBaseUrl: string;
}

export function createFeedbackActivities(deps: FeedbackActivityDeps) {
  return {
    /**
     * Asks the tour's buyer for feedback (or reminds them), unless they have given it, the
     * tour or its booking was cancelled, or the tour has not ended. A provider's permanent
     * refusal is recorded in the ledger and reported, so no reminder follows it.
     */
    async sendFeedbackNotice(tourId: number, kind: FeedbackNoticeKind): Promise<FeedbackNoticeOutcome> {
      const f = await feedbackRepository(deps.knex).noticeFacts(tourId);
      if (!f) return 'gone';
      if (f.answered) return 'answered';
      if (f.tourStatus === TOUR_STATUS.cancelled || f.bookingStatus === BOOKING_STATUS.cancelled) return 'cancelled';
      if (TOUR_CANCELLABLE.includes(f.tourStatus)) return 'not_ended';
      const refused = await permanentRefusal(
        deps.notifier.send({
          idempotencyKey: feedbackNoticeKey(tourId, kind, f.buyer.id),
          template: TEMPLATES[kind],
          to: f.buyer.email,
          recipientUserId: f.buyer.id,
          vars: {
            recipient_name: f.buyer.name,
            realtor_name: f.realtor.name,
            property_address: f.city ? `${f.address}, ${f.city}` : f.address,
            feedback_url: `${deps.publicBaseUrl}${feedbackPath(tourId)}`,
            edit_days: Math.round(FEEDBACK_EDIT_WINDOW_MS / 86_400_000),
          },
        }),
      );
      if (!refused) return 'sent';
      deps.logger.warn({ err: refused, tourId, kind }, 'feedback email refused by the provider; recorded as failed');
      return 'refused';
    },
  };
}
