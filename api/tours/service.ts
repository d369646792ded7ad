import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { Client, WorkflowHandle, WorkflowUpdateHandle, WorkflowUpdateStage } from '@temporalio/client';
import { recordAudit } from '../../db/audit';
import type { ObjectStorage } from '../../adapters/storage/port';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../lib/errors';
import { DEFAULT_WORKFLOW_COMMAND_WAIT_MS } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import { endTourUpdate, joinCallUpdate, leaveCallUpdate, recordingNotice, retryProcessingUpdate, setRecordingUpdate, startTourUpdate, TOUR_ACCEPTS_UPLOAD, TOUR_CANCELLABLE, tourRecordingPrefix, tourWorkflowId, type ProcessingStep, type StepStatus, type TourStatus, TOUR_STATUS } from '../../contracts/tours';
import { bookingWorkflowId, cancelUpdate } from '../../contracts/bookings';
import { bookingsRepository } from '../../db/repositories/bookings.repository';
import { toursRepository, type CallRecord, type TourView } from '../../db/repositories/tours.repository';
import { CommandIdempotency, type CommandAnswer } from '../idempotency';
import { runWorkflowCommand, runWorkflowUpdate } from '../workflow-errors';
import { resumeParkedTours, type ResumeSummary } from './resume-parked';
import type { PageMeta } from '../envelope';
import { pageMeta, type PageRequest } from '../pagination';
import type { Actor, StreamedUpload } from '../routing';
import { detectMediaType, peekStart } from './media';
import { tourPolicy } from './policy';

export interface TourServiceDeps {
  knex: Knex;
  temporal: Client;
  storage: ObjectStorage;
  logger: Logger;
  earlyStartMinutes: number;
  notesGraceMinutes: number;
  /** How long a command is waited for before it is answered 202 (WORKFLOW_COMMAND_WAIT_MS). */
  commandWaitMs?: number;
  now?: () => number;
}

/** A command's answer: finished (200), or taken by the workflow and still at work (202); the tour as it is now either way. */
export type TourCommandAnswer = CommandAnswer<TourView, TourView>;

export type ArtifactStatus = 'processing' | 'ready' | 'skipped' | 'failed';

export class TourService {
  private readonly now: () => number;
  private readonly keys: CommandIdempotency;

  constructor(private readonly deps: TourServiceDeps) {
    this.now = deps.now ?? Date.now;
    this.keys = new CommandIdempotency(deps.knex);
  }

  async list(actor: Actor, f: PageRequest & { status?: TourStatus; stuck?: boolean }): Promise<{ items: TourView[]; meta: PageMeta }> {
    const { items, total } = await toursRepository(this.deps.knex).list(
      tourPolicy.scope(actor),
      // Stuck: parked by a failure, or processing with no progress for half an hour.
      { status: f.status, stuckSince: f.stuck ? new Date(this.now() - 30 * 60_000) : undefined },
      f,
    );
    return { items, meta: pageMeta(f, total) };
  }

  async get(actor: Actor, id: number): Promise<TourView> {
    const tour = await toursRepository(this.deps.knex).findView(tourPolicy.scope(actor), id);
    if (!tour) throw new NotFoundError('Tour');
    return tour;
  }

  async steps(tourId: number): Promise<Record<string, { status: StepStatus; detail: string | null }>> {
    return toursRepository(this.deps.knex).steps.of(tourId);
  }

  private handle(tourId: number) {
    return this.deps.temporal.workflow.getHandle(tourWorkflowId(tourId));
  }

  /** A workflow's refusal becomes a 409 saying why; an ended workflow answers with the tour's status. */
  private async update<T>(tour: TourView, fn: () => Promise<T>): Promise<T> {
    return runWorkflowCommand(fn, { refused: 'The tour cannot do that now', whenGone: () => this.tourGone(tour.id) });
  }


