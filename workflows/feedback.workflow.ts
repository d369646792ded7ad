import { condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { FEEDBACK_REMINDER_DELAY_MS, feedbackGivenSignal, feedbackStateQuery, type FeedbackWorkflowInput, type FeedbackWorkflowState } from '../contracts/feedback';
import { EMAIL_OPTIONS } from './activity-options';

/**
 * One per tour, started once its call has ended: asks the buyer what they thought of the
 * showing and, if nothing came within a day, reminds them once. The day is a durable timer;
 * the API's `feedbackGiven` signal ends the wait early, and the reminder activity looks
 * again before sending (feedback given, or the tour or its booking cancelled: no reminder),
 * so a lost signal costs nothing. Each email goes out at most once (the notifications ledger).
 */

const notices = proxyActivities<Activities>(EMAIL_OPTIONS);

export async function feedbackWorkflow(input: FeedbackWorkflowInput): Promise<FeedbackWorkflowState> {
  const state: FeedbackWorkflowState = { tourId: input.tourId, requested: false, reminded: false, answered: false };
  setHandler(feedbackStateQuery, () => state);
  setHandler(feedbackGivenSignal, () => {
    state.answered = true;
  });

  if (state.answered) return state;
  const asked = await notices.sendFeedbackNotice(input.tourId, 'request');
  if (asked === 'answered') state.answered = true;
  if (asked !== 'sent') return state;
  state.requested = true;

  if (await condition(() => state.answered, input.reminderDelayMs ?? FEEDBACK_REMINDER_DELAY_MS)) return state;
  const reminded = await notices.sendFeedbackNotice(input.tourId, 'reminder');
  if (reminded === 'answered') state.answered = true;
  state.reminded = reminded === 'sent';
  return state;
}
