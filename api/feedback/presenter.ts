import { FEEDBACK_EDIT_WINDOW_MS } from '../../contracts/feedback';
import type { FeedbackRecord, FeedbackSummary } from '../../db/repositories/feedback.repository';
import { resource } from '../envelope';

export function presentFeedback(row: FeedbackRecord) {
  return resource('tour_feedback', row.id, {
    tour_id: row.tour_id,
    property_id: row.property_id,
    buyer_id: row.buyer_id,
    realtor_id: row.realtor_id,
    rating: row.rating,
    interest_level: row.interest_level,
    price_opinion: row.price_opinion,
    comments: row.comments,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    editable_until: new Date(row.created_at.getTime() + FEEDBACK_EDIT_WINDOW_MS).toISOString(),
  });
}

export function presentFeedbackSummary(propertyId: number, s: FeedbackSummary) {
  return resource('property_feedback_summary', propertyId, {
    property_id: propertyId,
    count: s.count,
    averages: s.averages,
    distribution: s.distribution,
    recent_comments: s.recent_comments.map((c) => ({
      feedback_id: c.id,
      tour_id: c.tour_id,
      rating: c.rating,
      interest_level: c.interest_level,
      price_opinion: c.price_opinion,
      comments: c.comments ?? '',
      created_at: c.created_at.toISOString(),
    })),
  });
}