  /**
   * A command to the tour's workflow, waited for as long as commands are (else answered 202
   * with the tour as it is), once per Idempotency-Key: see api/idempotency.ts.
   */
  private async command<T>(
    actor: Actor,
    tour: TourView,
    cmd: { key: string | undefined; kind: string; before?: () => Promise<void> },
    start: (h: WorkflowHandle, opts: { updateId?: string; waitForStage: typeof WorkflowUpdateStage.ACCEPTED }) => Promise<WorkflowUpdateHandle<T>>,
  ): Promise<TourCommandAnswer> {
    const outcome = await this.keys.run(actor, { key: cmd.key, kind: cmd.kind, resourceId: tour.id, request: {} }, {
      before: cmd.before,
      send: (updateId) => {
        const handle = this.handle(tour.id);
        return runWorkflowUpdate(handle, (opts) => start(handle, opts), {
          connection: this.deps.temporal.connection,
          waitMs: this.deps.commandWaitMs ?? DEFAULT_WORKFLOW_COMMAND_WAIT_MS,
          updateId,
          refused: 'The tour cannot do that now',
          whenGone: () => this.tourGone(tour.id),
        });
      },
    });
    return { state: outcome.state, value: await this.get(actor, tour.id), replayed: outcome.replayed };
  }

  private async tourGone(id: number): Promise<never> {
    const row = await toursRepository(this.deps.knex).find(id);
    throw new ConflictError(`This tour is ${row?.status ?? 'gone'}; it cannot do that now`);
  }

  async start(actor: Actor, id: number, key?: string): Promise<TourCommandAnswer> {
    const tour = await this.get(actor, id);
    tourPolicy.assertIsRealtorOf(actor, tour);
    const opensAt = tour.scheduled_at.getTime() - this.deps.earlyStartMinutes * 60_000;
    const before = async () => {
      if (tour.status === TOUR_STATUS.scheduled && this.now() < opensAt) {
        throw new ConflictError(`This tour can be started from ${new Date(opensAt).toISOString()} (${this.deps.earlyStartMinutes} minutes before its time)`);
      }
    };
    return this.command(actor, tour, { key, kind: 'tour_start', before }, (h, opts) => h.startUpdate(startTourUpdate, { ...opts, args: [actor.user.id] }));
  }

  async end(actor: Actor, id: number, key?: string): Promise<TourCommandAnswer> {
    const tour = await this.get(actor, id);
    tourPolicy.assertIsRealtorOf(actor, tour);
    return this.command(actor, tour, { key, kind: 'tour_end' }, (h, opts) => h.startUpdate(endTourUpdate, { ...opts, args: [actor.user.id] }));
  }

  async retry(actor: Actor, id: number): Promise<TourView> {
    tourPolicy.assertIsAdmin(actor);
    const tour = await this.get(actor, id);
    await this.update(tour, () => this.handle(id).executeUpdate(retryProcessingUpdate, { args: [] }));
    await recordAudit(this.deps.knex, { actorId: actor.user.id, action: 'tour_processing_retried', resourceType: 'tour', resourceId: id, details: { step: tour.processing_step }, requestId: actor.requestId });
    return this.get(actor, id);
  }

  /** Every parked tour matching the filter, resumed one after another at a bounded rate (or only listed, dry). */
  async retryParked(actor: Actor, f: { step?: ProcessingStep; since?: Date; limit: number; dryRun: boolean; perSecond: number }): Promise<ResumeSummary> {
    tourPolicy.assertIsAdmin(actor);
    return resumeParkedTours(
      { knex: this.deps.knex, temporal: this.deps.temporal },
      { step: f.step, since: f.since, limit: f.limit },
      { dryRun: f.dryRun, perSecond: f.perSecond, actorId: actor.user.id, requestId: actor.requestId, via: 'api' },
    );
  }

