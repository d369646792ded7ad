import type { BookingScope } from '../../db/repositories/bookings.repository';
import { AppError } from '../../lib/errors';
import type { Actor } from '../routing';

/**
 * Buyers see their own bookings; realtors the bookings made with them (a booking's realtor
 * is its listing's realtor when it was requested); admins all. Everything else is a 404
 * through `scope`.
 */
export const bookingPolicy = {
  scope(actor: Actor): BookingScope {
    switch (actor.user.role) {
      case 'admin':
        return {};
      case 'realtor':
        return { realtorId: actor.user.id };
      default:
        return { buyerId: actor.user.id };
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
