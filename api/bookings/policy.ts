import type { QueryBuilder } from 'objection';
import type { Booking } from '../../db/models';
import { AppError } from '../../lib/errors';
import type { Actor } from '../routing';

/**
 * Buyers see their own bookings; realtors the bookings of the listings they hold now;
 * admins all. Everything else is a 404 through `scope`.
 */
export const bookingPolicy = {
  scope(actor: Actor, query: QueryBuilder<Booking>): QueryBuilder<Booking> {
    switch (actor.user.role) {
      case 'admin':
        return query;
      case 'realtor':
        return query.whereIn('bookings.property_id', (sub) => sub.select('id').from('properties').where('realtor_id', actor.user.id));
      default:
        return query.where('bookings.buyer_id', actor.user.id);
    }
  },

  assertCanRequest(actor: Actor): void {
    if (actor.user.role !== 'buyer') throw new AppError(403, 'FORBIDDEN', 'Only buyers request tours');
  },

  /** Confirming and declining are the listing realtor's answers to a request. */
  assertCanAnswer(actor: Actor): void {
    if (actor.user.role !== 'realtor') throw new AppError(403, 'FORBIDDEN', 'Only the listing realtor answers a request');
  },

  /** Notes are the buyer's own words (admins may correct them). */
  assertCanEditNotes(actor: Actor): void {
    if (actor.user.role === 'realtor') throw new AppError(400, 'VALIDATION_ERROR', 'Realtors cannot change the buyer\'s notes', 'notes');
  },
};
