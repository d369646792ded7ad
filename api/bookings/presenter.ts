import type { BookingView } from '../../db/repositories/bookings.repository';
import type { CallRecord, TourRecord } from '../../db/repositories/tours.repository';
import { resource } from '../envelope';
import { presentCall, presentTour } from '../tours/presenter';

export function presentBooking(b: BookingView) {
  return resource(
    'booking',
    b.id,
    {
      property_id: b.property_id,
      buyer_id: b.buyer_id,
      realtor_id: b.realtor_id,
      scheduled_at: b.scheduled_at.toISOString(),
      ends_at: b.ends_at.toISOString(),
      duration_minutes: b.duration_minutes,
      status: b.status,
      notes: b.notes,
      decline_reason: b.decline_reason,
      cancellation_reason: b.cancellation_reason,
      created_at: b.created_at.toISOString(),
      updated_at: b.updated_at.toISOString(),
    },
    {
      property: { data: { id: String(b.property_id), type: 'property', attributes: { address: b.property_address } } },
      tour: { data: b.tour_id ? { id: String(b.tour_id), type: 'tour' } : null },
    },
  );
}


/** A confirmation's answer: the booking with the tour and call it made (their processing steps are not part of it). */
export function presentConfirmation(c: { booking: BookingView; tour: TourRecord; call: CallRecord }) {
  return {
    booking: presentBooking(c.booking),
    tour: presentTour(c.tour, { property_address: c.booking.property_address, call_id: c.call.id, steps: {} }),
    call: presentCall(c.call),
  };
}
