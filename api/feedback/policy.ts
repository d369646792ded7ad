import type { PropertyScope } from '../../db/repositories/properties.repository';
import type { TourScope } from '../../db/repositories/tours.repository';
import { AppError } from '../../lib/errors';
import type { Actor } from '../routing';

/**
 * A tour's feedback is given, read and changed by its buyer, and read by its realtor; a
 * listing's aggregate is its realtor's. Someone else's tour or listing is a 404 through the
 * scopes, the same answer as none at all.
 */
export const feedbackPolicy = {
  /** The tours whose feedback `actor` may give (as their buyer). */
  buyerTours(actor: Actor): TourScope {
    if (actor.user.role !== 'buyer') throw new AppError(403, 'FORBIDDEN', 'Only the buyer of a tour gives feedback on it');
    return { buyerId: actor.user.id };
  },

  /** The tours whose feedback `actor` may read (as their realtor). */
  realtorTours(actor: Actor): TourScope {
    if (actor.user.role !== 'realtor') throw new AppError(403, 'FORBIDDEN', 'Only the realtor of a tour reads its feedback');
    return { realtorId: actor.user.id };
  },

  /** The listings whose aggregated feedback `actor` may read: their own. */
  realtorListings(actor: Actor): PropertyScope {
    if (actor.user.role !== 'realtor') throw new AppError(403, 'FORBIDDEN', 'Only the realtor of a listing reads its feedback');
    return { realtorId: actor.user.id };
  },
};
