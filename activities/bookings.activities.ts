import { ApplicationFailure } from '@temporalio/activity';
import type { Knex } from 'knex';
import {
  BOOKING_COMMANDS,
  BOOKING_FAILURES,
  BOOKING_MOVABLE,
  BOOKING_REMINDER_LEAD_MS,
  BOOKING_STATUS,
  bookingNoticeKey,
  bookingRefusal,
  bookingSourcesOf,
  type BookingNotice,
  type BookingNoticeFacts,
  type BookingSnapshot,
  type BookingTransitionTarget,
  type RescheduleChange,
  type RescheduleResult,
} from '../contracts/bookings';
import type { TourStatus } from '../contracts/tours';
import { AVAILABILITY_FAILURES } from '../contracts/availability';
import { AvailabilityConflictError } from '../lib/availability';
import { composeBookingNotice } from '../adapters/email/compose/booking-notices';
import type { Notifier } from '../adapters/email/notifier';
import { recordAudit } from '../db/audit';
import { bookingsRepository, type BookingRecord, type BookingStatusPatch } from '../db/repositories/bookings.repository';
import { toursRepository } from '../db/repositories/tours.repository';
import type { Logger } from '../lib/logger';
import { bookingOutcomes, reminderLagSeconds, secondsBetween } from './kpis';
import { recordBookingNoticeEvent } from './webhooks.activities';
import { currentActivity } from './activity-context';
import { sendToAll } from './email-refusal';

/**
 * The booking lifecycle's side effects. Every one is safe to retry: transitions check the
 * current status under a row lock and treat "already there" as done, and notifications go
 * through the ledger keyed per booking, kind, occasion and recipient.
 */

export interface TourSnapshot {
  status: TourStatus;
  scheduledAt: string;
  durationMinutes: number;
  propertyId: number;
  realtorId: number;
  buyerId: number;
}

interface Deps {
  knex: Knex;
  notifier: Notifier;
  logger: Logger;
}

/** The database's exclusion constraints (overlapping bookings or tours) answer 23P01. */
function slotTaken(err: unknown): boolean {
  return (err as { code?: string }).code === '23P01';
}

const refuse = (message: string) => ApplicationFailure.nonRetryable(message, BOOKING_FAILURES.invalidTransition);

