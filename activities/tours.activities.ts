import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Knex } from 'knex';
import { recordAudit } from '../db/audit';
import { AiPermanentError, type AnalysisInput, type TourAnalyst, type TranscriptSegment, type TranscriptionProvider } from '../adapters/ai/port';
import type { Notifier } from '../adapters/email/notifier';
import { EmailPermanentError } from '../adapters/email/port';
import type { Attendee, Meeting, MeetingProvider } from '../adapters/meetings/port';
import type { ObjectStorage } from '../adapters/storage/port';
import type { Logger } from '../lib/logger';

/**
 * The live call and the post-tour pipeline. The TourWorkflow calls these; each is safe to
 * retry (deterministic meeting tokens, upserts keyed by tour, a ledger for emails), and
 * each pipeline step records its own outcome in tour_processing_steps.
 */

export type ProcessingStep = 'recording' | 'transcription' | 'highlights' | 'summary' | 'summary_email';
export const PROCESSING_STEPS: ProcessingStep[] = ['recording', 'transcription', 'highlights', 'summary', 'summary_email'];
export type StepOutcome = { status: 'done' | 'skipped'; detail: string | null };

export const STEP_FAILED = 'ProcessingStepFailed';

interface Deps {
  knex: Knex;
  storage: ObjectStorage;
  meetings: MeetingProvider;
  transcriber: TranscriptionProvider;
  analyst: TourAnalyst;
  notifier: Notifier;
  logger: Logger;
}

const meetingToken = (tourId: number) => `tour-${tourId}`;
const externalUser = (userId: number) => `user-${userId}`;

function heartbeat(): void {
  try {
    Context.current().heartbeat();
  } catch {
    // Not inside an activity (direct calls in tests).
  }
}

/** Permanent provider refusals end the step for good; everything else is retried. */
function permanent(err: unknown): never {
  if (err instanceof AiPermanentError || err instanceof EmailPermanentError) {
    throw ApplicationFailure.nonRetryable(err.message, STEP_FAILED);
  }
  throw err;
}

