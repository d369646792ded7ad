import type { QueryBuilder } from 'objection';
import type { Property } from '../../db/models';
import { AppError } from '../../lib/errors';
import type { Actor } from '../routing';
import { AVAILABLE_STATUSES } from './schemas';

/**
 * Realtors see and change their own listings; buyers see available listings only;
 * admins see everything. Lookups go through `scope`, so anything outside it is a 404.
 */
export const propertyPolicy = {
  scope(actor: Actor, query: QueryBuilder<Property>): QueryBuilder<Property> {
    query.whereNull('properties.deleted_at');
    switch (actor.user.role) {
      case 'admin':
        return query;
      case 'realtor':
        return query.where('properties.realtor_id', actor.user.id);
      default:
        return query.whereIn('properties.status', AVAILABLE_STATUSES);
    }
  },

  assertCanCreate(actor: Actor): void {
    if (actor.user.role !== 'realtor') throw new AppError(403, 'FORBIDDEN', 'Only realtors create listings');
  },

  /** Writes: the owning realtor, or an admin. Visibility was already settled by scope. */
  assertCanChange(actor: Actor, property: Property): void {
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
