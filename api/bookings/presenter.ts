import type { Booking, Call, Tour } from '../../db/models';
import { resource } from '../envelope';

export function presentBooking(b: Booking) {
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
      property: { data: { id: String(b.property_id), type: 'property', attributes: { address: b.property?.address ?? '' } } },
      tour: { data: b.tour ? { id: String(b.tour.id), type: 'tour' } : null },
    },
  );
}

export function presentTour(t: Tour) {
  return resource('tour', t.id, {
    booking_id: t.booking_id,
    property_id: t.property_id,
    realtor_id: t.realtor_id,
    buyer_id: t.buyer_id,
    status: t.status,
    scheduled_at: t.scheduled_at.toISOString(),
    ends_at: t.ends_at.toISOString(),
    duration_minutes: t.duration_minutes,
  });
}

export function presentCall(c: Call) {
  return resource('call', c.id, { tour_id: c.tour_id, status: c.status, created_at: c.created_at.toISOString() });
}
