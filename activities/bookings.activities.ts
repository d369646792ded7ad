import { ApplicationFailure } from '@temporalio/activity';
import type { Knex } from 'knex';
import { recordAudit } from '../db/audit';
import { buildIcs } from '../adapters/email/ics';
import type { Notifier } from '../adapters/email/notifier';
import { EmailPermanentError } from '../adapters/email/port';
import type { Logger } from '../lib/logger';

/**
 * The booking and tour lifecycles' side effects. Every one is safe to retry: transitions
 * check the current status under a row lock and treat "already there" as done, and
 * notifications go through the ledger keyed per booking, kind, occasion and recipient.
 */

export type BookingNoticeKind = 'request' | 'confirmed' | 'reminder' | 'rescheduled' | 'declined' | 'cancelled' | 'expired';

export interface BookingSnapshot {
  status: string;
  scheduledAt: string;
  durationMinutes: number;
  propertyId: number;
  realtorId: number;
  buyerId: number;
  tourId: number | null;
  callId: number | null;
}

export interface TourSnapshot {
  status: string;
  scheduledAt: string;
  durationMinutes: number;
  propertyId: number;
  realtorId: number;
  buyerId: number;
}

const INVALID_TRANSITION = 'InvalidTransition';
const SLOT_TAKEN = 'SlotTaken';

const FROM: Record<string, string[]> = {
  confirmed: ['pending'],
  declined: ['pending'],
  expired: ['pending'],
  cancelled: ['pending', 'confirmed'],
  completed: ['confirmed'],
};

interface Deps {
  knex: Knex;
  notifier: Notifier;
  logger: Logger;
}

function when(d: Date): string {
  return d.toUTCString().replace(/:00 GMT$/, ' UTC');
}

function slotTaken(err: unknown): boolean {
  return (err as { code?: string }).code === '23P01';
}

interface BookingRow {
  id: number;
  status: string;
  scheduled_at: Date;
  ends_at: Date;
  duration_minutes: number;
  property_id: number;
  buyer_id: number;
  notes: string | null;
  ics_sequence: number;
  decline_reason: string | null;
  cancellation_reason: string | null;
}