  /** An admin cancels a tour by cancelling its booking, whose workflow cancels the tour. */
  async cancel(actor: Actor, id: number, key?: string): Promise<TourCommandAnswer> {
    tourPolicy.assertIsAdmin(actor);
    const tour = await this.get(actor, id);
    const outcome = await this.keys.run(actor, { key, kind: 'tour_cancel', resourceId: id, request: {} }, {
      before: async () => {
        if (!TOUR_CANCELLABLE.includes(tour.status)) throw new ConflictError(`This tour is ${tour.status}; it cannot be cancelled`);
      },
      send: (updateId) => {
        const handle = this.deps.temporal.workflow.getHandle(bookingWorkflowId(tour.booking_id));
        return runWorkflowUpdate(
          handle,
          (opts) => handle.startUpdate(cancelUpdate, { ...opts, args: [{ userId: actor.user.id, role: 'admin' }, 'Cancelled by an administrator'] }),
          {
            connection: this.deps.temporal.connection,
            waitMs: this.deps.commandWaitMs ?? DEFAULT_WORKFLOW_COMMAND_WAIT_MS,
            updateId,
            refused: 'The tour cannot be cancelled now',
            // The booking's workflow has ended (cancelled, completed): nothing is left to cancel.
            whenGone: async () => {
              const booking = await bookingsRepository(this.deps.knex).find(tour.booking_id);
              throw new ConflictError(`This tour's booking is ${booking?.status ?? 'gone'}; the tour cannot be cancelled`);
            },
          },
        );
      },
    });
    return { state: outcome.state, value: await this.get(actor, id), replayed: outcome.replayed };
  }

  async editSummary(actor: Actor, id: number, summary: Record<string, unknown>): Promise<TourView> {
    tourPolicy.assertIsAdmin(actor);
    const tour = await this.get(actor, id);
    const edited = { ...summary, ai_generated: true, model: (tour.summary as { model?: string } | null)?.model ?? 'unknown', edited_by: actor.user.id };
    await this.deps.knex.transaction(async (trx) => {
      await toursRepository(trx).update(id, { summary: edited });
      await recordAudit(trx, { actorId: actor.user.id, action: 'tour_summary_edited', resourceType: 'tour', resourceId: id, details: {}, requestId: actor.requestId });
    });
    return this.get(actor, id);
  }

  // Notes ------------------------------------------------------------------------------

  async notes(actor: Actor, id: number) {
    await this.get(actor, id);
    return toursRepository(this.deps.knex).notes.of(id);
  }

  /** Only while the tour is live, or within the grace period after it ended. */
  async addNote(actor: Actor, id: number, body: { content: string; tag?: string; timestamp_ms?: number }) {
    const tour = await this.get(actor, id);
    const now = this.now();
    const open = tour.status === TOUR_STATUS.in_progress || (tour.ended_at && now <= tour.ended_at.getTime() + this.deps.notesGraceMinutes * 60_000 && tour.status !== TOUR_STATUS.cancelled);
    if (!open || !tour.started_at) {
      throw new ConflictError(`Notes can be added while the tour is in progress and up to ${this.deps.notesGraceMinutes} minutes after it ends; this tour is ${tour.status}`);
    }
    const start = tour.started_at.getTime();
    const latest = (tour.ended_at?.getTime() ?? now) - start;
    const ts = body.timestamp_ms ?? Math.max(0, Math.min(now - start, latest));
    if (ts > latest + 1000) throw new ValidationError([{ field: 'timestamp_ms', message: `must be within the tour (at most ${latest} ms from its start)` }]);
    return this.deps.knex.transaction(async (trx) => {
      const row = await toursRepository(trx).notes.add({ tour_id: id, user_id: actor.user.id, content: body.content, tag: body.tag ?? null, timestamp_ms: ts });
      await recordAudit(trx, { actorId: actor.user.id, action: 'tour_note_added', resourceType: 'tour_note', resourceId: row.id, details: { tour_id: id, tag: body.tag ?? null, timestamp_ms: ts }, requestId: actor.requestId });
      return row;
    });
  }

  // Calls ------------------------------------------------------------------------------

  async getCall(actor: Actor, callId: number): Promise<{ call: CallRecord; tour: TourView }> {
    const repo = toursRepository(this.deps.knex);
    const call = await repo.calls.find(callId);
    if (!call) throw new NotFoundError('Call');
    const tour = await repo.findView(tourPolicy.scope(actor), call.tour_id);
    if (!tour) throw new NotFoundError('Call');
    return { call, tour };
  }