export function createBookingActivities(deps: Deps) {
  const { knex } = deps;

  async function lockBooking(trx: Knex.Transaction, bookingId: number): Promise<BookingRecord> {
    const row = await bookingsRepository(trx).find(bookingId, { forUpdate: true });
    if (!row) throw refuse(`Booking ${bookingId} does not exist`);
    return row;
  }

  return {
    /** The booking as its workflow starts; null when no such row was ever committed. */
    async loadBookingForWorkflow(bookingId: number): Promise<BookingSnapshot | null> {
      const repo = bookingsRepository(knex);
      const snapshot = await repo.snapshot(bookingId);
      if (snapshot) await repo.markWorkflowStarted(bookingId);
      return snapshot;
    },

    /**
     * Confirms in one transaction: the booking, its tour (`scheduled`) and the tour's call
     * (`created`). The database refuses a tour that overlaps another live tour of the same
     * property or realtor (SlotTaken). A retry after success returns the same tour.
     */
    async confirmBooking(bookingId: number, actor: { userId: number; auto?: boolean }): Promise<{ tourId: number; callId: number }> {
      let confirmedNow = false;
      try {
        const result = await knex.transaction(async (trx) => {
          const repo = bookingsRepository(trx);
          const b = await lockBooking(trx, bookingId);
          if (b.status === BOOKING_STATUS.confirmed) {
            const existing = await repo.findTourAndCall(bookingId);
            if (existing) return existing;
          }
          if (!bookingSourcesOf(BOOKING_STATUS.confirmed).includes(b.status)) throw refuse(bookingRefusal(b.status, BOOKING_COMMANDS.confirm.verb));
          const created = await repo.createTourAndCall(b);
          await repo.setStatus(bookingId, { status: BOOKING_STATUS.confirmed });
          await recordAudit(trx, {
            actorId: actor.userId,
            action: 'booking_confirmed',
            resourceType: 'booking',
            resourceId: bookingId,
            // auto: confirmed by the listing's auto-confirm on the realtor's behalf.
            details: { status: { from: b.status, to: BOOKING_STATUS.confirmed }, tour_id: created.tourId, call_id: created.callId, ...(actor.auto ? { auto: true } : {}) },
          });
          confirmedNow = true;
          return created;
        });
        if (confirmedNow) bookingOutcomes.inc({ outcome: BOOKING_STATUS.confirmed });
        return result;
      } catch (err) {
        if (slotTaken(err)) throw ApplicationFailure.nonRetryable('The property or the realtor already has a tour at that time', BOOKING_FAILURES.slotTaken);
        throw err;
      }
    },

    /** declined, cancelled, expired or completed; already there counts as done. */
    async transitionBooking(bookingId: number, to: BookingTransitionTarget, opts: { actorUserId: number | null; reason: string | null }): Promise<void> {
      const moved = await knex.transaction(async (trx) => {
        const b = await lockBooking(trx, bookingId);
        if (b.status === to) return false;
        if (!bookingSourcesOf(to).includes(b.status)) throw refuse(bookingRefusal(b.status, to));
        const patch: BookingStatusPatch = { status: to };
        if (to === BOOKING_STATUS.declined) patch.decline_reason = opts.reason;
        if (to === BOOKING_STATUS.cancelled) {
          patch.cancellation_reason = opts.reason;
          patch.cancelled_by = opts.actorUserId;
        }
        await bookingsRepository(trx).setStatus(bookingId, patch);
        await recordAudit(trx, {
          actorId: opts.actorUserId,
          action: `booking_${to}`,
          resourceType: 'booking',
          resourceId: bookingId,
          details: { status: { from: b.status, to }, ...(opts.reason ? { reason: opts.reason } : {}) },
        });
        return true;
      });
      if (moved) bookingOutcomes.inc({ outcome: to });
    },

    /** Moves the booking (and its tour, when confirmed); the database refuses an overlap. */
    async rescheduleBooking(bookingId: number, change: RescheduleChange, actorUserId: number): Promise<RescheduleResult> {
      try {
        return await knex.transaction(async (trx) => {
          const b = await lockBooking(trx, bookingId);
          const at = new Date(change.scheduledAt);
          if (b.scheduled_at.getTime() === at.getTime() && b.duration_minutes === change.durationMinutes) {
            return { scheduledAt: at.toISOString(), durationMinutes: b.duration_minutes, icsSequence: b.ics_sequence };
          }
          if (!BOOKING_MOVABLE.includes(b.status)) throw refuse(bookingRefusal(b.status, BOOKING_COMMANDS.reschedule.verb));
          const icsSequence = await bookingsRepository(trx).reschedule(bookingId, at, change.durationMinutes);
          await recordAudit(trx, {
            actorId: actorUserId,
            action: 'booking_rescheduled',
            resourceType: 'booking',
            resourceId: bookingId,
            details: { changes: { scheduled_at: { from: b.scheduled_at.toISOString(), to: at.toISOString() }, duration_minutes: { from: b.duration_minutes, to: change.durationMinutes } } },
          });
          return { scheduledAt: at.toISOString(), durationMinutes: change.durationMinutes, icsSequence };
        });
      } catch (err) {
        if (slotTaken(err)) throw ApplicationFailure.nonRetryable('That time overlaps another booking or tour', BOOKING_FAILURES.slotTaken);
        // The listing's availability refused the new time (its reason is the message).
        if (err instanceof AvailabilityConflictError) throw ApplicationFailure.nonRetryable(err.message, AVAILABILITY_FAILURES.outsideAvailability);
        throw err;
      }
    },

    /**
     * Sends one kind of booking message to its recipients, each at most once. A recipient
     * the provider refuses for good is recorded as failed and skipped; a transient failure
     * fails the activity after the others were tried, so its retry sends only what is left.
     */
    async sendBookingNotice(n: BookingNotice): Promise<{ sent: number; failed: number }> {
      if (n.sendAt) await waitUntil(Date.parse(n.sendAt));
      const facts = await bookingsRepository(knex).noticeFacts(n.bookingId);
      if (!facts) return { sent: 0, failed: 0 };
      if (n.kind === 'reminder' && !stillReminds(facts, n)) {
        // Cancelled or moved while its reminder waited for its time: nothing to remind of.
        deps.logger.info({ bookingId: n.bookingId, status: facts.booking.status, for: n.discriminator }, 'reminder not sent: the booking changed before its time');
        return { sent: 0, failed: 0 };
      }
      // The notice runs once per fact: its domain event (webhooks) is recorded here, before the emails.
      await recordBookingNoticeEvent(knex, n, facts);
      // Its recipients at once: the second is not held behind the first one's provider call
      // and ledger writes, which is what a reminder's lag is made of on a busy worker.
      const emails = composeBookingNotice(facts, n, new Date());
      const outcomes = await sendToAll(
        emails.map((email) =>
          deps.notifier.send({
            idempotencyKey: bookingNoticeKey(n, email.to.id),
            template: email.template,
            to: email.to.email,
            recipientUserId: email.to.id,
            vars: email.vars,
            attachments: email.attachments,
          }),
        ),
      );
      let sent = 0;
      let failed = 0;
      let sentNow = false;
      for (const [i, outcome] of outcomes.entries()) {
        if ('ok' in outcome) {
          if (outcome.ok.status === 'sent') sentNow = true;
          sent += 1;
        } else {
          failed += 1;
          deps.logger.warn({ err: outcome.refused, bookingId: n.bookingId, kind: n.kind, to: emails[i]!.to.id }, 'email refused by the provider; recorded as failed');
        }
      }
      // Once per reminder: on the attempt that delivered its last outstanding email.
      const due = Date.parse(n.discriminator) - BOOKING_REMINDER_LEAD_MS;
      if (n.kind === 'reminder' && sentNow && Number.isFinite(due)) reminderLagSeconds.observe(secondsBetween(due, Date.now()));
      return { sent, failed };
    },

    /** The tour as its workflow starts (a tour is born of its booking's confirmation). */
    async loadTourForWorkflow(tourId: number): Promise<TourSnapshot | null> {
      const t = await toursRepository(knex).find(tourId);
      if (!t) return null;
      return { status: t.status, scheduledAt: t.scheduled_at.toISOString(), durationMinutes: t.duration_minutes, propertyId: t.property_id, realtorId: t.realtor_id, buyerId: t.buyer_id };
    },
  };
}

/** A reminder goes only to a booking still confirmed for the time it reminds of. */
function stillReminds(facts: BookingNoticeFacts, n: BookingNotice): boolean {
  return facts.booking.status === BOOKING_STATUS.confirmed && facts.booking.scheduled_at.getTime() === Date.parse(n.discriminator);
}

/**
 * Sleeps until `atMs` (now when past). Inside an activity, a cancellation ends the wait, and
 * the wait is never longer than the workflow asked for when it scheduled this attempt (its
 * server time): a worker whose clock runs behind the server's (or a time-skipping test
 * server) does not hold the email back.
 */
async function waitUntil(atMs: number): Promise<void> {
  const ctx = currentActivity();
  const ms = Math.min(atMs - Date.now(), ctx ? atMs - ctx.info.currentAttemptScheduledTimestampMs : Infinity);
  if (!(ms > 0)) return;
  if (ctx) await ctx.sleep(ms);
  else await new Promise((resolve) => setTimeout(resolve, ms));
}
