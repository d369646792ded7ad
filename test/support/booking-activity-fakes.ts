import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Activities } from '../../activities';
import type { TourSnapshot } from '../../activities/bookings.activities';
import {
  BOOKING_FAILURES,
  BOOKING_MOVABLE,
  bookingRefusal,
  bookingSourcesOf,
  bookingWorkflowId,
  type ActorRef,
  type BookingNotice,
  type BookingNoticeKind,
  type BookingSnapshot,
  type BookingTransitionTarget,
} from '../../contracts/bookings';
import { tourWorkflowId, type StepOutcome, type TourStatus } from '../../contracts/tours';
import { meetingOf } from '../fixtures/tour-activity-fakes';

/**
 * In-memory stand-ins for every activity the BookingWorkflow calls, answering as the
 * database would, and for what the TourWorkflow it starts needs to be held and processed
 * (each step simply done). Each call is recorded with the server (workflow) time at which
 * its attempt was scheduled. Shared by the workflow tests and the history recorder.
 */

/** The people of every fake booking. */
export const BUYER: ActorRef = { userId: 7, role: 'buyer' };
export const REALTOR: ActorRef = { userId: 8, role: 'realtor' };

export interface ActivityCall {
  name: string;
  args: unknown[];
  /** Server (workflow) time at which this attempt was scheduled. */
  at: number;
  attempt: number;
  workflowId: string;
}

export interface FakeBooking extends BookingSnapshot {
  icsSequence: number;
  /** confirmBooking refuses with this failure type (e.g. SlotTaken). */
  confirmFails?: { type: string; message: string };
  /** sendBookingNotice of these kinds fails for good (the provider refused). */
  noticeFailsFor?: BookingNoticeKind[];
  /** sendBookingNotice of this kind fails as a provider that is down would (retryable), `times` times. */
  noticeDownFor?: { kind: BookingNoticeKind; times: number };
  /** sendBookingNotice of this kind waits until the promise settles. */
  noticeGate?: { kind: BookingNoticeKind; until: Promise<unknown> };
  /** confirmBooking commits, then its first attempt fails as if the answer were lost on the way back. */
  confirmAnswerLostOnce?: boolean;
}

export interface FakeTour extends TourSnapshot {
  bookingId: number;
}

/** A pending booking row of BUYER's for a property of REALTOR's, as the API commits it. */
export function pendingBooking(id: number, scheduledAtMs: number, fields: Partial<FakeBooking> = {}): FakeBooking {
  return {
    status: 'pending',
    durationMinutes: 30,
    propertyId: 100 + id,
    realtorId: REALTOR.userId,
    buyerId: BUYER.userId,
    tourId: null,
    callId: null,
    icsSequence: 0,
    ...fields,
    scheduledAt: new Date(scheduledAtMs).toISOString(),
  };
}

/** The booking tables as the activities see them, in memory. */
export class FakeBookingActivities {
  readonly bookings = new Map<number, FakeBooking>();
  readonly tours = new Map<number, FakeTour>();
  readonly calls: ActivityCall[] = [];

  private record(name: string, args: unknown[]): void {
    const info = Context.current().info;
    this.calls.push({ name, args, at: info.currentAttemptScheduledTimestampMs, attempt: info.attempt, workflowId: info.workflowExecution?.workflowId ?? '' });
  }

  private booking(id: number): FakeBooking {
    const b = this.bookings.get(id);
    if (!b) throw ApplicationFailure.nonRetryable(`Booking ${id} does not exist`, BOOKING_FAILURES.invalidTransition);
    return b;
  }

  /** Every call a booking's workflow (or its tour's) made, in order. */
  callsOf(bookingId: number, name?: string): ActivityCall[] {
    const tourIds = [...this.tours.entries()].filter(([, t]) => t.bookingId === bookingId).map(([id]) => tourWorkflowId(id));
    return this.calls.filter((c) => (c.workflowId === bookingWorkflowId(bookingId) || tourIds.includes(c.workflowId)) && (!name || c.name === name));
  }

  noticesOf(bookingId: number, kind?: BookingNoticeKind): Array<ActivityCall & { notice: BookingNotice }> {
    return this.callsOf(bookingId, 'sendBookingNotice')
      .map((c) => ({ ...c, notice: c.args[0] as BookingNotice }))
      .filter((c) => !kind || c.notice.kind === kind);
  }

  /** A processing step of a held tour: done. */
  private async step(name: string, tourId: number): Promise<StepOutcome> {
    this.record(name, [tourId]);
    return { status: 'done', detail: null };
  }

