import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure } from '@temporalio/activity';
import type { Knex } from 'knex';
import sharp from 'sharp';
import { recordAudit } from '../db/audit';
import { currentActivity } from './activity-context';
import { toursRepository, type TourFacts, type TourPatch } from '../db/repositories/tours.repository';
import { AiPermanentError, type AnalysisInput, type TourAnalyst, type TranscriptSegment, type TranscriptionProvider } from '../adapters/ai/port';
import type { Notifier } from '../adapters/email/notifier';
import { EmailPermanentError } from '../adapters/email/port';
import { extractFrame, probeMedia, UnreadableMediaError } from '../adapters/media/ffmpeg';
import type { Attendee, Meeting, MeetingProvider } from '../adapters/meetings/port';
import { labelSegments, type SpeakerRole, type SpeakerTurn } from '../adapters/meetings/speakers';
import type { ObjectStorage } from '../adapters/storage/port';
import type { Logger } from '../lib/logger';
import * as kpi from './kpis';
import { sendToAll } from './email-refusal';
import { createProcessingActivities } from './processing.activities';
import { recordTourNoticeEvent, recordTourStepEvent } from './webhooks.activities';
import { startTourFeedback } from './feedback.activities';
import { recordingNotice, TOUR_FAILURES, tourRecordingPrefix, tourWorkflowId, type ProcessingStep, type StepOutcome, type StepStatus, type TourNoticeKind, TOUR_STATUS, type WorkflowWrittenTourStatus } from '../contracts/tours';

/**
 * The live call and the post-tour pipeline. The TourWorkflow calls these; each is safe to
 * retry (deterministic meeting tokens, upserts keyed by tour, a ledger for emails), and
 * each pipeline step records its own outcome in tour_processing_steps.
 */

const STEP_FAILED = TOUR_FAILURES.stepFailed;

/** Older imports find these here; they are declared in the contract. */
export { PROCESSING_STEPS, type ProcessingStep, type StepOutcome } from '../contracts/tours';

interface Deps {
  knex: Knex;
  storage: ObjectStorage;
  meetings: MeetingProvider;
  transcriber: TranscriptionProvider;
  analyst: TourAnalyst;
  notifier: Notifier;
  logger: Logger;
  /** RECORD_CALLS: the recording starts with the call. */
  recordCalls: boolean;
  /** Where clients reach the API (links in emails). */
  publicBaseUrl: string;
}

/** Highlight thumbnails: small enough for an email or a list, sharp enough to recognise a room. */
const THUMB_WIDTH = 480;

/** One meeting per tour: a retried start finds the same one. */
const meetingToken = tourWorkflowId;
const externalUser = (userId: number) => `user-${userId}`;

/** The activity's cancellation, so a long transcription stops when the workflow cancels it. */
function cancellation(): AbortSignal | undefined {
  return currentActivity()?.cancellationSignal;
}

