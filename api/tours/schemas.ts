import { z } from 'zod';
import { paginationQuery } from '../pagination';
import { bodyInt, dateTimeInput, isoDateTime, resourceSchema, textField } from '../schemas';
import { PROCESSING_STEPS, TOUR_STATUSES } from '../../contracts/tours';

export const ARTIFACT_STATUSES = ['processing', 'ready', 'skipped', 'failed'] as const;

export const tourListQuery = z.object({ ...paginationQuery, status: z.enum(TOUR_STATUSES).optional() }).strict();

export const noteBody = z
  .object({
    content: textField().trim().min(1).max(5000),
    tag: textField().trim().min(1).max(100).optional(),
    timestamp_ms: bodyInt(0).optional().describe('milliseconds from the tour start; the server fills it in when absent'),
  })
  .strict();

export const recordBody = z.object({ action: z.enum(['start', 'stop']) }).strict();

export const adminTourUpdateBody = z
  .object({
    summary: z
      .object({
        overview: textField().max(5000),
        key_points: z.array(textField().max(1000)).max(50),
        buyer_interest: textField().max(2000),
        concerns: z.array(textField().max(1000)).max(50),
        next_steps: z.array(textField().max(1000)).max(50),
      })
      .strict()
      .describe('an edited summary (kept marked as AI-generated with an editor note)'),
  })
  .strict();

export const tourResource = resourceSchema(
  'tour',
  z.object({
    booking_id: z.number().int(),
    property_id: z.number().int(),
    property_address: z.string(),
    realtor_id: z.number().int(),
    buyer_id: z.number().int(),
    status: z.enum(TOUR_STATUSES),
    scheduled_at: isoDateTime,
    ends_at: isoDateTime,
    duration_minutes: z.number().int(),
    started_at: isoDateTime.nullable(),
    ended_at: isoDateTime.nullable(),
    processing_step: z.string().nullable(),
    processing_error: z.string().nullable(),
    steps: z.record(z.string(), z.object({ status: z.string(), detail: z.string().nullable() })),
  }),
  z.object({ call: z.object({ data: z.object({ id: z.string(), type: z.literal('call') }).nullable() }) }),
);

export const noteResource = resourceSchema(
  'tour_note',
  z.object({ user_id: z.number().int(), content: z.string(), tag: z.string().nullable(), timestamp_ms: z.number().int().nullable(), created_at: isoDateTime }),
);

export const callResource = resourceSchema(
  'call',
  z.object({
    tour_id: z.number().int(),
    status: z.string(),
    recording: z.boolean(),
    started_at: isoDateTime.nullable(),
    ended_at: isoDateTime.nullable(),
    created_at: isoDateTime,
    meeting_id: z.string().nullable(),
  }),
);

const artifact = (type: string, extra: z.ZodRawShape) =>
  resourceSchema(type, z.object({ status: z.enum(ARTIFACT_STATUSES), reason: z.string().nullable(), ...extra }));

export const recordingArtifact = artifact('recording', {
  url: z.string().nullable(),
  /** The same signed URL, under the seed's name; fresh on every read. */
  playback_url: z.string().nullable(),
  content_type: z.string().nullable(),
  file_size_bytes: z.number().int().nullable(),
  duration_seconds: z.number().int().nullable(),
  recorded_at: isoDateTime.nullable(),
  source: z.string().nullable(),
});
export const transcriptArtifact = artifact('transcript', {
  full_text: z.string().nullable(),
  segments: z.array(z.object({ start_ms: z.number(), end_ms: z.number(), text: z.string(), speaker: z.enum(['realtor', 'buyer']).nullable() })),
  confidence_score: z.number().nullable(),
});
export const highlightsArtifact = artifact('highlights', {
  items: z.array(
    z.object({ id: z.string(), timestamp_ms: z.number().int(), type: z.string().nullable(), note: z.string().nullable(), source: z.string().nullable(), image_url: z.string().nullable() }),
  ),
});
export const summaryArtifact = artifact('summary', { summary: z.record(z.string(), z.unknown()).nullable() });

export const joinData = z.object({
  Meeting: z.object({ MeetingId: z.string(), ExternalMeetingId: z.string(), MediaRegion: z.string(), MediaPlacement: z.record(z.string(), z.string()) }),
  Attendee: z.object({ AttendeeId: z.string(), ExternalUserId: z.string(), JoinToken: z.string() }),
  /** Whether the call is being recorded, and the notice to show before joining. */
  recording: z.object({ active: z.boolean(), notice: z.string() }),
});

/** Which parked tours to resume in bulk, and how fast (an HTTP request resumes at most 200). */
export const bulkRetryBody = z
  .object({
    step: z.enum(PROCESSING_STEPS).optional().describe('only tours parked at this step'),
    since: dateTimeInput('must be an ISO 8601 date-time with a time zone, e.g. 2026-12-01T00:00:00Z').optional().describe('only tours that failed at or after this time'),
    limit: bodyInt(1, 200).default(50),
    per_second: z.number().gt(0).max(20).default(5).describe('resumes per second at most, so a provider that just came back is not flooded'),
    dry_run: z.boolean().default(false).describe('list what would be resumed, change nothing'),
  })
  .strict();

export const bulkRetryResult = resourceSchema(
  'tour_retry_batch',
  z.object({
    dry_run: z.boolean(),
    matched: z.number().int(),
    resumed: z.array(z.number().int()),
    failed: z.array(z.object({ id: z.number().int(), reason: z.string() })),
    tours: z.array(z.object({ id: z.number().int(), step: z.string().nullable(), error: z.string().nullable(), failed_at: isoDateTime })),
  }),
);
