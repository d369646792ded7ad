import { bookingCalendarUid, type BookingNotice, type BookingNoticeFacts } from '../../../contracts/bookings';
import { buildIcs } from '../ics';

/**
 * What each booking notice says and to whom, as pure functions of the booking's facts: the
 * activity loads the facts, composes here and sends through the ledger. The templates named
 * are templates/email/<template>.*.
 */

export interface Person {
  id: number;
  name: string;
  email: string;
}

export interface Attachment {
  filename: string;
  contentType: string;
  content: Buffer;
}

export interface ComposedEmail {
  template: string;
  to: Person;
  vars: Record<string, string | number>;
  attachments?: Attachment[];
}

/** How far ahead the reminder goes out, as the email words it. */
const REMINDER_MINUTES = 15;

/** "Tue, 01 Dec 2026 14:30 UTC": whole minutes, no seconds. */
export function when(d: Date): string {
  return d.toUTCString().replace(/:00 GMT$/, ' UTC');
}

export function addressOf(f: Pick<BookingNoticeFacts, 'property'>): string {
  return f.property.city ? `${f.property.address}, ${f.property.city}` : f.property.address;
}

/** The booking's calendar event; a cancellation goes one SEQUENCE above the last invite. */
export function bookingInvite(f: BookingNoticeFacts, method: 'REQUEST' | 'CANCEL', stamp: Date): Attachment {
  const address = addressOf(f);
  const { booking: b, buyer, realtor } = f;
  return {
    filename: method === 'CANCEL' ? 'cancelled-tour.ics' : 'tour.ics',
    contentType: `text/calendar; method=${method}; charset=UTF-8`,
    content: Buffer.from(
      buildIcs({
        uid: bookingCalendarUid(b.id),
        // Calendars replace an event when the same UID comes with a higher SEQUENCE.
        sequence: b.ics_sequence + (method === 'CANCEL' ? 1 : 0),
        method,
        status: method === 'CANCEL' ? 'CANCELLED' : 'CONFIRMED',
        start: b.scheduled_at,
        end: b.ends_at,
        stamp,
        summary: `Property tour: ${address}`,
        description: `Video tour of ${address} with ${realtor.name} and ${buyer.name}.`,
        location: address,
        organizer: { name: realtor.name, email: realtor.email },
        attendees: [{ name: buyer.name, email: buyer.email }],
      }),
    ),
  };
}

/**
 * The emails one notice sends. A command's notice goes to the other side of whoever gave
 * it (both sides when the system acted); `stamp` is the invites' DTSTAMP.
 */
export function composeBookingNotice(f: BookingNoticeFacts, n: Pick<BookingNotice, 'kind' | 'actorUserId' | 'previousScheduledAt'>, stamp: Date): ComposedEmail[] {
  const { booking: b, buyer, realtor } = f;
  const both = [buyer, realtor];
  const otherSide = n.actorUserId === buyer.id ? [realtor] : n.actorUserId === realtor.id ? [buyer] : both;
  const other = (r: Person) => (r.id === buyer.id ? realtor : buyer);
  const actorName = n.actorUserId === buyer.id ? buyer.name : n.actorUserId === realtor.id ? realtor.name : 'RealtyForYou';
  const base = { property_address: addressOf(f), when: when(b.scheduled_at) };
  const invite = (method: 'REQUEST' | 'CANCEL') => [bookingInvite(f, method, stamp)];

  switch (n.kind) {
    case 'request':
      return [{ to: realtor, template: 'booking-request', vars: { ...base, recipient_name: realtor.name, buyer_name: buyer.name, duration_minutes: b.duration_minutes, notes: b.notes ?? '(none)' } }];
    case 'confirmed':
      return both.map((r) => ({
        to: r,
        template: 'booking-confirmed',
        vars: { ...base, recipient_name: r.name, other_party_name: other(r).name, duration_minutes: b.duration_minutes },
        attachments: invite('REQUEST'),
      }));
    case 'reminder':
      return both.map((r) => ({ to: r, template: 'booking-reminder', vars: { ...base, recipient_name: r.name, other_party_name: other(r).name, minutes_before: REMINDER_MINUTES } }));
    case 'rescheduled':
      return otherSide.map((r) => ({
        to: r,
        template: 'booking-rescheduled',
        vars: { ...base, recipient_name: r.name, actor_name: actorName, old_when: n.previousScheduledAt ? when(new Date(n.previousScheduledAt)) : '(unknown)' },
        // A request not yet confirmed is not in anyone's calendar.
        attachments: b.status === 'confirmed' ? invite('REQUEST') : undefined,
      }));
    case 'declined':
      return [{ to: buyer, template: 'booking-declined', vars: { ...base, recipient_name: buyer.name, realtor_name: realtor.name, reason: b.decline_reason ?? 'No reason was given' } }];
    case 'cancelled':
      return otherSide.map((r) => ({
        to: r,
        template: 'booking-cancelled',
        vars: { ...base, recipient_name: r.name, actor_name: actorName, reason: b.cancellation_reason ?? 'No reason was given' },
        // Only a confirmed booking (one with a tour) ever sent an invite to withdraw.
        attachments: f.tourId ? invite('CANCEL') : undefined,
      }));
    case 'expired':
      return both.map((r) => ({ to: r, template: 'booking-expired', vars: { ...base, recipient_name: r.name } }));
  }
}
