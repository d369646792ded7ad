import { resource } from '../envelope';

/**
 * The one way a tour and a call are presented, wherever they appear (the tour and call
 * routes, and a booking's confirmation), from the plain records the repositories return.
 */

export interface TourFields {
  id: number;
  booking_id: number;
  property_id: number;
  realtor_id: number;
  buyer_id: number;
  status: string;
  scheduled_at: Date;
  ends_at: Date;
  duration_minutes: number;
  started_at: Date | null;
  ended_at: Date | null;
  processing_step: string | null;
  processing_error: string | null;
}

export interface TourContext {
  property_address: string;
  call_id: number | null;
  steps: Record<string, { status: string; detail: string | null }>;
}

export function presentTour(t: TourFields, ctx: TourContext) {
  return resource(
    'tour',
    t.id,
    {
      booking_id: Number(t.booking_id),
      property_id: Number(t.property_id),
      property_address: ctx.property_address,
      realtor_id: Number(t.realtor_id),
      buyer_id: Number(t.buyer_id),
      status: t.status,
      scheduled_at: t.scheduled_at.toISOString(),
      ends_at: t.ends_at.toISOString(),
      duration_minutes: t.duration_minutes,
      started_at: t.started_at?.toISOString() ?? null,
      ended_at: t.ended_at?.toISOString() ?? null,
      processing_step: t.processing_step,
      processing_error: t.processing_error,
      steps: ctx.steps,
    },
    { call: { data: ctx.call_id !== null ? { id: String(ctx.call_id), type: 'call' } : null } },
  );
}

export interface CallFields {
  id: number;
  tour_id: number;
  status: string;
  recording_active: boolean;
  started_at: Date | null;
  ended_at: Date | null;
  created_at: Date;
  chime_meeting_id: string | null;
  meeting: unknown;
}

export function presentCall(c: CallFields) {
  return resource('call', c.id, {
    tour_id: Number(c.tour_id),
    status: c.status,
    recording: c.recording_active,
    started_at: c.started_at?.toISOString() ?? null,
    ended_at: c.ended_at?.toISOString() ?? null,
    created_at: c.created_at.toISOString(),
    meeting_id: c.meeting ? c.chime_meeting_id : null,
  });
}
