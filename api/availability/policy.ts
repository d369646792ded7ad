import { AVAILABLE_STATUSES, type PropertyScope } from '../../db/repositories/properties.repository';
import { AppError } from '../../lib/errors';
import type { Actor } from '../routing';

/**
 * A realtor reads and edits their own hours and exceptions and those of their own
 * listings; buyers read the free slots of listings open for tours. Listings outside the
 * scope are a 404 (no existence leak).
 */
export const availabilityPolicy = {
  /** Hours and exceptions are the realtor's own. */
  assertRealtor(actor: Actor): void {
    if (actor.user.role !== 'realtor') throw new AppError(403, 'FORBIDDEN', 'Only realtors keep availability');
  },

  /** The listings whose availability `actor` may edit: their own. */
  editableListings(actor: Actor): PropertyScope {
    return { realtorId: actor.user.id };
  },

  /** The listings whose free slots anyone may read: those open for tours. */
  bookableListings(): PropertyScope {
    return { statuses: AVAILABLE_STATUSES };
  },
};
