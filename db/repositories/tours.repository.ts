import type { Knex } from 'knex';
import { TOUR_STATUS, type CallStatus, type ProcessingStep, type StepStatus, type TourStatus } from '../../contracts/tours';
import { pageOf, type Page, type PageRequest } from './page';

/**
 * The tour aggregate: the tour row and what hangs off it (its call and attendees, recording,
 * transcript, highlights, notes and processing steps). Plain records, shared by the tours API
 * and the tour activities. Takes the knex instance or the caller's transaction.
 */

export interface TourRecord {
  id: number;
  booking_id: number;
  property_id: number;
  realtor_id: number;
  buyer_id: number;
  status: TourStatus;
  scheduled_at: Date;
  ends_at: Date;
  duration_minutes: number;
  started_at: Date | null;
  ended_at: Date | null;
  summary: Record<string, unknown> | null;
  processing_step: ProcessingStep | null;
  processing_error: string | null;
  created_at: Date;
  updated_at: Date;
}

/** A tour as the API shows it: the row, its property's address and its call's id. */
export interface TourView extends TourRecord {
  property_address: string;
  call_id: number | null;
}

/** Whose tours a query may see: a buyer's own, a realtor's own, or (empty) all. */
export interface TourScope {
  buyerId?: number;
  realtorId?: number;
}

export interface TourFilter {
  status?: TourStatus;
  /** Only tours parked by a failure, or processing with no progress since this time. */
  stuckSince?: Date;
}

export type TourPatch = Partial<Pick<TourRecord, 'status' | 'started_at' | 'ended_at' | 'processing_step' | 'processing_error'>> & { summary?: Record<string, unknown> | null };

export interface RecordingPipeline {
  id: string;
  active: boolean;
}

export interface CallRecord<MeetingT = Record<string, unknown>> {
  id: number;
  tour_id: number;
  chime_meeting_id: string | null;
  status: CallStatus;
  meeting: MeetingT | null;
  recording_pipelines: RecordingPipeline[];
  recording_active: boolean;
  started_at: Date | null;
  ended_at: Date | null;
  created_at: Date;
}

export interface AttendeeRecord {
  call_id: number;
  user_id: number;
  attendee_id: string;
  joined_at: Date;
  left_at: Date | null;
}

export interface RecordingRecord<TurnT = unknown> {
  tour_id: number;
  storage_key: string;
  source: 'upload' | 'call';
  content_type: string | null;
  file_size_bytes: number | null;
  duration_seconds: number | null;
  recorded_at: Date | null;
  speaker_turns: TurnT[] | null;
}

export interface TranscriptRecord<SegmentT = unknown> {
  tour_id: number;
  full_text: string | null;
  segments: SegmentT[] | null;
  confidence_score: string | null;
  language: string | null;
  model: string | null;
}

export interface HighlightRecord {
  id: number;
  tour_id: number;
  timestamp_ms: number;
  highlight_type: string;
  note: string;
  source: string;
  /** The storage key of a frame at that moment (signed on read), despite the column's name. */
  image_url: string | null;
}

export type NewHighlight = Omit<HighlightRecord, 'id' | 'tour_id'>;

export interface NoteRecord {
  id: number;
  tour_id: number;
  user_id: number;
  content: string;
  tag: string | null;
  timestamp_ms: number | null;
  created_at: Date;
}

export interface StepRecordRow {
  step: ProcessingStep;
  status: StepStatus;
  detail: string | null;
}

/** The tour with its property and both people: what emails and the analyst need. */
export interface TourFacts {
  id: number;
  started_at: Date | null;
  summary: Record<string, unknown> | null;
  address: string;
  price: string | null;
  buyer_id: number;
  buyer_name: string;
  buyer_email: string;
  realtor_id: number;
  realtor_name: string;
  realtor_email: string;
}

/** bigint ids come back from pg as strings; records carry numbers. */
function num<T extends Record<string, unknown>>(row: T, ...keys: Array<keyof T>): T;
function num<T extends Record<string, unknown>>(row: T | undefined, ...keys: Array<keyof T>): T | undefined;
function num<T extends Record<string, unknown>>(row: T | undefined, ...keys: Array<keyof T>): T | undefined {
  if (!row) return undefined;
  const out: Record<keyof T, unknown> = { ...row };
  for (const k of keys) if (out[k] !== null && out[k] !== undefined) out[k] = Number(out[k]);
  return out as T;
}