export function createBookingActivities(deps: Deps) {
  const { knex } = deps;

  async function lockBooking(trx: Knex.Transaction, bookingId: number): Promise<BookingRow> {
    const row = await trx('bookings').where({ id: bookingId }).forUpdate().first<BookingRow | undefined>();
    if (!row) throw ApplicationFailure.nonRetryable(`Booking ${bookingId} does not exist`, INVALID_TRANSITION);
    return row;
  }

  return {
    /** The booking as its workflow starts; null when no such row was ever committed. */
    async loadBookingForWorkflow(bookingId: number): Promise<BookingSnapshot | null> {
      const row = await knex('bookings as b')
        .join('properties as p', 'p.id', 'b.property_id')
        .leftJoin('tours as t', 't.booking_id', 'b.id')
        .leftJoin('calls as c', 'c.tour_id', 't.id')
        .where('b.id', bookingId)
        .first<{ status: string; scheduled_at: Date; duration_minutes: number; property_id: number; realtor_id: number; buyer_id: number; tour_id: number | null; call_id: number | null } | undefined>(
          'b.status', 'b.scheduled_at', 'b.duration_minutes', 'b.property_id', 'p.realtor_id', 'b.buyer_id', 't.id as tour_id', 'c.id as call_id',
        );
      if (!row) return null;
      await knex('bookings').where({ id: bookingId }).whereNull('workflow_started_at').update({ workflow_started_at: new Date() });
      return {
        status: row.status,
        scheduledAt: row.scheduled_at.toISOString(),
        durationMinutes: row.duration_minutes,
        propertyId: row.property_id,
        realtorId: row.realtor_id,
        buyerId: row.buyer_id,
        tourId: row.tour_id,
        callId: row.call_id,
      };
    },

    /**
     * Confirms in one transaction: the booking, its tour (`scheduled`) and the tour's call
     * (`created`). The database refuses a tour that overlaps another live tour of the same
     * property or realtor (SlotTaken). A retry after success returns the same tour.
     */
    async confirmBooking(bookingId: number, actor: { userId: number }): Promise<{ tourId: number; callId: number }> {
      try {
        return await knex.transaction(async (trx) => {
          const b = await lockBooking(trx, bookingId);
          if (b.status === 'confirmed') {
            const existing = await trx('tours as t').join('calls as c', 'c.tour_id', 't.id').where('t.booking_id', bookingId).first<{ tour_id: number; call_id: number }>('t.id as tour_id', 'c.id as call_id');
            if (existing) return { tourId: existing.tour_id, callId: existing.call_id };
          }
          if (b.status !== 'pending') throw ApplicationFailure.nonRetryable(`This booking is ${b.status}; it cannot be confirmed`, INVALID_TRANSITION);
          const property = await trx('properties').where({ id: b.property_id }).first<{ realtor_id: number }>('realtor_id');
          const [tour] = await trx('tours')
            .insert({
              property_id: b.property_id,
              realtor_id: property.realtor_id,
              buyer_id: b.buyer_id,
              booking_id: bookingId,
              status: 'scheduled',
              scheduled_at: b.scheduled_at,
              duration_minutes: b.duration_minutes,
            })
            .returning<Array<{ id: number }>>('id');
          // The meeting itself is created when the tour starts; until then the call carries
          // the tour's external meeting id, which is unique too.
          const [call] = await trx('calls').insert({ tour_id: tour!.id, chime_meeting_id: `tour-${tour!.id}`, status: 'created' }).returning<Array<{ id: number }>>('id');
          await trx('bookings').where({ id: bookingId }).update({ status: 'confirmed', status_changed_at: new Date() });
          await recordAudit(trx, { actorId: actor.userId, action: 'booking_confirmed', resourceType: 'booking', resourceId: bookingId, details: { status: { from: 'pending', to: 'confirmed' }, tour_id: tour!.id, call_id: call!.id } });
          return { tourId: tour!.id, callId: call!.id };
        });
      } catch (err) {
        if (slotTaken(err)) {
          throw ApplicationFailure.nonRetryable('The property or the realtor already has a tour at that time', SLOT_TAKEN);
        }
        throw err;
      }
    },

    /** declined, cancelled, expired or completed; already there counts as done. */
    async transitionBooking(bookingId: number, to: 'declined' | 'cancelled' | 'expired' | 'completed', opts: { actorUserId: number | null; reason: string | null }): Promise<void> {
      await knex.transaction(async (trx) => {
        const b = await lockBooking(trx, bookingId);
        if (b.status === to) return;
        if (!FROM[to]!.includes(b.status)) throw ApplicationFailure.nonRetryable(`This booking is ${b.status}; it cannot be ${to}`, INVALID_TRANSITION);
        const patch: Record<string, unknown> = { status: to, status_changed_at: new Date() };
        if (to === 'declined') patch.decline_reason = opts.reason;
        if (to === 'cancelled') {
          patch.cancellation_reason = opts.reason;
          patch.cancelled_by = opts.actorUserId;
        }
        await trx('bookings').where({ id: bookingId }).update(patch);
        await recordAudit(trx, {
          actorId: opts.actorUserId,
          action: `booking_${to}`,
          resourceType: 'booking',
          resourceId: bookingId,
          details: { status: { from: b.status, to }, ...(opts.reason ? { reason: opts.reason } : {}) },
        });
      });
    },

    /** Moves the booking (and its tour, when confirmed); the database refuses an overlap. */
    async rescheduleBooking(
      bookingId: number,
      change: { scheduledAt: string; durationMinutes: number },
      actorUserId: number,
    ): Promise<{ scheduledAt: string; durationMinutes: number; icsSequence: number }> {
      try {
        return await knex.transaction(async (trx) => {
          const b = await lockBooking(trx, bookingId);
          const at = new Date(change.scheduledAt);
          if (b.scheduled_at.getTime() === at.getTime() && b.duration_minutes === change.durationMinutes) {
            return { scheduledAt: at.toISOString(), durationMinutes: b.duration_minutes, icsSequence: b.ics_sequence };
          }
          if (!['pending', 'confirmed'].includes(b.status)) throw ApplicationFailure.nonRetryable(`This booking is ${b.status}; it cannot be rescheduled`, INVALID_TRANSITION);
          const [row] = await trx('bookings')
            .where({ id: bookingId })
            .update({ scheduled_at: at, duration_minutes: change.durationMinutes, ics_sequence: b.ics_sequence + 1 })
            .returning<Array<{ ics_sequence: number }>>('ics_sequence');
          await trx('tours').where({ booking_id: bookingId }).whereNot({ status: 'cancelled' }).update({ scheduled_at: at, duration_minutes: change.durationMinutes });
          await recordAudit(trx, {
            actorId: actorUserId,
            action: 'booking_rescheduled',
            resourceType: 'booking',
            resourceId: bookingId,
            details: { changes: { scheduled_at: { from: b.scheduled_at.toISOString(), to: at.toISOString() }, duration_minutes: { from: b.duration_minutes, to: change.durationMinutes } } },
          });
          return { scheduledAt: at.toISOString(), durationMinutes: change.durationMinutes, icsSequence: row!.ics_sequence };
        });
      } catch (err) {
        if (slotTaken(err)) throw ApplicationFailure.nonRetryable('That time overlaps another booking or tour', SLOT_TAKEN);
        throw err;
      }
    },

    /**
     * Sends one kind of booking message to its recipients, each at most once. A recipient
     * the provider refuses for good is recorded as failed and skipped; a transient failure
     * fails the activity after the others were tried, so its retry sends only what is left.
     */
    async sendBookingNotice(n: { bookingId: number; kind: BookingNoticeKind; discriminator: string; actorUserId?: number; previousScheduledAt?: string }): Promise<{ sent: number; failed: number }> {
      const b = await knex('bookings as b')
        .join('properties as p', 'p.id', 'b.property_id')
        .join('users as buyer', 'buyer.id', 'b.buyer_id')
        .join('users as realtor', 'realtor.id', 'p.realtor_id')
        .leftJoin('tours as t', 't.booking_id', 'b.id')
        .where('b.id', n.bookingId)
        .first<{
          id: number; status: string; scheduled_at: Date; ends_at: Date; duration_minutes: number; notes: string | null; ics_sequence: number;
          decline_reason: string | null; cancellation_reason: string | null; address: string; city: string | null;
          buyer_id: number; buyer_name: string; buyer_email: string; realtor_id: number; realtor_name: string; realtor_email: string; tour_id: number | null;
        } | undefined>(
          'b.id', 'b.status', 'b.scheduled_at', 'b.ends_at', 'b.duration_minutes', 'b.notes', 'b.ics_sequence', 'b.decline_reason', 'b.cancellation_reason',
          'p.address', 'p.city', 'buyer.id as buyer_id', 'buyer.full_name as buyer_name', 'buyer.email as buyer_email',
          'realtor.id as realtor_id', 'realtor.full_name as realtor_name', 'realtor.email as realtor_email', 't.id as tour_id',
        );
      if (!b) return { sent: 0, failed: 0 };
      const buyer = { id: b.buyer_id, name: b.buyer_name, email: b.buyer_email };
      const realtor = { id: b.realtor_id, name: b.realtor_name, email: b.realtor_email };
      const address = b.city ? `${b.address}, ${b.city}` : b.address;
      const both = [buyer, realtor];
      const otherSide = n.actorUserId === buyer.id ? [realtor] : n.actorUserId === realtor.id ? [buyer] : both;
      const other = (r: typeof buyer) => (r.id === buyer.id ? realtor : buyer);
      const actorName = n.actorUserId === buyer.id ? buyer.name : n.actorUserId === realtor.id ? realtor.name : 'RealtyForYou';

      const ics = (method: 'REQUEST' | 'CANCEL') => ({
        filename: method === 'CANCEL' ? 'cancelled-tour.ics' : 'tour.ics',
        contentType: `text/calendar; method=${method}; charset=UTF-8`,
        content: Buffer.from(
          buildIcs({
            uid: `booking-${b.id}@realtyforyou`,
            // Calendars replace an event when the same UID comes with a higher SEQUENCE.
            sequence: b.ics_sequence + (method === 'CANCEL' ? 1 : 0),
            method,
            status: method === 'CANCEL' ? 'CANCELLED' : 'CONFIRMED',
            start: b.scheduled_at,
            end: b.ends_at,
            stamp: new Date(),
            summary: `Property tour: ${address}`,
            description: `Video tour of ${address} with ${realtor.name} and ${buyer.name}.`,
            location: address,
            organizer: { name: realtor.name, email: realtor.email },
            attendees: [{ name: buyer.name, email: buyer.email }],
          }),
        ),
      });

      type Recipient = typeof buyer;
      const plan: Array<{ to: Recipient; template: string; vars: Record<string, string | number>; attachments?: ReturnType<typeof ics>[] }> = [];
      const base = { property_address: address, when: when(b.scheduled_at) };
      switch (n.kind) {
        case 'request':
          plan.push({ to: realtor, template: 'booking-request', vars: { ...base, recipient_name: realtor.name, buyer_name: buyer.name, duration_minutes: b.duration_minutes, notes: b.notes ?? '(none)' } });
          break;
        case 'confirmed':
          for (const r of both) plan.push({ to: r, template: 'booking-confirmed', vars: { ...base, recipient_name: r.name, other_party_name: other(r).name, duration_minutes: b.duration_minutes }, attachments: [ics('REQUEST')] });
          break;
        case 'reminder':
          for (const r of both) plan.push({ to: r, template: 'booking-reminder', vars: { ...base, recipient_name: r.name, other_party_name: other(r).name, minutes_before: 15 } });
          break;
        case 'rescheduled':
          for (const r of otherSide) {
            plan.push({
              to: r,
              template: 'booking-rescheduled',
              vars: { ...base, recipient_name: r.name, actor_name: actorName, old_when: n.previousScheduledAt ? when(new Date(n.previousScheduledAt)) : '(unknown)' },
              attachments: b.status === 'confirmed' ? [ics('REQUEST')] : undefined,
            });
          }
          break;
        case 'declined':
          plan.push({ to: buyer, template: 'booking-declined', vars: { ...base, recipient_name: buyer.name, realtor_name: realtor.name, reason: b.decline_reason ?? 'No reason was given' } });
          break;
        case 'cancelled':
          for (const r of otherSide) {
            plan.push({
              to: r,
              template: 'booking-cancelled',
              vars: { ...base, recipient_name: r.name, actor_name: actorName, reason: b.cancellation_reason ?? 'No reason was given' },
              attachments: b.tour_id ? [ics('CANCEL')] : undefined,
            });
          }
          break;
        case 'expired':
          for (const r of both) plan.push({ to: r, template: 'booking-expired', vars: { ...base, recipient_name: r.name } });
          break;
      }

      let sent = 0;
      let failed = 0;
      let transient: unknown;
      for (const p of plan) {
        try {
          await deps.notifier.send({
            idempotencyKey: `booking:${b.id}:${n.kind}:${n.discriminator}:user-${p.to.id}`,
            template: p.template,
            to: p.to.email,
            recipientUserId: p.to.id,
            vars: p.vars,
            attachments: p.attachments,
          });
          sent += 1;
        } catch (err) {
          if (err instanceof EmailPermanentError) {
            failed += 1;
            deps.logger.warn({ err, bookingId: b.id, kind: n.kind, to: p.to.id }, 'email refused by the provider; recorded as failed');
          } else {
            transient = err;
          }
        }
      }
      if (transient) throw transient;
      return { sent, failed };
    },

    async loadTourForWorkflow(tourId: number): Promise<TourSnapshot | null> {
      const t = await knex('tours').where({ id: tourId }).first<{ status: string; scheduled_at: Date; duration_minutes: number; property_id: number; realtor_id: number; buyer_id: number } | undefined>();
      if (!t) return null;
      return { status: t.status, scheduledAt: t.scheduled_at.toISOString(), durationMinutes: t.duration_minutes, propertyId: t.property_id, realtorId: t.realtor_id, buyerId: t.buyer_id };
    },
  };
}
