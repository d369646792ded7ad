import { condition, patched, proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { FEEDBACK_REMINDER_DELAY_MS, feedbackGivenSignal, feedbackStateQuery, type FeedbackWorkflowInput, type FeedbackWorkflowState } from '../contracts/feedback';
import { asLocal, EMAIL_OPTIONS } from './activity-options';

/**
 * One per tour, started once its call has ended: asks the buyer what they thought of the
 * showing and, if nothing came within a day, reminds them once. The day is a durable timer;
 * the API's `feedbackGiven` signal ends the wait early, and the reminder activity looks
 * again before sending (feedback given, or the tour or its booking cancelled: no reminder),
 * so a lost signal costs nothing. Each email goes out at most once (the notifications ledger).
 */

const notices = proxyActivities<Activities>(EMAIL_OPTIONS);

/** The same emails as local activities: nothing waits on this workflow's tasks. */
const localNotices = proxyLocalActivities<Activities>(asLocal(EMAIL_OPTIONS));

/**
 * Workflows started with it send each email as a local activity, in the workflow task that
 * asks for it: the request and the day's timer are one workflow task instead of two and an
 * activity's round trip through the server. Histories recorded before it (its emails
 * activities) replay as they ran.
 */
export const FEEDBACK_NOTICES_LOCAL_PATCH = 'feedback-notices-local';

export async function feedbackWorkflow(input: FeedbackWorkflowInput): Promise<FeedbackWorkflowState> {
  const state: FeedbackWorkflowState = { tourId: input.tourId, requested: false, reminded: false, answered: false };
  setHandler(feedbackStateQuery, () => state);
  setHandler(feedbackGivenSignal, () => {
    state.answered = true;
  });

  if (state.answered) return state;
  const mail = patched(FEEDBACK_NOTICES_LOCAL_PATCH) ? localNotices : notices;
  const asked = await mail.sendFeedbackNotice(input.tourId, 'request');
  if (asked === 'answered') state.answered = true;
  if (asked !== 'sent') return state;
  state.requested = true;

  if (await condition(() => state.answered, input.reminderDelayMs ?? FEEDBACK_REMINDER_DELAY_MS)) return state;
  const reminded = await mail.sendFeedbackNotice(input.tourId, 'reminder');
  if (reminded === 'answered') state.answered = true;
  state.reminded = reminded === 'sent';
  return state;
}