  /** The meeting and attendee as Chime shapes them, and whether the call is recorded (consent notice). */
  async join(actor: Actor, callId: number) {
    const { tour } = await this.getCall(actor, callId);
    const joined = await this.update(tour, () => this.handle(tour.id).executeUpdate(joinCallUpdate, { args: [actor.user.id] }));
    const call = await toursRepository(this.deps.knex).calls.find(callId);
    const active = Boolean(call?.recording_active);
    return { ...joined, recording: { active, notice: recordingNotice(active) } };
  }

  async leave(actor: Actor, callId: number): Promise<void> {
    const { tour } = await this.getCall(actor, callId);
    await this.update(tour, () => this.handle(tour.id).executeUpdate(leaveCallUpdate, { args: [actor.user.id] }));
  }

  async endCall(actor: Actor, callId: number, key?: string): Promise<TourCommandAnswer> {
    const { tour } = await this.getCall(actor, callId);
    return this.end(actor, tour.id, key);
  }

  async record(actor: Actor, callId: number, on: boolean): Promise<void> {
    const { tour } = await this.getCall(actor, callId);
    tourPolicy.assertIsRealtorOf(actor, tour);
    await this.update(tour, () => this.handle(tour.id).executeUpdate(setRecordingUpdate, { args: [on, actor.user.id] }));
  }

  // Artifacts --------------------------------------------------------------------------

  private artifactStatus(tour: TourView, step: { status: string; detail: string | null } | undefined, present: boolean): { status: ArtifactStatus; reason: string | null } {
    if (present && (!step || step.status === 'done')) return { status: 'ready', reason: null };
    if (step?.status === 'skipped') return { status: 'skipped', reason: step.detail };
    if (step?.status === 'failed') return { status: 'failed', reason: step.detail };
    if (tour.status === TOUR_STATUS.cancelled) return { status: 'skipped', reason: 'The tour was cancelled' };
    if (tour.status === TOUR_STATUS.completed) return { status: present ? 'ready' : 'skipped', reason: present ? null : 'Not produced' };
    return { status: 'processing', reason: null };
  }

  async recording(actor: Actor, id: number) {
    const tour = await this.get(actor, id);
    const steps = await this.steps(id);
    const rec = await toursRepository(this.deps.knex).recordings.find(id);
    const { status, reason } = this.artifactStatus(tour, steps.recording, Boolean(rec));
    // Signed afresh on every read: a link handed out earlier expires on its own.
    const url = rec?.storage_key && status === 'ready' ? await this.deps.storage.signedUrl(rec.storage_key) : null;
    return {
      status,
      reason,
      url,
      playback_url: url,
      content_type: rec?.content_type ?? null,
      file_size_bytes: rec?.file_size_bytes ?? null,
      duration_seconds: rec?.duration_seconds ?? null,
      recorded_at: rec?.recorded_at ? new Date(rec.recorded_at).toISOString() : null,
      source: rec?.source ?? null,
    };
  }

  async transcript(actor: Actor, id: number) {
    const tour = await this.get(actor, id);
    const steps = await this.steps(id);
    const t = await toursRepository(this.deps.knex).transcripts.find<{ start_ms: number; end_ms: number; text: string; speaker?: 'realtor' | 'buyer' | null }>(id);
    const { status, reason } = this.artifactStatus(tour, steps.transcription, Boolean(t));
    return {
      status,
      reason,
      full_text: t?.full_text ?? null,
      segments: (t?.segments ?? []).map((seg) => ({
        start_ms: seg.start_ms,
        end_ms: seg.end_ms,
        text: seg.text,
        speaker: seg.speaker ?? null,
      })),
      confidence_score: t?.confidence_score === null || t?.confidence_score === undefined ? null : Number(t.confidence_score),
    };
  }