  readonly activities = {
    loadBookingForWorkflow: async (bookingId: number): Promise<BookingSnapshot | null> => {
      this.record('loadBookingForWorkflow', [bookingId]);
      const b = this.bookings.get(bookingId);
      if (!b) return null;
      const { status, scheduledAt, durationMinutes, propertyId, realtorId, buyerId, tourId, callId } = b;
      return { status, scheduledAt, durationMinutes, propertyId, realtorId, buyerId, tourId, callId };
    },

    confirmBooking: async (bookingId: number, actor: { userId: number }): Promise<{ tourId: number; callId: number }> => {
      this.record('confirmBooking', [bookingId, actor]);
      const b = this.booking(bookingId);
      if (b.status === 'confirmed' && b.tourId && b.callId) return { tourId: b.tourId, callId: b.callId };
      if (b.confirmFails) throw ApplicationFailure.nonRetryable(b.confirmFails.message, b.confirmFails.type);
      if (!bookingSourcesOf('confirmed').includes(b.status)) throw ApplicationFailure.nonRetryable(bookingRefusal(b.status, 'confirmed'), BOOKING_FAILURES.invalidTransition);
      const tourId = bookingId * 10;
      const callId = bookingId * 10 + 1;
      Object.assign(b, { status: 'confirmed', tourId, callId });
      this.tours.set(tourId, {
        bookingId,
        status: 'scheduled',
        scheduledAt: b.scheduledAt,
        durationMinutes: b.durationMinutes,
        propertyId: b.propertyId,
        realtorId: b.realtorId,
        buyerId: b.buyerId,
      });
      if (b.confirmAnswerLostOnce) {
        b.confirmAnswerLostOnce = false;
        throw new Error('connection reset after COMMIT');
      }
      return { tourId, callId };
    },

    transitionBooking: async (bookingId: number, to: BookingTransitionTarget, opts: { actorUserId: number | null; reason: string | null }): Promise<void> => {
      this.record('transitionBooking', [bookingId, to, opts]);
      const b = this.booking(bookingId);
      if (b.status === to) return;
      if (!bookingSourcesOf(to).includes(b.status)) throw ApplicationFailure.nonRetryable(bookingRefusal(b.status, to), BOOKING_FAILURES.invalidTransition);
      b.status = to;
    },

    rescheduleBooking: async (
      bookingId: number,
      change: { scheduledAt: string; durationMinutes: number },
      actorUserId: number,
    ): Promise<{ scheduledAt: string; durationMinutes: number; icsSequence: number }> => {
      this.record('rescheduleBooking', [bookingId, change, actorUserId]);
      const b = this.booking(bookingId);
      if (!BOOKING_MOVABLE.includes(b.status)) throw ApplicationFailure.nonRetryable(bookingRefusal(b.status, 'rescheduled'), BOOKING_FAILURES.invalidTransition);
      const at = new Date(change.scheduledAt).toISOString();
      if (at !== b.scheduledAt || change.durationMinutes !== b.durationMinutes) {
        Object.assign(b, { scheduledAt: at, durationMinutes: change.durationMinutes, icsSequence: b.icsSequence + 1 });
        const tour = b.tourId ? this.tours.get(b.tourId) : undefined;
        if (tour && tour.status !== 'cancelled') Object.assign(tour, { scheduledAt: at, durationMinutes: change.durationMinutes });
      }
      return { scheduledAt: b.scheduledAt, durationMinutes: b.durationMinutes, icsSequence: b.icsSequence };
    },

    sendBookingNotice: async (n: BookingNotice): Promise<{ sent: number; failed: number }> => {
      this.record('sendBookingNotice', [n]);
      const b = this.bookings.get(n.bookingId);
      if (!b) return { sent: 0, failed: 0 };
      if (b.noticeGate?.kind === n.kind) await b.noticeGate.until.catch(() => undefined);
      if (b.noticeFailsFor?.includes(n.kind)) throw ApplicationFailure.nonRetryable('The provider refused every recipient', 'EmailPermanentError');
      if (b.noticeDownFor?.kind === n.kind && b.noticeDownFor.times > 0) {
        b.noticeDownFor.times -= 1;
        throw ApplicationFailure.retryable('The provider did not answer', 'EmailTransientError');
      }
      const recipients = n.kind === 'request' || n.kind === 'declined' ? 1 : n.actorUserId ? 1 : 2;
      return { sent: recipients, failed: 0 };
    },

    loadTourForWorkflow: async (tourId: number): Promise<TourSnapshot | null> => {
      this.record('loadTourForWorkflow', [tourId]);
      const t = this.tours.get(tourId);
      if (!t) return null;
      const { status, scheduledAt, durationMinutes, propertyId, realtorId, buyerId } = t;
      return { status, scheduledAt, durationMinutes, propertyId, realtorId, buyerId };
    },

    setTourStatus: async (tourId: number, status: TourStatus, detail: Record<string, unknown> = {}): Promise<void> => {
      this.record('setTourStatus', [tourId, status, detail]);
      const t = this.tours.get(tourId);
      if (t) t.status = status;
    },

    // What a tour that is held needs: a call, its notices, and its processing steps.
    startCall: async (tourId: number, actorUserId: number) => {
      this.record('startCall', [tourId, actorUserId]);
      const t = this.tours.get(tourId);
      if (t) t.status = 'in_progress';
      return { ...meetingOf(tourId), recording: false };
    },
    endCall: async (tourId: number, actorUserId: number | null, reason: string): Promise<void> => {
      this.record('endCall', [tourId, actorUserId, reason]);
      const t = this.tours.get(tourId);
      if (t) t.status = 'processing';
    },
    sendTourNotice: async (tourId: number, kind: string): Promise<void> => {
      this.record('sendTourNotice', [tourId, kind]);
    },
    markStepFailed: async (tourId: number, step: string, reason: string): Promise<void> => {
      this.record('markStepFailed', [tourId, step, reason]);
    },
    processRecording: (tourId: number) => this.step('processRecording', tourId),
    processTranscription: (tourId: number) => this.step('processTranscription', tourId),
    processHighlights: (tourId: number) => this.step('processHighlights', tourId),
    processSummary: (tourId: number) => this.step('processSummary', tourId),
    processSummaryEmail: (tourId: number) => this.step('processSummaryEmail', tourId),
  } satisfies Partial<Activities>;
}
