import type { TourScope } from '../../db/repositories/tours.repository';
import type { Actor } from '../routing';
import { tourPolicy } from '../tours/policy';

/**
 * A tour's share links are its parties': its realtor and its buyer each create, list and
 * revoke them (either may stop a share: the recording and transcript carry both voices).
 * Someone else's tour is a 404 through `scope`, the same answer as no such tour.
 */
export const shareLinkPolicy = {
  scope(actor: Actor): TourScope {
    return tourPolicy.scope(actor);
  },
};