export function createTourActivities(deps: Deps) {
  const { knex } = deps;

  async function recordStep(tourId: number, step: ProcessingStep, outcome: { status: 'running' | 'done' | 'skipped' | 'failed'; detail: string | null }) {
    await knex('tour_processing_steps')
      .insert({ tour_id: tourId, step, status: outcome.status, detail: outcome.detail, attempts: outcome.status === 'running' ? 1 : 0 })
      .onConflict(['tour_id', 'step'])
      .merge({
        status: outcome.status,
        detail: outcome.detail,
        updated_at: new Date(),
        ...(outcome.status === 'running' ? { attempts: knex.raw('tour_processing_steps.attempts + 1') } : {}),
      });
  }

  async function finish(tourId: number, step: ProcessingStep, outcome: StepOutcome): Promise<StepOutcome> {
    await recordStep(tourId, step, outcome);
    return outcome;
  }

  async function tourFacts(tourId: number) {
    const t = await knex('tours as t')
      .join('properties as p', 'p.id', 't.property_id')
      .join('users as b', 'b.id', 't.buyer_id')
      .join('users as r', 'r.id', 't.realtor_id')
      .where('t.id', tourId)
      .first<{ id: number; started_at: Date | null; address: string; price: string | null; buyer_id: number; buyer_name: string; buyer_email: string; realtor_id: number; realtor_name: string; realtor_email: string; summary: Record<string, unknown> | null }>(
        't.id', 't.started_at', 't.summary', 'p.address', 'p.price', 'b.id as buyer_id', 'b.full_name as buyer_name', 'b.email as buyer_email',
        'r.id as realtor_id', 'r.full_name as realtor_name', 'r.email as realtor_email',
      );
    if (!t) throw ApplicationFailure.nonRetryable(`Tour ${tourId} does not exist`, STEP_FAILED);
    return t;
  }

  async function analysisInput(tourId: number): Promise<AnalysisInput> {
    const t = await tourFacts(tourId);
    const notes = await knex('tour_notes as n')
      .join('users as u', 'u.id', 'n.user_id')
      .where('n.tour_id', tourId)
      .orderBy([{ column: 'n.timestamp_ms' }, { column: 'n.id' }])
      .select<Array<{ timestamp_ms: number | null; content: string; tag: string | null; role: string }>>('n.timestamp_ms', 'n.content', 'n.tag', 'u.role');
    const transcript = await knex('transcripts').where({ tour_id: tourId }).first<{ full_text: string | null; segments: TranscriptSegment[] | null } | undefined>();
    return {
      property: { address: t.address, price: t.price === null ? null : Number(t.price) },
      notes: notes.map((n) => ({ timestamp_ms: n.timestamp_ms ?? 0, content: n.content, tag: n.tag, author_role: n.role === 'realtor' ? 'realtor' : 'buyer' })),
      transcript: transcript ? { text: transcript.full_text ?? '', segments: transcript.segments ?? [] } : null,
    };
  }

  return {
    /** Creates (or finds again) the tour's meeting, and marks the call active and the tour in progress. */
    async startCall(tourId: number, actorUserId: number): Promise<Meeting> {
      const meeting = await deps.meetings.createMeeting({ clientRequestToken: meetingToken(tourId), externalMeetingId: meetingToken(tourId) });
      await knex.transaction(async (trx) => {
        const tour = await trx('tours').where({ id: tourId }).forUpdate().first<{ status: string; started_at: Date | null }>();
        if (!tour) throw ApplicationFailure.nonRetryable(`Tour ${tourId} does not exist`, STEP_FAILED);
        await trx('calls').where({ tour_id: tourId }).update({ chime_meeting_id: meeting.MeetingId, meeting: JSON.stringify(meeting), status: 'active', started_at: trx.raw('COALESCE(started_at, now())') });
        if (tour.status === 'scheduled') {
          await trx('tours').where({ id: tourId }).update({ status: 'in_progress', started_at: new Date() });
          await recordAudit(trx, { actorId: actorUserId, action: 'tour_started', resourceType: 'tour', resourceId: tourId, details: { status: { from: 'scheduled', to: 'in_progress' }, meeting_id: meeting.MeetingId } });
        }
      });
      return meeting;
    },

    /** The user's own attendee (the same one again on a second join). */
    async joinCall(tourId: number, userId: number): Promise<{ Meeting: Meeting; Attendee: Attendee }> {
      const call = await knex('calls').where({ tour_id: tourId }).first<{ id: number; meeting: Meeting | null }>();
      if (!call?.meeting) throw ApplicationFailure.nonRetryable('The call has not started', STEP_FAILED);
      const attendee = await deps.meetings.createAttendee(call.meeting.MeetingId, externalUser(userId));
      await knex('call_attendees')
        .insert({ call_id: call.id, user_id: userId, attendee_id: attendee.AttendeeId })
        .onConflict(['call_id', 'user_id'])
        .merge({ attendee_id: attendee.AttendeeId, joined_at: new Date(), left_at: null });
      return { Meeting: call.meeting, Attendee: attendee };
    },

    async leaveCall(tourId: number, userId: number): Promise<void> {
      const call = await knex('calls').where({ tour_id: tourId }).first<{ id: number; meeting: Meeting | null }>();
      const row = call && (await knex('call_attendees').where({ call_id: call.id, user_id: userId }).first<{ attendee_id: string } | undefined>());
      if (!call?.meeting || !row) return;
      await deps.meetings.deleteAttendee(call.meeting.MeetingId, row.attendee_id);
      await knex('call_attendees').where({ call_id: call.id, user_id: userId }).update({ left_at: new Date() });
    },

    async setRecording(tourId: number, on: boolean): Promise<{ recording: boolean }> {
      const call = await knex('calls').where({ tour_id: tourId }).first<{ id: number; meeting: Meeting | null; recording_pipelines: Array<{ id: string; active: boolean }>; recording_active: boolean }>();
      if (!call?.meeting) throw ApplicationFailure.nonRetryable('The call has not started', STEP_FAILED);
      if (call.recording_active === on) return { recording: on };
      const pipelines = [...call.recording_pipelines];
      if (on) {
        const { pipelineId } = await deps.meetings.startRecording(call.meeting.MeetingId, `recordings/tour-${tourId}/capture-${pipelines.length + 1}`);
        pipelines.push({ id: pipelineId, active: true });
      } else {
        for (const p of pipelines.filter((x) => x.active)) {
          await deps.meetings.stopRecording(p.id);
          p.active = false;
        }
      }
      await knex('calls').where({ id: call.id }).update({ recording_active: on, recording_pipelines: JSON.stringify(pipelines) });
      return { recording: on };
    },

    /** Ends the call: stops capture, deletes the meeting, and moves the tour to processing. */
    async endCall(tourId: number, actorUserId: number | null, reason: string): Promise<void> {
      const call = await knex('calls').where({ tour_id: tourId }).first<{ id: number; meeting: Meeting | null; recording_pipelines: Array<{ id: string; active: boolean }> }>();
      if (call?.meeting) {
        for (const p of call.recording_pipelines.filter((x) => x.active)) await deps.meetings.stopRecording(p.id);
        await deps.meetings.deleteMeeting(call.meeting.MeetingId);
      }
      await knex.transaction(async (trx) => {
        const tour = await trx('tours').where({ id: tourId }).forUpdate().first<{ status: string }>();
        if (!tour || tour.status !== 'in_progress') return;
        await trx('calls')
          .where({ tour_id: tourId })
          .update({
            status: 'ended',
            ended_at: trx.raw('COALESCE(ended_at, now())'),
            recording_active: false,
            recording_pipelines: JSON.stringify((call?.recording_pipelines ?? []).map((p) => ({ ...p, active: false }))),
          });
        await trx('call_attendees').whereIn('call_id', trx('calls').select('id').where({ tour_id: tourId })).whereNull('left_at').update({ left_at: new Date() });
        await trx('tours').where({ id: tourId }).update({ status: 'processing', ended_at: new Date(), processing_step: 'recording', processing_error: null });
        await recordAudit(trx, { actorId: actorUserId, action: 'tour_ended', resourceType: 'tour', resourceId: tourId, details: { status: { from: 'in_progress', to: 'processing' }, reason } });
      });
    },

    /** The tour's status as the workflow moves it (cancelled, completed, processing_failed, back to processing). */
    async setTourStatus(tourId: number, status: 'cancelled' | 'completed' | 'processing' | 'processing_failed', detail: { step?: string | null; error?: string | null; reason?: string } = {}): Promise<void> {
      await knex.transaction(async (trx) => {
        const t = await trx('tours').where({ id: tourId }).forUpdate().first<{ status: string; processing_step: string | null; processing_error: string | null } | undefined>();
        if (!t) return;
        const patch: Record<string, unknown> = { status };
        if (detail.step !== undefined) patch.processing_step = detail.step;
        if (detail.error !== undefined) patch.processing_error = detail.error;
        if (t.status === status && t.processing_step === (patch.processing_step ?? t.processing_step) && t.processing_error === (patch.processing_error ?? t.processing_error)) return;
        await trx('tours').where({ id: tourId }).update(patch);
        if (status === 'cancelled') await trx('calls').where({ tour_id: tourId }).whereIn('status', ['created', 'active']).update({ status: 'cancelled' });
        if (t.status !== status) {
          await recordAudit(trx, { actorId: null, action: `tour_${status}`, resourceType: 'tour', resourceId: tourId, details: { status: { from: t.status, to: status }, ...detail } });
        }
      });
    },

    async markStepFailed(tourId: number, step: ProcessingStep, reason: string): Promise<void> {
      await recordStep(tourId, step, { status: 'failed', detail: reason.slice(0, 2000) });
    },

    /** Step 1: the recording row, from an upload or the call's capture; skipped without either. */
    async processRecording(tourId: number): Promise<StepOutcome> {
      await recordStep(tourId, 'recording', { status: 'running', detail: null });
      const existing = await knex('recordings').where({ tour_id: tourId }).first<{ id: number } | undefined>();
      if (existing) return finish(tourId, 'recording', { status: 'done', detail: 'uploaded recording' });
      const call = await knex('calls').where({ tour_id: tourId }).first<{ meeting: Meeting | null; recording_pipelines: Array<{ id: string }>; started_at: Date | null }>();
      const pipelineIds = (call?.recording_pipelines ?? []).map((p) => p.id);
      if (!call?.meeting || !pipelineIds.length) return finish(tourId, 'recording', { status: 'skipped', detail: 'The call was not recorded' });
      const result = await deps.meetings.finalizeRecording({ meetingId: call.meeting.MeetingId, pipelineIds, keyPrefix: `recordings/tour-${tourId}`, heartbeat });
      if (!result) return finish(tourId, 'recording', { status: 'skipped', detail: 'Nothing was captured during the call' });
      await knex('recordings')
        .insert({ tour_id: tourId, storage_key: result.key, source: 'call', recorded_at: call.started_at, content_type: 'video/mp4' })
        .onConflict('tour_id')
        .merge({ storage_key: result.key, source: 'call' });
      return finish(tourId, 'recording', { status: 'done', detail: null });
    },

    /** Step 2: the transcript, via the configured transcription provider. */
    async processTranscription(tourId: number): Promise<StepOutcome> {
      await recordStep(tourId, 'transcription', { status: 'running', detail: null });
      const rec = await knex('recordings').where({ tour_id: tourId }).first<{ storage_key: string; content_type: string | null } | undefined>();
      if (!rec) return finish(tourId, 'transcription', { status: 'skipped', detail: 'No recording to transcribe' });
      if (!deps.transcriber.configured) return finish(tourId, 'transcription', { status: 'skipped', detail: 'No transcription provider is configured' });
      const dir = await mkdtemp(path.join(tmpdir(), 'rfy-transcribe-'));
      try {
        const filename = path.basename(rec.storage_key);
        const file = path.join(dir, filename);
        const obj = await deps.storage.get(rec.storage_key);
        await pipeline(obj.body, createWriteStream(file));
        heartbeat();
        const t = await deps.transcriber.transcribe({ file, filename, contentType: rec.content_type ?? obj.contentType, heartbeat }).catch(permanent);
        await knex('transcripts')
          .insert({ tour_id: tourId, full_text: t.text, segments: JSON.stringify(t.segments), confidence_score: t.confidence, language: t.language, model: t.model })
          .onConflict('tour_id')
          .merge(['full_text', 'segments', 'confidence_score', 'language', 'model']);
        return finish(tourId, 'transcription', { status: 'done', detail: `${t.segments.length} segments` });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },

    /** Step 3: highlights from the people's tagged notes and the analyst; replaces earlier ones. */
    async processHighlights(tourId: number): Promise<StepOutcome> {
      await recordStep(tourId, 'highlights', { status: 'running', detail: null });
      const input = await analysisInput(tourId);
      const drafts = await deps.analyst.highlights(input).catch(permanent);
      // Notes people tagged are highlights as they are; the analyst's drafts add to them.
      const tagged = input.notes.filter((n) => n.tag).map((n) => ({ timestamp_ms: n.timestamp_ms, type: n.tag!, note: n.content, source: 'note' }));
      const seen = new Set(tagged.map((h) => `${h.timestamp_ms}|${h.note}`));
      const rows = [
        ...tagged,
        ...drafts.filter((d) => !seen.has(`${d.timestamp_ms}|${d.note}`)).map((d) => ({ ...d, source: deps.analyst.name === 'local' ? 'extractive' : 'ai' })),
      ];
      await knex.transaction(async (trx) => {
        await trx('highlights').where({ tour_id: tourId }).delete();
        if (rows.length) {
          await trx('highlights').insert(rows.map((r) => ({ tour_id: tourId, timestamp_ms: r.timestamp_ms, note: r.note, highlight_type: r.type.slice(0, 50), source: r.source })));
        }
      });
      return finish(tourId, 'highlights', { status: 'done', detail: `${rows.length} highlights` });
    },

    /** Step 4: the summary on the tour, marked as AI-generated. */
    async processSummary(tourId: number): Promise<StepOutcome> {
      await recordStep(tourId, 'summary', { status: 'running', detail: null });
      const input = await analysisInput(tourId);
      const highlights = await knex('highlights').where({ tour_id: tourId }).orderBy('timestamp_ms').select<Array<{ timestamp_ms: number; highlight_type: string; note: string }>>('timestamp_ms', 'highlight_type', 'note');
      const summary = await deps.analyst
        .summarize({ ...input, highlights: highlights.map((h) => ({ timestamp_ms: h.timestamp_ms, type: h.highlight_type as never, note: h.note })) })
        .catch(permanent);
      await knex('tours').where({ id: tourId }).update({ summary: JSON.stringify(summary) });
      return finish(tourId, 'summary', { status: 'done', detail: summary.model });
    },

    /** Step 5: the summary emailed to both, once each. */
    async processSummaryEmail(tourId: number): Promise<StepOutcome> {
      await recordStep(tourId, 'summary_email', { status: 'running', detail: null });
      const t = await tourFacts(tourId);
      const summary = (t.summary ?? {}) as { overview?: string; key_points?: string[]; next_steps?: string[] };
      const list = (xs: string[] | undefined) => (xs?.length ? xs.map((x) => `- ${x}`).join('\n') : '- (none)');
      let failed = 0;
      for (const r of [
        { id: t.buyer_id, name: t.buyer_name, email: t.buyer_email },
        { id: t.realtor_id, name: t.realtor_name, email: t.realtor_email },
      ]) {
        try {
          await deps.notifier.send({
            idempotencyKey: `tour-summary:${tourId}:user-${r.id}`,
            template: 'tour-summary',
            to: r.email,
            recipientUserId: r.id,
            vars: { recipient_name: r.name, property_address: t.address, overview: summary.overview ?? '', key_points: list(summary.key_points), next_steps: list(summary.next_steps) },
          });
        } catch (err) {
          if (!(err instanceof EmailPermanentError)) throw err;
          failed += 1;
        }
      }
      return finish(tourId, 'summary_email', { status: 'done', detail: failed ? `${failed} recipient(s) refused by the provider` : null });
    },
  };
}