function heartbeat(): void {
  currentActivity()?.heartbeat();
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
  const tours = toursRepository(knex);

  // When this worker began each running step attempt, for the step duration KPI.
  const stepStarted = new Map<string, number>();
  const recordStep = (tourId: number, step: ProcessingStep, outcome: { status: StepStatus; detail: string | null }) => {
    if (outcome.status === 'running') stepStarted.set(`${tourId}:${step}`, Date.now());
    return tours.steps.record(tourId, step, outcome);
  };

  async function finish(tourId: number, step: ProcessingStep, outcome: StepOutcome): Promise<StepOutcome> {
    // recording.ready, transcript.ready, summary.ready (webhooks): once per tour, before the step counts as done.
    if (outcome.status === 'done') await recordTourStepEvent(knex, tourId, step);
    await recordStep(tourId, step, outcome);
    const started = stepStarted.get(`${tourId}:${step}`);
    stepStarted.delete(`${tourId}:${step}`);
    if (started !== undefined) kpi.pipelineStepSeconds.observe({ step, outcome: outcome.status }, kpi.secondsBetween(started, Date.now()));
    return outcome;
  }

  async function tourFacts(tourId: number): Promise<TourFacts> {
    const t = await tours.facts(tourId);
    if (!t) throw ApplicationFailure.nonRetryable(`Tour ${tourId} does not exist`, STEP_FAILED);
    return t;
  }

  async function analysisInput(tourId: number): Promise<AnalysisInput> {
    const t = await tourFacts(tourId);
    const notes = await tours.notes.withRoles(tourId);
    const transcript = await tours.transcripts.find<TranscriptSegment>(tourId);
    return {
      property: { address: t.address, price: t.price === null ? null : Number(t.price) },
      notes: notes.map((n) => ({ timestamp_ms: n.timestamp_ms ?? 0, content: n.content, tag: n.tag, author_role: n.role === 'realtor' ? 'realtor' : 'buyer' })),
      transcript: transcript ? { text: transcript.full_text ?? '', segments: transcript.segments ?? [] } : null,
    };
  }

  /**
   * Starts or stops capturing the call; each start is a capture of its own (its own key
   * prefix), and the recording step joins them. Audit-logged; a repeat is a no-op.
   */
  async function setRecording(tourId: number, on: boolean, actorUserId: number | null, reason?: string): Promise<{ recording: boolean }> {
    const call = await tours.calls.ofTour<Meeting>(tourId);
    if (!call?.meeting) throw ApplicationFailure.nonRetryable('The call has not started', STEP_FAILED);
    if (call.recording_active === on) return { recording: on };
    const pipelines = [...call.recording_pipelines];
    if (on) {
      const { pipelineId } = await deps.meetings.startRecording(call.meeting.MeetingId, `${tourRecordingPrefix(tourId)}/capture-${pipelines.length + 1}`);
      pipelines.push({ id: pipelineId, active: true });
    } else {
      for (const p of pipelines.filter((x) => x.active)) {
        await deps.meetings.stopRecording(p.id);
        p.active = false;
      }
    }
    await knex.transaction(async (trx) => {
      if (await toursRepository(trx).calls.setRecording(call.id, on, pipelines)) {
        await recordAudit(trx, {
          actorId: actorUserId,
          action: on ? 'call_recording_started' : 'call_recording_stopped',
          resourceType: 'call',
          resourceId: call.id,
          details: { tour_id: tourId, capture: on ? pipelines.length : undefined, reason },
        });
      }
    });
    return { recording: on };
  }

  /** The stored object as a file in a temporary folder, for tools that read files (ffmpeg, the transcriber). */
  async function withLocalCopy<T>(key: string, use: (file: string, contentType: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(path.join(tmpdir(), 'rfy-recording-'));
    try {
      const file = path.join(dir, path.basename(key));
      const obj = await deps.storage.get(key);
      await pipeline(obj.body, createWriteStream(file));
      heartbeat();
      return await use(file, obj.contentType);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * For a video recording, a WebP still at each highlight's moment, stored through the
   * storage port under a key made of the tour and the moment (a retry overwrites the same
   * files). Returns moment → storage key; empty for audio-only or no recording.
   */
  async function highlightImages(tourId: number, moments: number[]): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    const rec = await tours.recordings.find(tourId);
    if (!rec || !moments.length) return out;
    await withLocalCopy(rec.storage_key, async (file) => {
      const info = await probeMedia(file).catch(() => null);
      if (!info?.hasVideo) return;
      for (const ms of moments) {
        heartbeat();
        const png = await extractFrame(file, ms, { durationMs: info.durationMs });
        if (!png) continue;
        const webp = await sharp(png).resize({ width: THUMB_WIDTH, withoutEnlargement: true }).webp({ quality: 80 }).toBuffer();
        const key = `${tourRecordingPrefix(tourId)}/highlights/${ms}.webp`;
        await deps.storage.put(key, webp, 'image/webp');
        out.set(ms, key);
      }
    });
    return out;
  }

  /** Sends to each person once (the ledger's key), all at once; a provider's permanent refusal of one person is counted, not retried. */
  async function sendEach<P extends { id: number }>(people: P[], mail: (p: P) => Parameters<Notifier['send']>[0]): Promise<number> {
    const outcomes = await sendToAll(people.map((p) => deps.notifier.send(mail(p))));
    return outcomes.filter((o) => 'refused' in o).length;
  }

  function peopleOf(t: TourFacts) {
    return [
      { id: t.buyer_id, name: t.buyer_name, email: t.buyer_email, area: 'buyers', other: t.realtor_name },
      { id: t.realtor_id, name: t.realtor_name, email: t.realtor_email, area: 'realtors', other: t.buyer_name },
    ];
  }

  const activities = {
    /**
     * Creates (or finds again) the tour's meeting, marks the call active and the tour in
     * progress, and with RECORD_CALLS starts recording it at once.
     */
    async startCall(tourId: number, actorUserId: number): Promise<Meeting & { recording: boolean }> {
      const meeting = await deps.meetings.createMeeting({ clientRequestToken: meetingToken(tourId), externalMeetingId: meetingToken(tourId) });
      let startedNow = false;
      await knex.transaction(async (trx) => {
        const repo = toursRepository(trx);
        const tour = await repo.find(tourId, { forUpdate: true });
        if (!tour) throw ApplicationFailure.nonRetryable(`Tour ${tourId} does not exist`, STEP_FAILED);
        await repo.calls.open(tourId, meeting);
        if (tour.status === TOUR_STATUS.scheduled) {
          await repo.update(tourId, { status: TOUR_STATUS.in_progress, started_at: new Date() });
          await recordAudit(trx, { actorId: actorUserId, action: 'tour_started', resourceType: 'tour', resourceId: tourId, details: { status: { from: 'scheduled', to: 'in_progress' }, meeting_id: meeting.MeetingId } });
          startedNow = true;
        }
      });
      if (startedNow) kpi.toursStarted.inc();
      const recording = deps.recordCalls ? (await setRecording(tourId, true, actorUserId, 'recorded by default (RECORD_CALLS)')).recording : false;
      return { ...meeting, recording };
    },

    /** The user's own attendee (the same one again on a second join). */
    async joinCall(tourId: number, userId: number): Promise<{ Meeting: Meeting; Attendee: Attendee }> {
      const call = await tours.calls.ofTour<Meeting>(tourId);
      if (!call?.meeting) throw ApplicationFailure.nonRetryable('The call has not started', STEP_FAILED);
      const attendee = await deps.meetings.createAttendee(call.meeting.MeetingId, externalUser(userId));
      let setup: { phase: 'confirm_to_first_join' | 'start_to_both_joined'; from: Date } | undefined;
      await knex.transaction(async (trx) => {
        const repo = toursRepository(trx);
        // The tour's lock orders concurrent first joins, so "first" and "both" are each seen once.
        await repo.find(tourId, { forUpdate: true });
        const attendees = repo.attendees;
        const before = await attendees.find(call.id, userId, { forUpdate: true });
        if (!before) {
          const others = (await attendees.of(call.id)).filter((a) => a.user_id !== userId);
          // The call row is created when the booking is confirmed.
          if (others.length === 0) setup = { phase: 'confirm_to_first_join', from: call.created_at };
          else if (others.length === 1 && call.started_at) setup = { phase: 'start_to_both_joined', from: call.started_at };
        }
        await attendees.join(call.id, userId, attendee.AttendeeId);
        // A retried or repeated join of someone already in the call is not a new event.
        if (!before || before.left_at) {
          await recordAudit(trx, { actorId: userId, action: 'call_joined', resourceType: 'call', resourceId: call.id, details: { tour_id: tourId, attendee_id: attendee.AttendeeId } });
        }
      });
      if (setup) kpi.callSetupSeconds.observe({ phase: setup.phase }, kpi.secondsBetween(setup.from, Date.now()));
      return { Meeting: call.meeting, Attendee: attendee };
    },

    async leaveCall(tourId: number, userId: number): Promise<void> {
      const call = await tours.calls.ofTour<Meeting>(tourId);
      const row = call && (await tours.attendees.find(call.id, userId));
      if (!call?.meeting || !row) return;
      await deps.meetings.deleteAttendee(call.meeting.MeetingId, row.attendee_id);
      await knex.transaction(async (trx) => {
        if (await toursRepository(trx).attendees.leave(call.id, userId)) await recordAudit(trx, { actorId: userId, action: 'call_left', resourceType: 'call', resourceId: call.id, details: { tour_id: tourId } });
      });
    },

    setRecording: (tourId: number, on: boolean, actorUserId: number | null = null) => setRecording(tourId, on, actorUserId),

    /** Ends the call: stops capture, deletes the meeting, and moves the tour to processing. */
    async endCall(tourId: number, actorUserId: number | null, reason: string): Promise<void> {
      const call = await tours.calls.ofTour<Meeting>(tourId);
      if (call?.meeting) {
        for (const p of call.recording_pipelines.filter((x) => x.active)) await deps.meetings.stopRecording(p.id);
        await deps.meetings.deleteMeeting(call.meeting.MeetingId);
      }
      const endedAt = new Date();
      const startedAt = await knex.transaction(async (trx) => {
        const repo = toursRepository(trx);
        const tour = await repo.find(tourId, { forUpdate: true });
        if (!tour || tour.status !== TOUR_STATUS.in_progress) return undefined;
        await repo.calls.end(tourId, call?.recording_pipelines ?? []);
        await repo.update(tourId, { status: TOUR_STATUS.processing, ended_at: endedAt, processing_step: 'recording', processing_error: null });
        await recordAudit(trx, { actorId: actorUserId, action: 'tour_ended', resourceType: 'tour', resourceId: tourId, details: { status: { from: 'in_progress', to: 'processing' }, reason } });
        return tour.started_at ?? endedAt;
      });
      if (startedAt) kpi.meetingDurationSeconds.observe(kpi.secondsBetween(startedAt, endedAt));
    },

    /** The tour's status as the workflow moves it (cancelled, completed, processing_failed, back to processing). */
    async setTourStatus(tourId: number, status: WorkflowWrittenTourStatus, detail: { step?: string | null; error?: string | null; reason?: string } = {}): Promise<void> {
      const completedNow = await knex.transaction(async (trx) => {
        const repo = toursRepository(trx);
        const t = await repo.find(tourId, { forUpdate: true });
        if (!t) return false;
        const patch: TourPatch = { status };
        if (detail.step !== undefined) patch.processing_step = detail.step as ProcessingStep | null;
        if (detail.error !== undefined) patch.processing_error = detail.error;
        if (t.status === status && t.processing_step === (patch.processing_step ?? t.processing_step) && t.processing_error === (patch.processing_error ?? t.processing_error)) return false;
        await repo.update(tourId, patch);
        if (status === TOUR_STATUS.cancelled) await repo.calls.cancelOpen(tourId);
        if (t.status !== status) {
          await recordAudit(trx, { actorId: null, action: `tour_${status}`, resourceType: 'tour', resourceId: tourId, details: { status: { from: t.status, to: status }, ...detail } });
        }
        return t.status !== status && status === TOUR_STATUS.completed;
      });
      if (completedNow) kpi.toursCompleted.inc();
    },

    async markStepFailed(tourId: number, step: ProcessingStep, reason: string): Promise<void> {
      const before = (await tours.steps.of(tourId))[step]?.status;
      await recordStep(tourId, step, { status: 'failed', detail: reason.slice(0, 2000) });
      stepStarted.delete(`${tourId}:${step}`);
      // A retried mark finds the step failed already.
      if (before !== 'failed') kpi.pipelineStepFailures.inc({ step });
    },

    /**
     * Step 1: the recording, from an upload or the call's captures (several captures are
     * joined into one file by the meeting provider), with its length and size measured,
     * and who spoke when where the provider knows it; skipped without either.
     */
    async processRecording(tourId: number): Promise<StepOutcome> {
      await recordStep(tourId, 'recording', { status: 'running', detail: null });
      let rec = await tours.recordings.find(tourId);
      const source = rec ? 'uploaded recording' : 'call recording';
      if (!rec) {
        const call = await tours.calls.ofTour<Meeting>(tourId);
        const pipelineIds = (call?.recording_pipelines ?? []).map((p) => p.id);
        if (!call?.meeting || !pipelineIds.length) return finish(tourId, 'recording', { status: 'skipped', detail: 'The call was not recorded' });
        const attendees = await tours.attendees.of(call.id);
        const result = await deps.meetings.finalizeRecording({
          meetingId: call.meeting.MeetingId,
          pipelineIds,
          keyPrefix: tourRecordingPrefix(tourId),
          attendees: Object.fromEntries(attendees.map((a) => [a.attendee_id, externalUser(a.user_id)])),
          heartbeat,
        });
        if (!result) return finish(tourId, 'recording', { status: 'skipped', detail: 'Nothing was captured during the call' });
        await tours.recordings.save(
          { tour_id: tourId, storage_key: result.key, source: 'call', recorded_at: call.started_at, content_type: 'video/mp4', speaker_turns: result.speakers ?? null },
          ['storage_key', 'source', 'speaker_turns'],
        );
        rec = (await tours.recordings.find(tourId))!;
      }
      const measured = await withLocalCopy(rec.storage_key, async (file) => {
        const info = await probeMedia(file, { heartbeat }).catch((err) => {
          if (err instanceof UnreadableMediaError) throw ApplicationFailure.nonRetryable(`The recording cannot be read: ${err.message}`, STEP_FAILED);
          throw err;
        });
        return { info, bytes: (await stat(file)).size };
      });
      if (rec.duration_seconds === null && measured.info.durationMs !== null) kpi.recordingSeconds.inc(measured.info.durationMs / 1000);
      await tours.recordings.measured(tourId, {
        duration_seconds: measured.info.durationMs === null ? null : Math.round(measured.info.durationMs / 1000),
        file_size_bytes: measured.bytes,
      });
      return finish(tourId, 'recording', { status: 'done', detail: source });
    },

    /** Step 2: the transcript, via the configured transcription provider; segments labelled with their speaker where known. */
    async processTranscription(tourId: number): Promise<StepOutcome> {
      await recordStep(tourId, 'transcription', { status: 'running', detail: null });
      const rec = await tours.recordings.find<SpeakerTurn>(tourId);
      if (!rec) return finish(tourId, 'transcription', { status: 'skipped', detail: 'No recording to transcribe' });
      if (!deps.transcriber.configured) return finish(tourId, 'transcription', { status: 'skipped', detail: 'No transcription provider is configured' });
      const transcribing = Date.now();
      const t = await withLocalCopy(rec.storage_key, (file, contentType) =>
        deps.transcriber.transcribe({ file, filename: path.basename(rec.storage_key), contentType: rec.content_type ?? contentType, heartbeat, signal: cancellation() }).catch(permanent),
      );
      const facts = await tourFacts(tourId);
      const roles = new Map<string, SpeakerRole>([[externalUser(facts.buyer_id), 'buyer'], [externalUser(facts.realtor_id), 'realtor']]);
      const segments = labelSegments(t.segments, rec.speaker_turns, (who) => roles.get(who));
      await tours.transcripts.save({ tour_id: tourId, full_text: t.text, segments, confidence_score: t.confidence, language: t.language, model: t.model });
      if (rec.duration_seconds) kpi.transcriptionRealTimeFactor.observe({ provider: deps.transcriber.name }, kpi.secondsBetween(transcribing, Date.now()) / rec.duration_seconds);
      return finish(tourId, 'transcription', { status: 'done', detail: `${t.segments.length} segments` });
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
      const images = await highlightImages(tourId, [...new Set(rows.map((r) => r.timestamp_ms))]);
      await knex.transaction((trx) =>
        toursRepository(trx).highlights.replace(
          tourId,
          rows.map((r) => ({ timestamp_ms: r.timestamp_ms, note: r.note, highlight_type: r.type.slice(0, 50), source: r.source, image_url: images.get(r.timestamp_ms) ?? null })),
        ),
      );
      return finish(tourId, 'highlights', { status: 'done', detail: `${rows.length} highlights${images.size ? `, ${images.size} frames` : ''}` });
    },

    /** Step 4: the summary on the tour, marked as AI-generated. */
    async processSummary(tourId: number): Promise<StepOutcome> {
      await recordStep(tourId, 'summary', { status: 'running', detail: null });
      const input = await analysisInput(tourId);
      const highlights = await tours.highlights.of(tourId);
      const summary = await deps.analyst
        .summarize({ ...input, highlights: highlights.map((h) => ({ timestamp_ms: h.timestamp_ms, type: h.highlight_type as never, note: h.note })) })
        .catch(permanent);
      await tours.update(tourId, { summary: summary as unknown as Record<string, unknown> });
      const endedAt = (await tours.find(tourId))?.ended_at;
      if (endedAt) kpi.endToSummarySeconds.observe(kpi.secondsBetween(endedAt, Date.now()));
      return finish(tourId, 'summary', { status: 'done', detail: summary.model });
    },

    /** Step 5: the summary emailed to both, once each. */
    async processSummaryEmail(tourId: number): Promise<StepOutcome> {
      await recordStep(tourId, 'summary_email', { status: 'running', detail: null });
      const t = await tourFacts(tourId);
      const summary = (t.summary ?? {}) as { overview?: string; key_points?: string[]; next_steps?: string[] };
      const list = (xs: string[] | undefined) => (xs?.length ? xs.map((x) => `- ${x}`).join('\n') : '- (none)');
      const failed = await sendEach(peopleOf(t), (r) => ({
        idempotencyKey: `tour-summary:${tourId}:user-${r.id}`,
        template: 'tour-summary',
        to: r.email,
        recipientUserId: r.id,
        vars: { recipient_name: r.name, property_address: t.address, overview: summary.overview ?? '', key_points: list(summary.key_points), next_steps: list(summary.next_steps) },
      }));
      return finish(tourId, 'summary_email', { status: 'done', detail: failed ? `${failed} recipient(s) refused by the provider` : null });
    },

    /**
     * tour_start (how to join, and whether the call is recorded) or tour_end (the recap is
     * on its way) to both participants, once each.
     */
    async sendTourNotice(tourId: number, kind: TourNoticeKind): Promise<void> {
      const t = await tourFacts(tourId);
      await recordTourNoticeEvent(knex, tourId, kind);
      // The showing is over: the buyer's feedback is asked for (once per tour, whatever the retries).
      if (kind === 'tour_end') await startTourFeedback(tourId);
      const call = await tours.calls.ofTour(tourId);
      const refused = await sendEach(peopleOf(t), (p) => ({
        idempotencyKey: `${kind}:${tourId}:user-${p.id}`,
        template: kind === 'tour_start' ? 'tour-start' : 'tour-end',
        to: p.email,
        recipientUserId: p.id,
        vars: {
          recipient_name: p.name,
          other_party_name: p.other,
          property_address: t.address,
          ...(kind === 'tour_start'
            ? { join_url: call ? `${deps.publicBaseUrl}/api/v1/${p.area}/calls/${call.id}/join` : '', recording_notice: recordingNotice(Boolean(call?.recording_active)) }
            : {}),
        },
      }));
      if (refused) deps.logger.warn({ tourId, kind, refused }, 'tour notice refused by the email provider');
    },
  };
  const processing = createProcessingActivities({
    recorded: (tourId) => tours.steps.of(tourId),
    currentStep: async (tourId) => (await tours.find(tourId))?.processing_step ?? null,
    run: {
      recording: activities.processRecording,
      transcription: activities.processTranscription,
      highlights: activities.processHighlights,
      summary: activities.processSummary,
      summary_email: activities.processSummaryEmail,
    },
    setTourStatus: activities.setTourStatus,
    markStepFailed: activities.markStepFailed,
  });
  return { ...activities, ...processing };
}
