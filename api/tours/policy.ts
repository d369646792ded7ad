import type { QueryBuilder } from 'objection';
import type { Tour } from '../../db/models';
import { AppError } from '../../lib/errors';
import type { Actor } from '../routing';

/** A tour is its realtor's and its buyer's (and visible to admins); anyone else gets 404. */
export const tourPolicy = {
  scope(actor: Actor, query: QueryBuilder<Tour>): QueryBuilder<Tour> {
    switch (actor.user.role) {
      case 'admin':
        return query;
      case 'realtor':
        return query.where('tours.realtor_id', actor.user.id);
      default:
        return query.where('tours.buyer_id', actor.user.id);
    }
  },

  /** Starting, ending, recording and uploading are the realtor's. */
  assertIsRealtorOf(actor: Actor, tour: Tour): void {
    if (actor.user.role !== 'realtor' || tour.realtor_id !== actor.user.id) throw new AppError(403, 'FORBIDDEN', 'Only the tour\'s realtor may do this');
  },

  assertIsAdmin(actor: Actor): void {
    if (actor.user.role !== 'admin') throw new AppError(403, 'FORBIDDEN', 'Only admins may do this');
  },
};