  async highlights(actor: Actor, id: number) {
    const tour = await this.get(actor, id);
    const steps = await this.steps(id);
    const rows = await toursRepository(this.deps.knex).highlights.of(id);
    const { status, reason } = this.artifactStatus(tour, steps.highlights, steps.highlights?.status === 'done');
    return {
      status,
      reason,
      items: await Promise.all(
        rows.map(async (h) => ({
          id: String(h.id),
          timestamp_ms: Number(h.timestamp_ms),
          type: h.highlight_type,
          note: h.note,
          source: h.source,
          // A frame of the video at that moment, stored by key and signed on read.
          image_url: h.image_url ? await this.deps.storage.signedUrl(h.image_url) : null,
        })),
      ),
    };
  }

  async summary(actor: Actor, id: number) {
    const tour = await this.get(actor, id);
    const steps = await this.steps(id);
    const { status, reason } = this.artifactStatus(tour, steps.summary, Boolean(tour.summary));
    return { status, reason, summary: status === 'ready' ? tour.summary : null };
  }

  /**
   * A recording made outside the call (in local mode, the only way one arrives): judged by
   * its bytes, stored, and picked up by the pipeline's recording step. Who may upload and
   * whether the tour takes one are settled before the body is read; the file then streams to
   * storage under a key of its own, so a refused or broken upload leaves the earlier one.
   */
  async uploadRecording(actor: Actor, id: number, upload: StreamedUpload | undefined) {
    if (!upload) throw new Error('uploadRecording needs a streamed multipart route');
    const tour = await this.get(actor, id);
    tourPolicy.assertIsRealtorOf(actor, tour);
    await this.assertAcceptsUpload(tour);
    const stored = await upload.receive(
      async (file) => {
        const { head, stream } = await peekStart(file.stream);
        const media = detectMediaType(head);
        if (!media) throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Only audio or video files (MP3, WAV, OGG, FLAC, MP4/M4A/MOV, WebM) are accepted', 'recording');
        // A folder per upload keeps the file's name (what transcription sees) while the key stays new.
        const key = `${tourRecordingPrefix(id)}/uploads/${Date.now().toString(36)}-${randomBytes(4).toString('hex')}/upload.${media.extension}`;
        const object = await this.deps.storage.putStream(key, stream, media.contentType, { maxBytes: file.maxBytes });
        return { media, object };
      },
      ({ object }) => this.deps.storage.delete(object.key),
    );
    if (!stored) throw new AppError(400, 'VALIDATION_ERROR', 'Attach the audio or video file in the "recording" field', 'recording');
    const { media, object } = stored;
    const previous = await toursRepository(this.deps.knex).recordings.find(id);
    try {
      // Checked again: processing may have picked up a recording while this one streamed.
      await this.assertAcceptsUpload(await this.get(actor, id));
      await this.deps.knex.transaction(async (trx) => {
        await toursRepository(trx).recordings.save(
          { tour_id: id, storage_key: object.key, source: 'upload', content_type: media.contentType, file_size_bytes: object.size, recorded_at: tour.started_at ?? new Date() },
          ['storage_key', 'source', 'content_type', 'file_size_bytes'],
        );
        await recordAudit(trx, { actorId: actor.user.id, action: 'tour_recording_uploaded', resourceType: 'tour', resourceId: id, details: { content_type: media.contentType, bytes: object.size }, requestId: actor.requestId });
      });
    } catch (err) {
      await this.deps.storage.delete(object.key).catch((e: unknown) => this.deps.logger.warn({ err: e, key: object.key }, 'Could not remove a refused recording upload'));
      throw err;
    }
    // The upload it replaces is no longer referenced; a call's captures are left alone.
    if (previous?.source === 'upload' && previous.storage_key !== object.key) {
      await this.deps.storage.delete(previous.storage_key).catch((err: unknown) => this.deps.logger.warn({ err, key: previous.storage_key }, 'Could not remove a replaced recording upload'));
    }
    return this.recording(actor, id);
  }

  private async assertAcceptsUpload(tour: TourView): Promise<void> {
    const steps = await this.steps(tour.id);
    if (!TOUR_ACCEPTS_UPLOAD.includes(tour.status) || (steps.recording && steps.recording.status !== 'running')) {
      throw new ConflictError(`A recording can be uploaded until processing picks it up; this tour is ${tour.status}`);
    }
  }
}
