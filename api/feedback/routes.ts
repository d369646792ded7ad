import { sendData } from '../envelope';
import { actorOf, defineRoute, type AnyRouteSpec } from '../routing';
import { idParams } from '../schemas';
import { presentFeedback, presentFeedbackSummary } from './presenter';
import { EDIT_DAYS, editFeedbackBody, feedbackResource, feedbackSummaryResource, giveFeedbackBody, listingFeedbackQuery } from './schemas';
import type { EditFeedbackInput, FeedbackService, GiveFeedbackInput } from './service';

export function feedbackRoutes(feedback: FeedbackService): AnyRouteSpec[] {
  const buyerTag = 'Buyer: tours';
  const realtorTag = 'Realtor: tours';
  const path = '/api/v1/buyers/tours/:id/feedback';
  const noTour = { 404: { description: 'No such tour of yours' } };

  return [
    defineRoute({
      method: 'post',
      path,
      summary: `Give your feedback on a tour that has ended (once; then change it with PUT for ${EDIT_DAYS} days)`,
      tags: [buyerTag],
      params: idParams,
      body: giveFeedbackBody,
      responses: {
        201: { description: 'Your feedback; the realtor can read it, and no reminder to give it follows', data: feedbackResource },
        ...noTour,
        409: { description: 'You already gave feedback on this tour (change it with PUT), or the tour has not ended or was cancelled' },
      },
      async handler(ctx, input) {
        sendData(ctx, presentFeedback(await feedback.give(actorOf(input), input.params.id, input.body as GiveFeedbackInput)), 201);
      },
    }),
    defineRoute({
      method: 'put',
      path,
      summary: `Change your feedback on a tour (any of its fields), within ${EDIT_DAYS} days of giving it`,
      tags: [buyerTag],
      params: idParams,
      body: editFeedbackBody,
      responses: {
        200: { description: 'Your feedback as changed', data: feedbackResource },
        404: { description: 'No such tour of yours, or no feedback on it yet (give it with POST)' },
        409: { description: `More than ${EDIT_DAYS} days have passed since you gave it: it can no longer be changed` },
      },
      async handler(ctx, input) {
        sendData(ctx, presentFeedback(await feedback.edit(actorOf(input), input.params.id, input.body as EditFeedbackInput)));
      },
    }),
    defineRoute({
      method: 'get',
      path,
      summary: 'Your feedback on a tour',
      tags: [buyerTag],
      params: idParams,
      responses: { 200: { description: 'Your feedback', data: feedbackResource }, 404: { description: 'No such tour of yours, or no feedback on it yet' } },
      async handler(ctx, input) {
        sendData(ctx, presentFeedback(await feedback.getOwn(actorOf(input), input.params.id)));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/realtors/tours/:id/feedback',
      summary: "The buyer's feedback on one of your tours",
      tags: [realtorTag],
      params: idParams,
      responses: { 200: { description: "The buyer's feedback", data: feedbackResource }, 404: { description: 'No such tour of yours, or no feedback on it yet' } },
      async handler(ctx, input) {
        sendData(ctx, presentFeedback(await feedback.getForRealtor(actorOf(input), input.params.id)));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/realtors/properties/:id/feedback',
      summary: "Buyers' feedback on your listing's tours: count, averages, distribution and the latest comments",
      tags: ['Realtor: properties'],
      params: idParams,
      query: listingFeedbackQuery,
      responses: { 200: { description: 'The aggregate (count 0 and null averages before any feedback)', data: feedbackSummaryResource }, 404: { description: 'No such listing of yours' } },
      async handler(ctx, input) {
        sendData(ctx, presentFeedbackSummary(input.params.id, await feedback.listingSummary(actorOf(input), input.params.id, input.query.comment_limit)));
      },
    }),
  ];
}
