import type { Knex } from 'knex';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { FEEDBACK_EDIT_WINDOW_MS, feedbackGivenSignal, feedbackWorkflowId } from '../../contracts/feedback';
import { TOUR_CANCELLABLE, TOUR_STATUS } from '../../contracts/tours';
import { WEBHOOK_EVENT, domainEventKeys } from '../../contracts/webhooks';
import { changedFields, recordAudit } from '../../db/audit';
import { recordDomainEvent } from '../../db/repositories/domain-events.repository';
import { feedbackRepository, type FeedbackAnswers, type FeedbackRecord, type FeedbackSummary } from '../../db/repositories/feedback.repository';
import { propertiesRepository } from '../../db/repositories/properties.repository';
import { toursRepository, type TourScope, type TourView } from '../../db/repositories/tours.repository';
import { ConflictError, NotFoundError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import type { Actor } from '../routing';
import { feedbackPolicy } from './policy';

export interface FeedbackServiceDeps {
  knex: Knex;
  temporal: Client;
  logger: Logger;
  now?: () => number;
}

export interface GiveFeedbackInput {
  rating: number;
  interest_level: FeedbackAnswers['interest_level'];
  price_opinion: FeedbackAnswers['price_opinion'];
  comments?: string | null;
}

export type EditFeedbackInput = Partial<GiveFeedbackInput>;

/** Empty comments are no comments. */
const commentsOf = (c: string | null | undefined): string | null => (c ? c : null);

/**
 * Buyer feedback after a tour: given once by the tour's buyer once the tour has ended, then
 * editable for a week (PUT); read by the tour's realtor, and aggregated per listing. Giving
 * it records the `feedback.received` domain event (webhooks) in the same transaction, and
 * tells the tour's FeedbackWorkflow, so no reminder follows.
 */
export class FeedbackService {
  private readonly now: () => number;

  constructor(private readonly deps: FeedbackServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** The tour within `scope`, or the same 404 as for no such tour. */
  private async tourIn(db: Knex | Knex.Transaction, scope: TourScope, tourId: number): Promise<TourView> {
    const tour = await toursRepository(db).findView(scope, tourId);
    if (!tour) throw new NotFoundError('Tour');
    return tour;
  }

  /** The feedback given on `tourId`, or a 404. */
  private async feedbackOn(tourId: number): Promise<FeedbackRecord> {
    const row = await feedbackRepository(this.deps.knex).findByTour(tourId);
    if (!row) throw new NotFoundError('Feedback');
    return row;
  }

  async give(actor: Actor, tourId: number, input: GiveFeedbackInput): Promise<FeedbackRecord> {
    const saved = await this.deps.knex.transaction(async (trx) => {
      const tour = await this.tourIn(trx, feedbackPolicy.buyerTours(actor), tourId);
      if (tour.status === TOUR_STATUS.cancelled) throw new ConflictError('This tour was cancelled: there is nothing to give feedback on');
      if (TOUR_CANCELLABLE.includes(tour.status)) throw new ConflictError('Feedback opens when the tour has ended');
      const repo = feedbackRepository(trx);
      const answers = { rating: input.rating, interest_level: input.interest_level, price_opinion: input.price_opinion, comments: commentsOf(input.comments) };
      const row = await repo.insert({ tour_id: tour.id, buyer_id: tour.buyer_id, property_id: tour.property_id, realtor_id: tour.realtor_id, ...answers });
      if (!row) {
        const existing = await repo.findByTour(tour.id);
        throw new ConflictError(this.alreadyGiven(existing!));
      }
      await recordAudit(trx, {
        actorId: actor.user.id,
        action: 'tour_feedback_given',
        resourceType: 'tour_feedback',
        resourceId: row.id,
        details: { tour_id: tour.id, property_id: tour.property_id, ...answers },
        requestId: actor.requestId,
      });
      await recordDomainEvent(trx, {
        type: WEBHOOK_EVENT.feedbackReceived,
        naturalKey: domainEventKeys.feedback(row.id),
        realtorId: tour.realtor_id,
        propertyId: tour.property_id,
        occurredAt: row.created_at,
        data: {
          feedback: { id: row.id, ...answers, created_at: row.created_at.toISOString() },
          tour: { id: tour.id, booking_id: tour.booking_id, scheduled_at: tour.scheduled_at.toISOString(), ended_at: tour.ended_at?.toISOString() ?? null },
          property: { id: tour.property_id, address: tour.property_address },
          buyer: { id: actor.user.id, name: actor.user.full_name },
        },
      });
      return row;
    });
    await this.tellWorkflow(tourId);
    return saved;
  }

  private alreadyGiven(row: FeedbackRecord): string {
    const until = row.created_at.getTime() + FEEDBACK_EDIT_WINDOW_MS;
    return until > this.now()
      ? `You have already given feedback on this tour; change it with PUT until ${new Date(until).toISOString()}`
      : 'You have already given feedback on this tour';
  }

  /** Changes the buyer's feedback while its window is open. */
  async edit(actor: Actor, tourId: number, input: EditFeedbackInput): Promise<FeedbackRecord> {
    return this.deps.knex.transaction(async (trx) => {
      const tour = await this.tourIn(trx, feedbackPolicy.buyerTours(actor), tourId);
      const repo = feedbackRepository(trx);
      // Locked by the update below; read first to judge the window and the changes.
      const before = await repo.findByTour(tour.id);
      if (!before) throw new NotFoundError('Feedback');
      const until = before.created_at.getTime() + FEEDBACK_EDIT_WINDOW_MS;
      if (this.now() > until) {
        throw new ConflictError(`This feedback can no longer be changed: it was editable for ${FEEDBACK_EDIT_WINDOW_MS / 86_400_000} days, until ${new Date(until).toISOString()}`);
      }
      const patch: Partial<FeedbackAnswers> = {};
      if (input.rating !== undefined) patch.rating = input.rating;
      if (input.interest_level !== undefined) patch.interest_level = input.interest_level;
      if (input.price_opinion !== undefined) patch.price_opinion = input.price_opinion;
      if (input.comments !== undefined) patch.comments = commentsOf(input.comments);
      const changes = changedFields(before, patch);
      if (!Object.keys(changes).length) return before;
      const saved = await repo.update(tour.id, patch);
      await recordAudit(trx, {
        actorId: actor.user.id,
        action: 'tour_feedback_changed',
        resourceType: 'tour_feedback',
        resourceId: saved.id,
        details: { tour_id: tour.id, changes },
        requestId: actor.requestId,
      });
      return saved;
    });
  }

  /** The buyer's own feedback on their tour. */
  async getOwn(actor: Actor, tourId: number): Promise<FeedbackRecord> {
    const tour = await this.tourIn(this.deps.knex, feedbackPolicy.buyerTours(actor), tourId);
    return this.feedbackOn(tour.id);
  }

  /** The feedback on one of the realtor's tours. */
  async getForRealtor(actor: Actor, tourId: number): Promise<FeedbackRecord> {
    const tour = await this.tourIn(this.deps.knex, feedbackPolicy.realtorTours(actor), tourId);
    return this.feedbackOn(tour.id);
  }

  /** Count, averages, spread and latest comments of the feedback on one of the realtor's listings. */
  async listingSummary(actor: Actor, propertyId: number, commentLimit: number): Promise<FeedbackSummary> {
    const property = await propertiesRepository(this.deps.knex).find(feedbackPolicy.realtorListings(actor), propertyId);
    if (!property) throw new NotFoundError('Property');
    return feedbackRepository(this.deps.knex).summary(property.id, commentLimit);
  }

  /**
   * Tells the tour's FeedbackWorkflow the buyer answered, so it sends no reminder. Best
   * effort: the feedback is saved, and the reminder activity looks for it before sending.
   */
  private async tellWorkflow(tourId: number): Promise<void> {
    try {
      await this.deps.temporal.workflow.getHandle(feedbackWorkflowId(tourId)).signal(feedbackGivenSignal);
    } catch (err) {
      // Finished already (reminded, or never asked): nothing to tell.
      if (err instanceof WorkflowNotFoundError) return;
      this.deps.logger.warn({ err, tourId }, 'feedback workflow not told of the answer; its reminder checks for it');
    }
  }
}