export function toursRepository(db: Knex | Knex.Transaction) {
  const tour = (row: Record<string, unknown> | undefined) => num(row, 'id', 'booking_id', 'property_id', 'realtor_id', 'buyer_id') as TourRecord | undefined;
  const call = <M>(row: Record<string, unknown> | undefined) => num(row, 'id', 'tour_id') as CallRecord<M> | undefined;

  const scoped = (scope: TourScope) => {
    const q = db('tours as t');
    if (scope.buyerId !== undefined) q.where('t.buyer_id', scope.buyerId);
    if (scope.realtorId !== undefined) q.where('t.realtor_id', scope.realtorId);
    return q;
  };
  // A tour has one call; should there ever be more, the first one made is the tour's.
  const withViewColumns = (q: Knex.QueryBuilder) =>
    q
      .leftJoin('properties as p', 'p.id', 't.property_id')
      .select('t.*', db.raw(`COALESCE(p.address, '') AS property_address`), db('calls as c').select('c.id').whereRaw('c.tour_id = t.id').orderBy('c.id').limit(1).as('call_id'));
  const view = (row: Record<string, unknown> | undefined) => num(row, 'id', 'booking_id', 'property_id', 'realtor_id', 'buyer_id', 'call_id') as TourView | undefined;

  return {
    async find(id: number, opts: { forUpdate?: boolean } = {}): Promise<TourRecord | undefined> {
      const q = db('tours').where({ id }).first();
      return tour(await (opts.forUpdate ? q.forUpdate() : q));
    },

    /** One tour as `scope` may see it; undefined for another's (a 404, not a 403). */
    async findView(scope: TourScope, id: number): Promise<TourView | undefined> {
      return view(await withViewColumns(scoped(scope).where('t.id', id)).first());
    },

    /** A page of the tours `scope` may see, latest first, with the count of all matches. */
    async list(scope: TourScope, f: TourFilter, page: PageRequest): Promise<Page<TourView>> {
      const q = scoped(scope);
      if (f.status) q.where('t.status', f.status);
      const { stuckSince } = f;
      if (stuckSince) {
        q.where((w) => w.where('t.status', TOUR_STATUS.processing_failed).orWhere((x) => x.where('t.status', TOUR_STATUS.processing).where('t.updated_at', '<', stuckSince)));
      }
      const { items, total } = await pageOf<Record<string, unknown>>(
        q,
        (rows) => withViewColumns(rows).orderBy([{ column: 't.scheduled_at', order: 'desc' }, { column: 't.id', order: 'desc' }]),
        page,
      );
      return { items: items.map((r) => view(r)!), total };
    },

    async update(id: number, patch: TourPatch): Promise<void> {
      const { summary, ...rest } = patch;
      await db('tours').where({ id }).update({ ...rest, ...(summary !== undefined ? { summary: summary === null ? null : JSON.stringify(summary) } : {}) });
    },

    /** The tour with its property, buyer and realtor; undefined when it does not exist. */
    async facts(id: number): Promise<TourFacts | undefined> {
      const row = await db('tours as t')
        .join('properties as p', 'p.id', 't.property_id')
        .join('users as b', 'b.id', 't.buyer_id')
        .join('users as r', 'r.id', 't.realtor_id')
        .where('t.id', id)
        .first(
          't.id', 't.started_at', 't.summary', 'p.address', 'p.price', 'b.id as buyer_id', 'b.full_name as buyer_name', 'b.email as buyer_email',
          'r.id as realtor_id', 'r.full_name as realtor_name', 'r.email as realtor_email',
        );
      return num(row, 'id', 'buyer_id', 'realtor_id') as TourFacts | undefined;
    },

    calls: {
      async ofTour<M = Record<string, unknown>>(tourId: number): Promise<CallRecord<M> | undefined> {
        return call<M>(await db('calls').where({ tour_id: tourId }).first());
      },
      async find<M = Record<string, unknown>>(id: number): Promise<CallRecord<M> | undefined> {
        return call<M>(await db('calls').where({ id }).first());
      },
      /** The meeting the call runs in; the first start's time is kept. */
      async open(tourId: number, meeting: { MeetingId: string }): Promise<void> {
        await db('calls')
          .where({ tour_id: tourId })
          .update({ chime_meeting_id: meeting.MeetingId, meeting: JSON.stringify(meeting), status: 'active', started_at: db.raw('COALESCE(started_at, now())') });
      },
      /** Flips recording on or off unless it already is; false when another attempt got there first. */
      async setRecording(callId: number, on: boolean, pipelines: RecordingPipeline[]): Promise<boolean> {
        const changed = await db('calls').where({ id: callId, recording_active: !on }).update({ recording_active: on, recording_pipelines: JSON.stringify(pipelines) });
        return changed > 0;
      },
      /** Ends the tour's call and everyone still in it. */
      async end(tourId: number, pipelines: RecordingPipeline[]): Promise<void> {
        await db('calls')
          .where({ tour_id: tourId })
          .update({ status: 'ended', ended_at: db.raw('COALESCE(ended_at, now())'), recording_active: false, recording_pipelines: JSON.stringify(pipelines.map((p) => ({ ...p, active: false }))) });
        await db('call_attendees').whereIn('call_id', db('calls').select('id').where({ tour_id: tourId })).whereNull('left_at').update({ left_at: new Date() });
      },
      /** A call that never ended is cancelled with its tour. */
      async cancelOpen(tourId: number): Promise<void> {
        await db('calls').where({ tour_id: tourId }).whereIn('status', ['created', 'active'] satisfies CallStatus[]).update({ status: 'cancelled' });
      },
    },

    attendees: {
      async find(callId: number, userId: number, opts: { forUpdate?: boolean } = {}): Promise<AttendeeRecord | undefined> {
        const q = db('call_attendees').where({ call_id: callId, user_id: userId }).first();
        return num(await (opts.forUpdate ? q.forUpdate() : q), 'call_id', 'user_id') as AttendeeRecord | undefined;
      },
      async of(callId: number): Promise<AttendeeRecord[]> {
        const rows: Array<Record<string, unknown>> = await db('call_attendees').where({ call_id: callId });
        return rows.map((r) => num(r, 'call_id', 'user_id') as unknown as AttendeeRecord);
      },
      /** Joined (again): the same row, with the attendee the meeting gave this time. */
      async join(callId: number, userId: number, attendeeId: string): Promise<void> {
        await db('call_attendees')
          .insert({ call_id: callId, user_id: userId, attendee_id: attendeeId })
          .onConflict(['call_id', 'user_id'])
          .merge({ attendee_id: attendeeId, joined_at: new Date(), left_at: null });
      },
      /** True when the person was still in the call. */
      async leave(callId: number, userId: number): Promise<boolean> {
        return (await db('call_attendees').where({ call_id: callId, user_id: userId }).whereNull('left_at').update({ left_at: new Date() })) > 0;
      },
    },

    recordings: {
      async find<T = unknown>(tourId: number): Promise<RecordingRecord<T> | undefined> {
        return num(await db('recordings').where({ tour_id: tourId }).first(), 'tour_id') as RecordingRecord<T> | undefined;
      },
      /** One recording per tour: a new one (an upload, the call's joined captures) replaces the earlier one. */
      async save(rec: Pick<RecordingRecord, 'tour_id' | 'storage_key' | 'source'> & Partial<Pick<RecordingRecord, 'content_type' | 'file_size_bytes' | 'recorded_at' | 'speaker_turns'>>, replace: Array<keyof RecordingRecord>): Promise<void> {
        const { speaker_turns, ...rest } = rec;
        await db('recordings')
          .insert({ ...rest, ...(speaker_turns !== undefined ? { speaker_turns: speaker_turns === null ? null : JSON.stringify(speaker_turns) } : {}) })
          .onConflict('tour_id')
          .merge(replace);
      },
      /** Length and size as measured; the time falls back to the tour's start, then now. */
      async measured(tourId: number, m: { duration_seconds: number | null; file_size_bytes: number }): Promise<void> {
        await db('recordings')
          .where({ tour_id: tourId })
          .update({ ...m, recorded_at: db.raw('COALESCE(recorded_at, (SELECT started_at FROM tours WHERE id = ?), now())', [tourId]) });
      },
    },

    transcripts: {
      async find<S = unknown>(tourId: number): Promise<TranscriptRecord<S> | undefined> {
        return num(await db('transcripts').where({ tour_id: tourId }).first(), 'tour_id') as TranscriptRecord<S> | undefined;
      },
      async save(t: Omit<TranscriptRecord, 'confidence_score'> & { confidence_score: number | null }): Promise<void> {
        await db('transcripts')
          .insert({ ...t, segments: JSON.stringify(t.segments ?? []) })
          .onConflict('tour_id')
          .merge(['full_text', 'segments', 'confidence_score', 'language', 'model']);
      },
    },

    highlights: {
      async of(tourId: number): Promise<HighlightRecord[]> {
        const rows: Array<Record<string, unknown>> = await db('highlights').where({ tour_id: tourId }).orderBy([{ column: 'timestamp_ms' }, { column: 'id' }]);
        return rows.map((r) => num(r, 'id', 'tour_id', 'timestamp_ms') as unknown as HighlightRecord);
      },
      /** The tour's highlights become exactly these (a retried step replaces, never adds). Run it in a transaction. */
      async replace(tourId: number, rows: NewHighlight[]): Promise<void> {
        await db('highlights').where({ tour_id: tourId }).delete();
        if (rows.length) await db('highlights').insert(rows.map((r) => ({ ...r, tour_id: tourId })));
      },
    },

    notes: {
      async of(tourId: number): Promise<NoteRecord[]> {
        const rows: Array<Record<string, unknown>> = await db('tour_notes').where({ tour_id: tourId }).orderBy([{ column: 'timestamp_ms' }, { column: 'id' }]);
        return rows.map((r) => num(r, 'id', 'tour_id', 'user_id') as unknown as NoteRecord);
      },
      /** The notes with their author's role, in tour order: what the analyst reads. */
      async withRoles(tourId: number): Promise<Array<Pick<NoteRecord, 'timestamp_ms' | 'content' | 'tag'> & { role: string }>> {
        return db('tour_notes as n')
          .join('users as u', 'u.id', 'n.user_id')
          .where('n.tour_id', tourId)
          .orderBy([{ column: 'n.timestamp_ms' }, { column: 'n.id' }])
          .select('n.timestamp_ms', 'n.content', 'n.tag', 'u.role');
      },
      async add(note: Pick<NoteRecord, 'tour_id' | 'user_id' | 'content' | 'tag' | 'timestamp_ms'>): Promise<NoteRecord> {
        const [row] = await db('tour_notes').insert(note).returning('*');
        return num(row, 'id', 'tour_id', 'user_id') as NoteRecord;
      },
    },

    steps: {
      async of(tourId: number): Promise<Partial<Record<ProcessingStep, { status: StepStatus; detail: string | null }>>> {
        const rows: StepRecordRow[] = await db('tour_processing_steps').where({ tour_id: tourId }).select('step', 'status', 'detail');
        return Object.fromEntries(rows.map((r) => [r.step, { status: r.status, detail: r.detail }]));
      },
      /** One row per step; a step that starts running again counts an attempt. */
      async record(tourId: number, step: ProcessingStep, outcome: { status: StepStatus; detail: string | null }): Promise<void> {
        await db('tour_processing_steps')
          .insert({ tour_id: tourId, step, status: outcome.status, detail: outcome.detail, attempts: outcome.status === 'running' ? 1 : 0 })
          .onConflict(['tour_id', 'step'])
          .merge({
            status: outcome.status,
            detail: outcome.detail,
            updated_at: new Date(),
            ...(outcome.status === 'running' ? { attempts: db.raw('tour_processing_steps.attempts + 1') } : {}),
          });
      },
    },
  };
}

export type ToursRepository = ReturnType<typeof toursRepository>;
