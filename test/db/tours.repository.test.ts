import type { TourStatus } from '../../contracts/tours';
import { toursRepository } from '../../db/repositories/tours.repository';
import { insertProperty, insertUser } from '../support/factories';
import { createTestDatabase, type TestDatabase } from '../support/db';

/** The tour aggregate's repository against real PostgreSQL: plain records, numbers for ids, the upserts a retried activity relies on. */
describe('tours repository', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db?.destroy();
  });

  /** A booked tour with its call; by default with people and a listing of its own. */
  async function aTour(opts: { realtorId?: number; buyerId?: number; scheduledAt?: Date; status?: TourStatus; updatedAt?: Date } = {}) {
    const buyerId = opts.buyerId ?? (await insertUser(db.knex, 'buyer', { full_name: 'Ben Buyer' })).id;
    const { id: propertyId, realtorId } = await insertProperty(db.knex, { address: '9 Elm St', price: '450000.00', ...(opts.realtorId ? { realtor_id: opts.realtorId } : {}) });
    const scheduledAt = opts.scheduledAt ?? new Date('2026-12-01T15:00:00Z');
    const [booking] = await db.knex('bookings').insert({ buyer_id: buyerId, property_id: propertyId, realtor_id: realtorId, scheduled_at: scheduledAt }).returning('id');
    const [tour] = await db.knex('tours').insert({ property_id: propertyId, realtor_id: realtorId, buyer_id: buyerId, booking_id: booking.id, scheduled_at: scheduledAt, status: opts.status ?? 'scheduled', ...(opts.updatedAt ? { updated_at: opts.updatedAt } : {}) }).returning('id');
    const [call] = await db.knex('calls').insert({ tour_id: tour.id, chime_meeting_id: `meeting-${tour.id}` }).returning('id');
    return { tourId: Number(tour.id), callId: Number(call.id), buyerId, realtorId, propertyId, bookingId: Number(booking.id) };
  }

  it('when a tour is read, then it is a plain record typed by the contract, not a model', async () => {
    const t = await aTour();
    const tour = await toursRepository(db.knex).find(t.tourId);
    expect(tour).toMatchObject({ id: t.tourId, buyer_id: t.buyerId, realtor_id: t.realtorId, property_id: t.propertyId, status: 'scheduled', duration_minutes: 30 });
    expect(Object.getPrototypeOf(tour)).toBe(Object.prototype);
    expect(tour!.scheduled_at.toISOString()).toBe('2026-12-01T15:00:00.000Z');
    const facts = await toursRepository(db.knex).facts(t.tourId);
    expect(facts).toMatchObject({ id: t.tourId, address: '9 Elm St', price: '450000.00', buyer_id: t.buyerId, buyer_name: 'Ben Buyer', realtor_id: t.realtorId });
    expect(await toursRepository(db.knex).find(t.tourId + 10_000)).toBeUndefined();
  });

  it('when the call opens, people join twice and leave, and the call ends, then the rows say so once each', async () => {
    const t = await aTour();
    const repo = toursRepository(db.knex);
    await repo.calls.open(t.tourId, { MeetingId: 'm-1' });
    const opened = await repo.calls.ofTour<{ MeetingId: string }>(t.tourId);
    expect(opened).toMatchObject({ id: t.callId, status: 'active', chime_meeting_id: 'm-1', meeting: { MeetingId: 'm-1' }, recording_active: false });

    await repo.attendees.join(t.callId, t.buyerId, 'a-1');
    await repo.attendees.join(t.callId, t.buyerId, 'a-2');
    expect(await repo.attendees.of(t.callId)).toEqual([expect.objectContaining({ call_id: t.callId, user_id: t.buyerId, attendee_id: 'a-2', left_at: null })]);
    expect(await repo.attendees.leave(t.callId, t.buyerId)).toBe(true);
    expect(await repo.attendees.leave(t.callId, t.buyerId)).toBe(false);

    expect(await repo.calls.setRecording(t.callId, true, [{ id: 'p-1', active: true }])).toBe(true);
    expect(await repo.calls.setRecording(t.callId, true, [{ id: 'p-1', active: true }])).toBe(false);
    await repo.attendees.join(t.callId, t.realtorId, 'a-3');
    await repo.calls.end(t.tourId, [{ id: 'p-1', active: true }]);
    expect(await repo.calls.ofTour(t.tourId)).toMatchObject({ status: 'ended', recording_active: false, recording_pipelines: [{ id: 'p-1', active: false }], ended_at: expect.any(Date) });
    expect((await repo.attendees.of(t.callId)).every((a) => a.left_at instanceof Date)).toBe(true);
  });

  it('when a cancelled tour has an open call, then cancelOpen cancels it, and an ended call stays ended', async () => {
    const open = await aTour();
    const ended = await aTour();
    const repo = toursRepository(db.knex);
    await repo.calls.end(ended.tourId, []);
    await repo.calls.cancelOpen(open.tourId);
    await repo.calls.cancelOpen(ended.tourId);
    expect((await repo.calls.ofTour(open.tourId))!.status).toBe('cancelled');
    expect((await repo.calls.ofTour(ended.tourId))!.status).toBe('ended');
  });

  it('when a step runs twice and finishes, then one row counts both attempts and keeps the outcome', async () => {
    const t = await aTour();
    const repo = toursRepository(db.knex);
    await repo.steps.record(t.tourId, 'transcription', { status: 'running', detail: null });
    await repo.steps.record(t.tourId, 'transcription', { status: 'running', detail: null });
    await repo.steps.record(t.tourId, 'transcription', { status: 'done', detail: '3 segments' });
    expect(await repo.steps.of(t.tourId)).toEqual({ transcription: { status: 'done', detail: '3 segments' } });
    const [row] = await db.knex('tour_processing_steps').where({ tour_id: t.tourId });
    expect(row.attempts).toBe(2);
  });

  it('when the recording, transcript and highlights are saved again, then each is replaced, not added', async () => {
    const t = await aTour();
    const repo = toursRepository(db.knex);
    await repo.recordings.save({ tour_id: t.tourId, storage_key: 'k/upload.ogg', source: 'upload', content_type: 'audio/ogg', speaker_turns: null }, ['storage_key', 'source', 'content_type']);
    await repo.recordings.save({ tour_id: t.tourId, storage_key: 'k/joined.mp4', source: 'call', speaker_turns: [{ who: 'user-1', start_ms: 0, end_ms: 10 }] }, ['storage_key', 'source', 'speaker_turns']);
    await repo.recordings.measured(t.tourId, { duration_seconds: 61, file_size_bytes: 1234 });
    expect(await repo.recordings.find(t.tourId)).toMatchObject({ storage_key: 'k/joined.mp4', source: 'call', content_type: 'audio/ogg', duration_seconds: 61, speaker_turns: [{ who: 'user-1', start_ms: 0, end_ms: 10 }], recorded_at: expect.any(Date) });

    await repo.transcripts.save({ tour_id: t.tourId, full_text: 'one', segments: [{ start_ms: 0, end_ms: 5, text: 'one' }], confidence_score: 0.5, language: 'en', model: 'tiny' });
    await repo.transcripts.save({ tour_id: t.tourId, full_text: 'two', segments: [], confidence_score: null, language: 'en', model: 'tiny' });
    expect(await repo.transcripts.find(t.tourId)).toMatchObject({ full_text: 'two', segments: [], confidence_score: null });

    const h = (timestamp_ms: number, note: string) => ({ timestamp_ms, note, highlight_type: 'feature', source: 'note', image_url: null });
    await repo.highlights.replace(t.tourId, [h(2000, 'b'), h(1000, 'a')]);
    await repo.highlights.replace(t.tourId, [h(3000, 'c'), h(1500, 'a2')]);
    expect((await repo.highlights.of(t.tourId)).map((x) => [x.timestamp_ms, x.note])).toEqual([
      [1500, 'a2'],
      [3000, 'c'],
    ]);
  });

  it('when notes are added, then they come back in tour order, with their author\'s role for the analyst', async () => {
    const t = await aTour();
    const repo = toursRepository(db.knex);
    await repo.notes.add({ tour_id: t.tourId, user_id: t.buyerId, content: 'later', tag: null, timestamp_ms: 9000 });
    const first = await repo.notes.add({ tour_id: t.tourId, user_id: t.realtorId, content: 'first', tag: 'feature', timestamp_ms: 1000 });
    expect(first).toMatchObject({ tour_id: t.tourId, user_id: t.realtorId, content: 'first', id: expect.any(Number) });
    expect((await repo.notes.of(t.tourId)).map((n) => n.content)).toEqual(['first', 'later']);
    expect(await repo.notes.withRoles(t.tourId)).toEqual([
      { timestamp_ms: 1000, content: 'first', tag: 'feature', role: 'realtor' },
      { timestamp_ms: 9000, content: 'later', tag: null, role: 'buyer' },
    ]);
  });

  it('when a tour row is locked in a transaction and patched, then the summary is stored as JSON', async () => {
    const t = await aTour();
    await db.knex.transaction(async (trx) => {
      const repo = toursRepository(trx);
      expect((await repo.find(t.tourId, { forUpdate: true }))!.status).toBe('scheduled');
      await repo.update(t.tourId, { status: 'in_progress', started_at: new Date('2026-12-01T15:01:00Z'), summary: { overview: 'ok' } });
    });
    expect(await toursRepository(db.knex).find(t.tourId)).toMatchObject({ status: 'in_progress', summary: { overview: 'ok' } });
  });
  it('when a tour is read as the API shows it, then it carries its address and call id, and only its realtor, its buyer and an admin see it', async () => {
    const t = await aTour();
    const stranger = await aTour();
    const repo = toursRepository(db.knex);
    const seen = await repo.findView({}, t.tourId);
    expect(seen).toMatchObject({ id: t.tourId, booking_id: t.bookingId, realtor_id: t.realtorId, buyer_id: t.buyerId, status: 'scheduled', property_address: '9 Elm St', call_id: t.callId });
    expect(Object.getPrototypeOf(seen)).toBe(Object.prototype);
    expect(await repo.findView({ realtorId: t.realtorId }, t.tourId)).toEqual(seen);
    expect(await repo.findView({ buyerId: t.buyerId }, t.tourId)).toEqual(seen);
    expect(await repo.findView({ realtorId: stranger.realtorId }, t.tourId)).toBeUndefined();
    expect(await repo.findView({ buyerId: stranger.buyerId }, t.tourId)).toBeUndefined();
    expect(await repo.findView({}, t.tourId + 10_000)).toBeUndefined();
  });

  it('when a tour has no call yet, then its view says so; with two, the first one made is the tour\'s', async () => {
    const none = await aTour();
    await db.knex('calls').where({ tour_id: none.tourId }).delete();
    const repo = toursRepository(db.knex);
    expect((await repo.findView({}, none.tourId))!.call_id).toBeNull();
    const two = await aTour();
    await db.knex('calls').insert({ tour_id: two.tourId, chime_meeting_id: `meeting-${two.tourId}-b` });
    expect((await repo.findView({}, two.tourId))!.call_id).toBe(two.callId);
  });

  it('when a realtor lists tours, then they get only theirs, latest first (ties by id), a page at a time with the count of all', async () => {
    const realtorId = (await insertUser(db.knex, 'realtor')).id;
    const at = (iso: string) => new Date(iso);
    const early = await aTour({ realtorId, scheduledAt: at('2027-01-01T10:00:00Z') });
    const lateA = await aTour({ realtorId, scheduledAt: at('2027-01-03T10:00:00Z') });
    // A realtor's live tours never overlap, so the tie is with a cancelled one.
    const lateB = await aTour({ realtorId, scheduledAt: at('2027-01-03T10:00:00Z'), status: 'cancelled' });
    const middle = await aTour({ realtorId, scheduledAt: at('2027-01-02T10:00:00Z') });
    await aTour();
    const repo = toursRepository(db.knex);
    const first = await repo.list({ realtorId }, {}, { page: 1, per_page: 3 });
    expect(first.total).toBe(4);
    expect(first.items.map((x) => x.id)).toEqual([lateB.tourId, lateA.tourId, middle.tourId]);
    expect(first.items[0]).toMatchObject({ property_address: '9 Elm St', call_id: lateB.callId, realtor_id: realtorId });
    const second = await repo.list({ realtorId }, {}, { page: 2, per_page: 3 });
    expect(second).toEqual({ items: [expect.objectContaining({ id: early.tourId })], total: 4 });
    expect(await repo.list({ realtorId }, {}, { page: 3, per_page: 3 })).toEqual({ items: [], total: 4 });
    expect((await repo.list({ buyerId: early.buyerId }, {}, { page: 1, per_page: 10 })).items.map((x) => x.id)).toEqual([early.tourId]);
  });

  it('when tours are filtered by status or as stuck, then only a failed one, or one processing without progress since the cut-off, is stuck', async () => {
    const realtorId = (await insertUser(db.knex, 'realtor')).id;
    const day = (d: number) => new Date(Date.UTC(2027, 1, d, 10));
    const failed = await aTour({ realtorId, status: 'processing_failed', scheduledAt: day(1) });
    // Last changed two hours ago (written at insert: an update would set updated_at to now).
    const stalled = await aTour({ realtorId, status: 'processing', scheduledAt: day(2), updatedAt: new Date(Date.now() - 2 * 60 * 60_000) });
    const moving = await aTour({ realtorId, status: 'processing', scheduledAt: day(3) });
    await aTour({ realtorId, status: 'completed', scheduledAt: day(4) });
    const repo = toursRepository(db.knex);
    const cutOff = new Date(Date.now() - 60 * 60_000);
    const stuck = await repo.list({ realtorId }, { stuckSince: cutOff }, { page: 1, per_page: 10 });
    expect(stuck.items.map((x) => x.id).sort((a, b) => a - b)).toEqual([failed.tourId, stalled.tourId]);
    expect(stuck.total).toBe(2);
    const processing = await repo.list({ realtorId }, { status: 'processing' }, { page: 1, per_page: 10 });
    expect(processing.items.map((x) => x.id).sort((a, b) => a - b)).toEqual([stalled.tourId, moving.tourId]);
    expect((await repo.list({ realtorId }, { status: 'processing', stuckSince: cutOff }, { page: 1, per_page: 10 })).items.map((x) => x.id)).toEqual([stalled.tourId]);
  });

  it('when a second tour is created for the same booking, then the database refuses it', async () => {
    const t = await aTour();
    await expect(
      db.knex('tours').insert({ property_id: t.propertyId, realtor_id: t.realtorId, buyer_id: t.buyerId, booking_id: t.bookingId, scheduled_at: new Date() }),
    ).rejects.toMatchObject({ code: '23505' });
  });
});
