import type { TourRecord, TourScope } from '../../db/repositories/tours.repository';
import { AppError } from '../../lib/errors';
import type { Actor } from '../routing';

/** A tour is its realtor's and its buyer's (and visible to admins); anyone else gets 404 through `scope`. */
export const tourPolicy = {
  scope(actor: Actor): TourScope {
    switch (actor.user.role) {
      case 'admin':
        return {};
      case 'realtor':
        return { realtorId: actor.user.id };
      default:
        return { buyerId: actor.user.id };
    }
  },

  /** Starting, ending, recording and uploading are the realtor's. */
  assertIsRealtorOf(actor: Actor, tour: Pick<TourRecord, 'realtor_id'>): void {
    if (actor.user.role !== 'realtor' || tour.realtor_id !== actor.user.id) throw new AppError(403, 'FORBIDDEN', 'Only the tour\'s realtor may do this');
  },

  assertIsAdmin(actor: Actor): void {
    if (actor.user.role !== 'admin') throw new AppError(403, 'FORBIDDEN', 'Only admins may do this');
  },
};
