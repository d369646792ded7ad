import { AVAILABLE_STATUSES, type PropertyRecord, type PropertyScope } from '../../db/repositories/properties.repository';
import { AppError } from '../../lib/errors';
import type { Actor } from '../routing';

/**
 * Realtors see and change their own listings; buyers see available listings only;
 * admins see everything. Lookups go through `scope`, so anything outside it is a 404.
 */
export const propertyPolicy = {
  scope(actor: Actor): PropertyScope {
    switch (actor.user.role) {
      case 'admin':
        return {};
      case 'realtor':
        return { realtorId: actor.user.id };
      default:
        return { statuses: AVAILABLE_STATUSES };
    }
  },

  assertCanCreate(actor: Actor): void {
    if (actor.user.role !== 'realtor') throw new AppError(403, 'FORBIDDEN', 'Only realtors create listings');
  },

  /** Writes: the owning realtor, or an admin. Visibility was already settled by scope. */
  assertCanChange(actor: Actor, property: Pick<PropertyRecord, 'realtor_id'>): void {
    if (actor.user.role === 'admin') return;
    if (actor.user.role === 'realtor' && property.realtor_id === actor.user.id) return;
    throw new AppError(403, 'FORBIDDEN', 'You may not change this listing');
  },

  /** Moving a listing to another realtor is an admin's call. */
  assertCanReassign(actor: Actor): void {
    if (actor.user.role !== 'admin') throw new AppError(403, 'FORBIDDEN', 'Only admins reassign listings');
  },

  /** Buyers see finished images only; the owner and admins also see pending and failed ones. */
  showsUnfinishedImages(actor: Actor): boolean {
    return actor.user.role !== 'buyer';
  },
};
