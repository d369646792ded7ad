import { BOOKING_STATUS, type BookingNoticeFacts } from '../../contracts/bookings';
import { composeBookingNotice, when } from '../../adapters/email/compose/booking-notices';

/** The booking notices as pure functions of the facts: who gets what, with which invite. */

const STAMP = new Date('2031-01-01T00:00:00Z');
const buyer = { id: 7, name: 'Bea Buyer', email: 'bea@example.com' };
const realtor = { id: 8, name: 'Rita Realtor', email: 'rita@example.com' };

function facts(over: Partial<BookingNoticeFacts['booking']> = {}, tourId: number | null = null): BookingNoticeFacts {
  return {
    booking: {
      id: 42,
      status: BOOKING_STATUS.pending,
      scheduled_at: new Date('2031-01-06T14:30:00Z'),
      ends_at: new Date('2031-01-06T15:00:00Z'),
      duration_minutes: 30,
      notes: null,
      ics_sequence: 2,
      decline_reason: null,
      cancellation_reason: null,
      ...over,
    },
    property: { address: '1 Elm Street', city: 'Springfield' },
    buyer,
    realtor,
    tourId,
  };
}

const summary = (emails: ReturnType<typeof composeBookingNotice>) => emails.map((e) => ({ to: e.to.id, template: e.template, invites: (e.attachments ?? []).map((a) => a.filename) }));
const ics = (e: ReturnType<typeof composeBookingNotice>[number]) => e.attachments![0]!.content.toString('utf8');

describe('booking notice composition', () => {
  it('when a request arrives, then only the realtor hears of it, with the notes or "(none)"', () => {
    const [email, ...rest] = composeBookingNotice(facts(), { kind: 'request' }, STAMP);
    expect(rest).toEqual([]);
    expect(email).toEqual({
      to: realtor,
      template: 'booking-request',
      vars: { property_address: '1 Elm Street, Springfield', when: 'Mon, 06 Jan 2031 14:30 UTC', recipient_name: 'Rita Realtor', buyer_name: 'Bea Buyer', duration_minutes: 30, notes: '(none)' },
    });
  });

  it('when a booking is confirmed, then both sides get an invite at the booking\'s sequence', () => {
    const emails = composeBookingNotice(facts({ status: BOOKING_STATUS.confirmed }, 5), { kind: 'confirmed', actorUserId: realtor.id }, STAMP);
    expect(summary(emails)).toEqual([
      { to: buyer.id, template: 'booking-confirmed', invites: ['tour.ics'] },
      { to: realtor.id, template: 'booking-confirmed', invites: ['tour.ics'] },
    ]);
    expect(emails[0]!.vars.other_party_name).toBe('Rita Realtor');
    expect(ics(emails[0]!)).toMatch(/UID:booking-42@realtyforyou[\s\S]*SEQUENCE:2/);
    expect(ics(emails[0]!)).toContain('METHOD:REQUEST');
  });

  it('when one side cancels a confirmed booking, then the other side gets a CANCEL one sequence up, with the reason', () => {
    const emails = composeBookingNotice(facts({ status: BOOKING_STATUS.cancelled, cancellation_reason: 'Sold' }, 5), { kind: 'cancelled', actorUserId: buyer.id }, STAMP);
    expect(summary(emails)).toEqual([{ to: realtor.id, template: 'booking-cancelled', invites: ['cancelled-tour.ics'] }]);
    expect(emails[0]!.vars).toMatchObject({ actor_name: 'Bea Buyer', reason: 'Sold' });
    expect(ics(emails[0]!)).toMatch(/METHOD:CANCEL[\s\S]*SEQUENCE:3/);
  });

  it('when the system cancels a request (no tour), then both sides hear it from RealtyForYou, without an invite', () => {
    const emails = composeBookingNotice(facts({ status: BOOKING_STATUS.cancelled }), { kind: 'cancelled' }, STAMP);
    expect(summary(emails)).toEqual([
      { to: buyer.id, template: 'booking-cancelled', invites: [] },
      { to: realtor.id, template: 'booking-cancelled', invites: [] },
    ]);
    expect(emails[0]!.vars).toMatchObject({ actor_name: 'RealtyForYou', reason: 'No reason was given' });
  });

  it('when a request is rescheduled, then the other side is told the old time and gets no invite until it is confirmed', () => {
    const previousScheduledAt = '2031-01-05T10:00:00Z';
    const pending = composeBookingNotice(facts(), { kind: 'rescheduled', actorUserId: realtor.id, previousScheduledAt }, STAMP);
    expect(summary(pending)).toEqual([{ to: buyer.id, template: 'booking-rescheduled', invites: [] }]);
    expect(pending[0]!.vars.old_when).toBe(when(new Date(previousScheduledAt)));
    const confirmed = composeBookingNotice(facts({ status: BOOKING_STATUS.confirmed }, 5), { kind: 'rescheduled', actorUserId: realtor.id }, STAMP);
    expect(summary(confirmed)).toEqual([{ to: buyer.id, template: 'booking-rescheduled', invites: ['tour.ics'] }]);
    expect(confirmed[0]!.vars.old_when).toBe('(unknown)');
  });

  it('when a request is declined, expired or reminded of, then the right people get the right template', () => {
    expect(summary(composeBookingNotice(facts({ status: BOOKING_STATUS.declined }), { kind: 'declined', actorUserId: realtor.id }, STAMP))).toEqual([{ to: buyer.id, template: 'booking-declined', invites: [] }]);
    expect(summary(composeBookingNotice(facts({ status: BOOKING_STATUS.expired }), { kind: 'expired' }, STAMP)).map((e) => e.to)).toEqual([buyer.id, realtor.id]);
    const reminders = composeBookingNotice(facts({ status: BOOKING_STATUS.confirmed }, 5), { kind: 'reminder' }, STAMP);
    expect(reminders.map((e) => [e.template, e.vars.minutes_before])).toEqual([['booking-reminder', 15], ['booking-reminder', 15]]);
  });
});
