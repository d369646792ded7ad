import request from 'supertest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { readOutbox, type OutboxMessage } from '../support/outbox';
import { FAKE_CHAT_MODEL, FAKE_OPENAI_KEY, FAKE_SUMMARY, FakeOpenAi, TRANSCRIPT_SEGMENTS, verboseJson } from '../e2e/support/fake-openai';
import { toneWav } from '../e2e/support/wav';
import { buildTestApp, type TestApp } from '../support/app';
import { type TestDatabase, count } from '../support/db';
import { createAdmin, createBuyer, createProperty, createRealtor, createTour, serverSlot, type ConfirmedTour, type RequestedBooking, type SignedIn } from '../support/factories';
import { startTestSystem, TOURS_STARTABLE_NOW, type TestSystem } from '../support/system';
import { startTestWorker } from '../support/worker';
import { eventually } from '../support/wait';

/**
 * Tours over HTTP, end to end: the API, the Booking- and TourWorkflow on the time-skipping
 * server, real workers with the real activities, Postgres, local storage and the outbox.
 * The local adapters everywhere, except one worker (on its own task queue) whose AI is
 * OpenAI, reached at a local OpenAI-compatible server.
 */

const HOUR = 3_600_000;
const MINUTE = 60_000;

const RECORDING_MAX_BYTES = 64 * 1024;
const OPENAI_QUEUE = 'rfy-tours-openai';

describe('tours, calls and the post-tour pipeline over HTTP', () => {
  let sys: TestSystem;
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  /** TOUR_EARLY_START_MINUTES as shipped (15). */
  let strict: TestApp;
  /** The same system with a day-long early-start window, so tours can be started now. */
  let t: TestApp;
  /** The same again, on its own task queue, whose worker's AI is the fake OpenAI server. */
  let ai: TestApp;
  let fake: FakeOpenAi;
  let realtor: SignedIn;
  let buyer: SignedIn;
  let admin: SignedIn;
  let propertyId: number;
  const wav = toneWav({ seconds: 1 });

  beforeAll(async () => {
    fake = new FakeOpenAi();
    const baseUrl = await fake.start();
    const common = { RECORDING_MAX_BYTES: String(RECORDING_MAX_BYTES), BOOKING_MIN_NOTICE_MINUTES: '60' };
    sys = await startTestSystem({ config: common });
    ({ db, env, t: strict } = sys);
    // One data folder for all three: the same signing keys, files and outbox.
    const shared = { ...common, DATA_DIR: strict.config.paths.data, ...TOURS_STARTABLE_NOW };
    t = await buildTestApp({ knex: db.knex, env, config: shared });
    sys.onStop(() => t.cleanup());
    ai = await buildTestApp({
      knex: db.knex,
      env,
      config: { ...shared, TEMPORAL_TASK_QUEUE: OPENAI_QUEUE, AI_PROVIDER: 'openai', OPENAI_API_KEY: FAKE_OPENAI_KEY, OPENAI_BASE_URL: baseUrl },
    });
    sys.onStop(() => ai.cleanup());
    for (const worker of await Promise.all([startTestWorker(env, t, db.knex), startTestWorker(env, ai, db.knex)])) sys.onStop(() => worker.stop());
    [realtor, buyer, admin] = await Promise.all([createRealtor(t), createBuyer(t), createAdmin(t, db.knex)]);
    propertyId = await createProperty(t, realtor, { address: '12 Oak Street', city: 'Springfield', price: 450000 });
  }, 180_000);

  afterAll(async () => {
    await sys?.stop();
    await fake?.stop();
  }, 60_000);

  /**
   * Tours start within the next day (the large early-start window reaches them) and two
   * hours apart, so no booking of one buyer overlaps another. No timer of either workflow
   * fires while the tests run: time is only skipped while a test awaits it.
   */
  let slots = 0;
  /** A booking requested by the buyer and confirmed by the realtor, through `app`. */
  const confirmedTour = async (app: TestApp = t): Promise<ConfirmedTour & RequestedBooking> =>
    createTour(app, { realtor, buyer }, { propertyId, scheduledAt: await serverSlot(env, slots++) });

  function upload(app: TestApp, tourId: number, body: Buffer, filename: string, who: SignedIn = realtor) {
    return request(app.callback).post(`/api/v1/realtors/tours/${tourId}/recording`).set(who.auth).attach('recording', body, filename);
  }

  async function tourOf(app: TestApp, tourId: number) {
    const res = await request(app.callback).get(`/api/v1/realtors/tours/${tourId}`).set(realtor.auth);
    expect(res.status).toBe(200);
    return res.body.data.attributes as { status: string; started_at: string | null; ended_at: string | null; processing_step: string | null; processing_error: string | null; steps: Record<string, { status: string; detail: string | null }> };
  }

  const waitForStatus = (app: TestApp, tourId: number, status: string) =>
    eventually(`tour ${tourId} ${status}`, async () => {
      const a = await tourOf(app, tourId);
      return a.status === status && a;
    });

  const summaryMail = async (tourId: number): Promise<OutboxMessage[]> =>
    (await readOutbox(t.config.email.outboxDir)).filter((m) => m.idempotencyKey.startsWith(`tour-summary:${tourId}:`));

  const stepRows = async (tourId: number) =>
    Object.fromEntries(
      (await db.knex('tour_processing_steps').where({ tour_id: tourId }).select('step', 'status', 'attempts', 'detail')).map((r: { step: string; status: string; attempts: number; detail: string | null }) => [
        r.step,
        { status: r.status, attempts: r.attempts, detail: r.detail },
      ]),
    );

  /** Fetches a signed file URL from the API that issued it. */
  const fetchSigned = (app: TestApp, url: string) => {
    const u = new URL(url);
    return request(app.callback).get(`${u.pathname}${u.search}`).buffer(true).parse((res, cb) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => cb(null, Buffer.concat(parts)));
    });
  };

  describe('the whole tour', () => {
    it('when a confirmed tour is started, joined, noted, recorded and ended, then it is processed to completion with every artifact, mail and the completed booking', async () => {
      const { bookingId, tourId, callId, scheduledAt } = await confirmedTour();

      // Both see the scheduled tour, with its call.
      for (const [who, area] of [[realtor, 'realtors'], [buyer, 'buyers']] as const) {
        const got = await request(t.callback).get(`/api/v1/${area}/tours/${tourId}`).set(who.auth);
        expect(got.status).toBe(200);
        expect(got.body.data).toMatchObject({
          id: String(tourId),
          type: 'tour',
          attributes: { booking_id: bookingId, property_id: propertyId, property_address: '12 Oak Street', realtor_id: realtor.id, buyer_id: buyer.id, status: 'scheduled', scheduled_at: scheduledAt, started_at: null },
          relationships: { call: { data: { id: String(callId), type: 'call' } } },
        });
        const list = await request(t.callback).get(`/api/v1/${area}/tours?per_page=100`).set(who.auth);
        expect(list.status).toBe(200);
        expect(list.body.data.map((x: { id: string }) => x.id)).toContain(String(tourId));
      }

      // Too early under the shipped 15-minute window: the answer says when it opens.
      const opensAt = new Date(Date.parse(scheduledAt) - 15 * MINUTE).toISOString();
      const early = await request(strict.callback).post(`/api/v1/realtors/tours/${tourId}/start`).set(realtor.auth);
      expect(early.status).toBe(409);
      expect(early.body.errors[0]).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining(opensAt) });
      expect((await tourOf(t, tourId)).status).toBe('scheduled');
      // The call is not open before the start.
      expect((await request(t.callback).post(`/api/v1/buyers/calls/${callId}/join`).set(buyer.auth)).status).toBe(409);

      // With a day-long window it starts now.
      const before = Date.now();
      const started = await request(t.callback).post(`/api/v1/realtors/tours/${tourId}/start`).set(realtor.auth);
      expect(started.body.errors).toBeUndefined();
      expect(started.status).toBe(200);
      expect(started.body.data.attributes).toMatchObject({ status: 'in_progress', ended_at: null });
      const startedAt = Date.parse(started.body.data.attributes.started_at);
      expect(startedAt).toBeGreaterThanOrEqual(before - 1000);
      expect((await request(t.callback).post(`/api/v1/realtors/tours/${tourId}/start`).set(realtor.auth)).status).toBe(409);
      const call = await request(t.callback).get(`/api/v1/realtors/calls/${callId}`).set(realtor.auth);
      expect(call.status).toBe(200);
      expect(call.body.data.attributes).toMatchObject({ tour_id: tourId, status: 'active', meeting_id: expect.any(String) });

      // Both join: one meeting, each their own attendee, and only their own token.
      const rj = await request(t.callback).post(`/api/v1/realtors/calls/${callId}/join`).set(realtor.auth);
      const bj = await request(t.callback).post(`/api/v1/buyers/calls/${callId}/join`).set(buyer.auth);
      expect(rj.status).toBe(200);
      expect(bj.status).toBe(200);
      for (const [res, who] of [[rj, realtor], [bj, buyer]] as const) {
        expect(Object.keys(res.body.data).sort()).toEqual(['Attendee', 'Meeting', 'recording']);
        // Calls are recorded from the start (RECORD_CALLS), and whoever joins is told so.
        expect(res.body.data.recording).toEqual({ active: true, notice: expect.stringMatching(/being recorded/) });
        expect(res.body.data.Meeting).toMatchObject({ MeetingId: call.body.data.attributes.meeting_id, ExternalMeetingId: `tour-${tourId}`, MediaRegion: expect.any(String), MediaPlacement: { AudioHostUrl: expect.any(String), SignalingUrl: expect.any(String) } });
        expect(res.body.data.Attendee).toEqual({ AttendeeId: expect.any(String), ExternalUserId: `user-${who.id}`, JoinToken: expect.any(String) });
      }
      expect(rj.body.data.Attendee.AttendeeId).not.toBe(bj.body.data.Attendee.AttendeeId);
      expect(rj.body.data.Attendee.JoinToken).not.toBe(bj.body.data.Attendee.JoinToken);
      expect(JSON.stringify(bj.body)).not.toContain(rj.body.data.Attendee.JoinToken);
      expect(JSON.stringify(rj.body)).not.toContain(bj.body.data.Attendee.JoinToken);
      // Nobody's token shows on the call itself; joining again gives the same attendee.
      const callNow = await request(t.callback).get(`/api/v1/buyers/calls/${callId}`).set(buyer.auth);
      expect(callNow.status).toBe(200);
      expect(JSON.stringify(callNow.body)).not.toContain(rj.body.data.Attendee.JoinToken);
      expect(JSON.stringify(callNow.body)).not.toContain(bj.body.data.Attendee.JoinToken);
      const again = await request(t.callback).post(`/api/v1/buyers/calls/${callId}/join`).set(buyer.auth);
      expect(again.body.data.Attendee).toEqual(bj.body.data.Attendee);
      expect(await db.knex('call_attendees').where({ call_id: callId }).orderBy('user_id').pluck('attendee_id')).toEqual(
        [[realtor.id, rj], [buyer.id, bj]].sort((a, b) => (a[0] as number) - (b[0] as number)).map(([, r]) => (r as typeof rj).body.data.Attendee.AttendeeId),
      );

      // Notes from both: the server's clock, an explicit time, tags.
      const priceNote = await request(t.callback).post(`/api/v1/realtors/tours/${tourId}/notes`).set(realtor.auth).send({ content: 'Asking price is $450,000 and the seller is open to offers', tag: 'price' });
      expect(priceNote.status).toBe(201);
      const elapsed = Date.now() - startedAt;
      expect(priceNote.body.data.attributes).toMatchObject({ user_id: realtor.id, tag: 'price' });
      expect(priceNote.body.data.attributes.timestamp_ms).toBeGreaterThanOrEqual(0);
      expect(priceNote.body.data.attributes.timestamp_ms).toBeLessThanOrEqual(elapsed + 1000);
      const concern = await request(t.callback).post(`/api/v1/buyers/tours/${tourId}/notes`).set(buyer.auth).send({ content: 'Damp patch on the basement wall', tag: 'concern', timestamp_ms: 500 });
      expect(concern.status).toBe(201);
      expect(concern.body.data.attributes).toMatchObject({ user_id: buyer.id, tag: 'concern', timestamp_ms: 500 });
      const plain = await request(t.callback).post(`/api/v1/buyers/tours/${tourId}/notes`).set(buyer.auth).send({ content: 'I love the big kitchen' });
      expect(plain.status).toBe(201);
      expect(plain.body.data.attributes).toMatchObject({ tag: null, timestamp_ms: expect.any(Number) });
      // A time after now is not a time of the tour.
      const future = await request(t.callback).post(`/api/v1/buyers/tours/${tourId}/notes`).set(buyer.auth).send({ content: 'later', timestamp_ms: 10 * HOUR });
      expect(future.status).toBe(400);
      expect(future.body.errors[0]).toMatchObject({ code: 'VALIDATION_ERROR', field: 'timestamp_ms' });
      for (const [who, area] of [[realtor, 'realtors'], [buyer, 'buyers']] as const) {
        const notes = await request(t.callback).get(`/api/v1/${area}/tours/${tourId}/notes`).set(who.auth);
        expect(notes.status).toBe(200);
        expect(notes.body.data.map((n: { attributes: { content: string } }) => n.attributes.content).sort()).toEqual(
          ['Asking price is $450,000 and the seller is open to offers', 'Damp patch on the basement wall', 'I love the big kitchen'].sort(),
        );
      }

      // Recording since the start; the realtor stops and restarts it (local meetings capture
      // nothing; the upload is the recording).
      const recOff = await request(t.callback).post(`/api/v1/realtors/calls/${callId}/record`).set(realtor.auth).send({ action: 'stop' });
      expect(recOff.status).toBe(200);
      expect(recOff.body.data.attributes.recording).toBe(false);
      const recOn = await request(t.callback).post(`/api/v1/realtors/calls/${callId}/record`).set(realtor.auth).send({ action: 'start' });
      expect(recOn.status).toBe(200);
      expect(recOn.body.data.attributes.recording).toBe(true);
      const notice = await request(t.callback).post(`/api/v1/buyers/calls/${callId}/join`).set(buyer.auth);
      expect(notice.body.data.recording).toMatchObject({ active: true });
      // Each start and stop, and each join and leave, is in the audit log with who did it.
      const audited = await db.knex('audit_logs').where({ resource_type: 'call', resource_id: callId }).orderBy('id').select('action', 'user_id');
      expect(audited).toEqual([
        { action: 'call_recording_started', user_id: realtor.id },
        { action: 'call_joined', user_id: realtor.id },
        { action: 'call_joined', user_id: buyer.id },
        { action: 'call_recording_stopped', user_id: realtor.id },
        { action: 'call_recording_started', user_id: realtor.id },
      ]);
      expect((await request(t.callback).post(`/api/v1/realtors/calls/${callId}/record`).set(realtor.auth).send({ action: 'pause' })).status).toBe(400);

      // The buyer leaves; the realtor uploads the recording (judged by its bytes, not its name).
      const left = await request(t.callback).post(`/api/v1/buyers/calls/${callId}/leave`).set(buyer.auth);
      expect(left.status).toBe(200);
      expect((await db.knex('call_attendees').where({ call_id: callId, user_id: buyer.id }).first()).left_at).toBeInstanceOf(Date);
      const uploaded = await upload(t, tourId, wav, 'tour-audio.bin');
      expect(uploaded.body.errors).toBeUndefined();
      expect(uploaded.status).toBe(201);
      expect(uploaded.body.data.attributes).toMatchObject({ content_type: 'audio/wav', file_size_bytes: wav.length, source: 'upload' });

      // The realtor ends it: processing begins, the call is closed.
      const ended = await request(t.callback).post(`/api/v1/realtors/tours/${tourId}/end`).set(realtor.auth);
      expect(ended.body.errors).toBeUndefined();
      expect(ended.status).toBe(200);
      expect(['processing', 'completed']).toContain(ended.body.data.attributes.status);
      expect(ended.body.data.attributes.ended_at).toEqual(expect.any(String));
      expect((await request(t.callback).post(`/api/v1/buyers/calls/${callId}/join`).set(buyer.auth)).status).toBe(409);
      expect((await request(t.callback).post(`/api/v1/realtors/tours/${tourId}/end`).set(realtor.auth)).status).toBe(409);

      const done = await waitForStatus(t, tourId, 'completed');
      expect(done).toMatchObject({
        processing_step: null,
        processing_error: null,
        steps: {
          recording: { status: 'done' },
          transcription: { status: 'done' },
          highlights: { status: 'done' },
          summary: { status: 'done' },
          summary_email: { status: 'done' },
        },
      });
      expect((await db.knex('calls').where({ id: callId }).first()).status).toBe('ended');

      // The recording: a signed URL that serves the very bytes.
      for (const [who, area] of [[realtor, 'realtors'], [buyer, 'buyers']] as const) {
        const rec = await request(t.callback).get(`/api/v1/${area}/tours/${tourId}/recording`).set(who.auth);
        expect(rec.status).toBe(200);
        expect(rec.body.data.attributes).toMatchObject({
          status: 'ready',
          reason: null,
          content_type: 'audio/wav',
          source: 'upload',
          url: expect.stringMatching(/signature=/),
          playback_url: expect.stringMatching(/signature=/),
          file_size_bytes: wav.length,
          duration_seconds: 1,
          recorded_at: expect.any(String),
        });
        const file = await fetchSigned(t, rec.body.data.attributes.url);
        expect(file.status).toBe(200);
        expect(file.headers['content-type']).toBe('audio/wav');
        expect(Buffer.compare(file.body as Buffer, wav)).toBe(0);
        const viaCall = await request(t.callback).get(`/api/v1/${area}/calls/${callId}/recording`).set(who.auth);
        expect(viaCall.status).toBe(200);
        expect(viaCall.body.data.attributes).toMatchObject({ status: 'ready', content_type: 'audio/wav' });
      }
      // A tampered link serves nothing.
      const rec = await request(t.callback).get(`/api/v1/realtors/tours/${tourId}/recording`).set(realtor.auth);
      expect((await fetchSigned(t, rec.body.data.attributes.url.replace(/signature=./, 'signature=x'))).status).toBe(403);

      // Processing has taken the recording: no other can replace it.
      const late = await upload(t, tourId, toneWav({ seconds: 0.5 }), 'other.wav');
      expect(late.status).toBe(409);
      expect(late.body.errors[0].code).toBe('CONFLICT');

      // Transcribed on this machine: a one-second tone holds no speech, so no words.
      const transcript = await request(t.callback).get(`/api/v1/buyers/tours/${tourId}/transcript`).set(buyer.auth);
      expect(transcript.status).toBe(200);
      expect(transcript.body.data.attributes).toMatchObject({ status: 'ready', reason: null, full_text: '', segments: [] });

      // Highlights: the tagged notes as they are, at their times.
      const highlights = await request(t.callback).get(`/api/v1/realtors/tours/${tourId}/highlights`).set(realtor.auth);
      expect(highlights.status).toBe(200);
      expect(highlights.body.data.attributes.status).toBe('ready');
      const items = highlights.body.data.attributes.items as Array<{ timestamp_ms: number; type: string; note: string; source: string }>;
      expect(items).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ type: 'price', note: 'Asking price is $450,000 and the seller is open to offers', source: 'note', timestamp_ms: priceNote.body.data.attributes.timestamp_ms }),
          expect.objectContaining({ type: 'concern', note: 'Damp patch on the basement wall', source: 'note', timestamp_ms: 500 }),
        ]),
      );
      expect(items.filter((h) => h.note === 'Damp patch on the basement wall')).toHaveLength(1);
      expect(items.map((h) => h.timestamp_ms)).toEqual([...items.map((h) => h.timestamp_ms)].sort((a, b) => a - b));

      // The summary, marked as AI-generated.
      const summary = await request(t.callback).get(`/api/v1/buyers/tours/${tourId}/summary`).set(buyer.auth);
      expect(summary.status).toBe(200);
      expect(summary.body.data.attributes).toMatchObject({
        status: 'ready',
        summary: { ai_generated: true, model: 'local-extractive', overview: expect.stringContaining('12 Oak Street'), key_points: expect.any(Array), concerns: ['Damp patch on the basement wall'] },
      });

      // Mailed to both, once each.
      const mail = await eventually('two summary mails', async () => {
        const m = await summaryMail(tourId);
        return m.length >= 2 && m;
      });
      expect(mail.map((m) => m.to).sort()).toEqual([buyer.email, realtor.email].sort());
      for (const m of mail) {
        expect(m.subject).toBe('Your tour of 12 Oak Street: the summary');
        expect(m.text).toContain('Damp patch on the basement wall');
      }
      const sent = await db.knex('notifications').where('idempotency_key', 'like', `tour-summary:${tourId}:%`).select('recipient_user_id', 'status', 'attempts');
      expect(sent.map((n: { recipient_user_id: number }) => n.recipient_user_id).sort()).toEqual([buyer.id, realtor.id].sort());
      expect(sent.every((n: { status: string; attempts: number }) => n.status === 'sent' && n.attempts === 1)).toBe(true);

      // Told when the tour started and when it ended: once each, each person.
      for (const kind of ['tour_start', 'tour_end']) {
        const notices = await eventually(`${kind} mails`, async () => {
          const m = (await readOutbox(t.config.email.outboxDir)).filter((x) => x.idempotencyKey.startsWith(`${kind}:${tourId}:`));
          return m.length >= 2 && m;
        });
        expect(notices.map((m) => m.to).sort()).toEqual([buyer.email, realtor.email].sort());
      }
      const startMail = (await readOutbox(t.config.email.outboxDir)).find((x) => x.idempotencyKey === `tour_start:${tourId}:user-${buyer.id}`)!;
      expect(startMail.text).toContain(`/api/v1/buyers/calls/${callId}/join`);
      expect(startMail.text).toMatch(/being recorded/);

      // The booking is completed by the tour's end.
      await eventually('booking completed', async () => (await request(t.callback).get(`/api/v1/buyers/bookings/${bookingId}`).set(buyer.auth)).body.data?.attributes.status === 'completed');

      // Admins see it too; it is not stuck.
      const adminGet = await request(t.callback).get(`/api/v1/admin/tours/${tourId}`).set(admin.auth);
      expect(adminGet.status).toBe(200);
      const stuck = await request(t.callback).get('/api/v1/admin/tours?stuck=true&per_page=100').set(admin.auth);
      expect(stuck.status).toBe(200);
      expect(stuck.body.data.map((x: { id: string }) => x.id)).not.toContain(String(tourId));
    });
  });

  describe('recording uploads', () => {
    it('when the realtor uploads a text file as the recording, then 415 and nothing is stored', async () => {
      const { tourId } = await confirmedTour();
      const res = await upload(t, tourId, Buffer.from('These are not the sounds of a tour.\n'.repeat(20)), 'recording.mp3');
      expect(res.status).toBe(415);
      expect(res.body.errors[0]).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', field: 'recording' });
      expect(await count(db.knex('recordings').where({ tour_id: tourId }))).toBe(0);
    });

    it('when the recording is larger than RECORDING_MAX_BYTES, then 413 PAYLOAD_TOO_LARGE and nothing is stored', async () => {
      const { tourId } = await confirmedTour();
      const big = toneWav({ seconds: 5 });
      expect(big.length).toBeGreaterThan(RECORDING_MAX_BYTES);
      const res = await upload(t, tourId, big, 'long.wav');
      expect(res.status).toBe(413);
      expect(res.body.errors[0]).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
      expect(JSON.stringify(res.body)).not.toMatch(/stack|at .*\.ts/);
      expect(await count(db.knex('recordings').where({ tour_id: tourId }))).toBe(0);
    });

    it('when the buyer tries to upload a recording, then 403 (the route is the realtor\'s)', async () => {
      const { tourId } = await confirmedTour();
      expect((await upload(t, tourId, wav, 'a.wav', buyer)).status).toBe(403);
    });
  });

  describe('notes after the tour', () => {
    it('when a note comes within the grace period it is kept, and when it comes after the grace period, then 409 saying why', async () => {
      const { tourId, callId } = await confirmedTour();
      expect((await request(t.callback).post(`/api/v1/realtors/tours/${tourId}/start`).set(realtor.auth)).status).toBe(200);
      // Ended from the call this time: the same as ending the tour.
      const ended = await request(t.callback).post(`/api/v1/realtors/calls/${callId}/end`).set(realtor.auth);
      expect(ended.status).toBe(200);
      expect(ended.body.data).toMatchObject({ id: String(tourId), type: 'tour' });
      expect(['processing', 'completed']).toContain(ended.body.data.attributes.status);
      expect((await request(t.callback).post(`/api/v1/realtors/calls/${callId}/record`).set(realtor.auth).send({ action: 'start' })).status).toBe(409);
      await waitForStatus(t, tourId, 'completed');

      const inGrace = await request(t.callback).post(`/api/v1/buyers/tours/${tourId}/notes`).set(buyer.auth).send({ content: 'Forgot to say: nice garden' });
      expect(inGrace.status).toBe(201);
      const tour = await db.knex('tours').where({ id: tourId }).first();
      // Capped at the end of the tour: a note after it belongs to its last moment.
      expect(inGrace.body.data.attributes.timestamp_ms).toBe(tour.ended_at.getTime() - tour.started_at.getTime());

      // The tour ended longer ago than TOUR_NOTES_GRACE_MINUTES (30).
      const shift = (31 + 5) * MINUTE;
      await db.knex('tours').where({ id: tourId }).update({ started_at: new Date(tour.started_at.getTime() - shift), ended_at: new Date(tour.ended_at.getTime() - shift) });
      for (const [who, area] of [[realtor, 'realtors'], [buyer, 'buyers']] as const) {
        const late = await request(t.callback).post(`/api/v1/${area}/tours/${tourId}/notes`).set(who.auth).send({ content: 'Too late' });
        expect(late.status).toBe(409);
        expect(late.body.errors[0]).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('30 minutes after it ends') });
      }
      expect(await count(db.knex('tour_notes').where({ tour_id: tourId }))).toBe(1);
    });

    it('when the tour has not started, then notes are refused with 409', async () => {
      const { tourId } = await confirmedTour();
      const res = await request(t.callback).post(`/api/v1/buyers/tours/${tourId}/notes`).set(buyer.auth).send({ content: 'Early bird' });
      expect(res.status).toBe(409);
    });
  });

  describe('a failed step, parked and retried (OpenAI)', () => {
    it('when Whisper refuses the recording, then the tour is parked at transcription and listed as stuck; when an admin retries, then it resumes from there to completion', async () => {
      fake.transcription = (n) =>
        n === 1
          ? { status: 400, body: { error: { message: 'Audio file might be corrupted or unsupported', type: 'invalid_request_error', param: 'file', code: 'invalid_value' } } }
          : { status: 200, body: verboseJson() };
      const { bookingId, tourId } = await confirmedTour(ai);
      expect((await request(ai.callback).post(`/api/v1/realtors/tours/${tourId}/start`).set(realtor.auth)).status).toBe(200);
      expect((await request(ai.callback).post(`/api/v1/buyers/tours/${tourId}/notes`).set(buyer.auth).send({ content: 'Kitchen looks new', tag: 'feature' })).status).toBe(201);
      expect((await upload(ai, tourId, wav, 'tour.wav')).status).toBe(201);
      expect((await request(ai.callback).post(`/api/v1/realtors/tours/${tourId}/end`).set(realtor.auth)).status).toBe(200);

      const parked = await waitForStatus(ai, tourId, 'processing_failed');
      expect(parked).toMatchObject({
        processing_step: 'transcription',
        processing_error: expect.stringMatching(/^transcription: .*400/),
        steps: { recording: { status: 'done' }, transcription: { status: 'failed', detail: expect.stringMatching(/corrupted or unsupported/) } },
      });
      expect(parked.steps.highlights).toBeUndefined();
      const failed = await request(ai.callback).get(`/api/v1/buyers/tours/${tourId}/transcript`).set(buyer.auth);
      expect(failed.status).toBe(200);
      expect(failed.body.data.attributes).toMatchObject({ status: 'failed', reason: expect.stringMatching(/OpenAI refused the request \(400\).*corrupted or unsupported/), full_text: null });
      // Later artifacts wait for the pipeline.
      const pending = await request(ai.callback).get(`/api/v1/buyers/tours/${tourId}/summary`).set(buyer.auth);
      expect(pending.body.data.attributes).toMatchObject({ status: 'processing', summary: null });

      // What Whisper was sent: multipart, whisper-1, verbose_json with segment times.
      const [first] = fake.transcriptions();
      expect(first!.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
      expect(first!.form!.get('model')).toBe('whisper-1');
      expect(first!.form!.get('response_format')).toBe('verbose_json');
      expect(first!.form!.getAll('timestamp_granularities[]')).toEqual(['segment']);
      const sentFile = first!.form!.get('file') as File;
      expect(sentFile.name).toBe('upload.wav');
      expect(Buffer.compare(Buffer.from(await sentFile.arrayBuffer()), wav)).toBe(0);
      expect(fake.chats()).toHaveLength(0);

      // Only admins see the stuck list, and it holds this tour.
      const stuck = await request(ai.callback).get('/api/v1/admin/tours?stuck=true&per_page=100').set(admin.auth);
      expect(stuck.status).toBe(200);
      const listed = stuck.body.data.find((x: { id: string }) => x.id === String(tourId));
      expect(listed?.attributes).toMatchObject({ status: 'processing_failed', processing_step: 'transcription' });
      expect(stuck.body.data.every((x: { attributes: { status: string } }) => ['processing_failed', 'processing'].includes(x.attributes.status))).toBe(true);
      expect((await request(ai.callback).get('/api/v1/realtors/tours?stuck=true').set(realtor.auth)).status).toBe(400);
      expect((await request(ai.callback).post(`/api/v1/admin/tours/${tourId}/retry`).set(realtor.auth)).status).toBe(403);

      // The retry resumes from the failed step.
      const retried = await request(ai.callback).post(`/api/v1/admin/tours/${tourId}/retry`).set(admin.auth);
      expect(retried.body.errors).toBeUndefined();
      expect(retried.status).toBe(200);
      // Checked last (see the end), so every other outcome of the retry is checked too.
      const statusAnsweredByRetry = retried.body.data.attributes.status as string;
      const done = await waitForStatus(ai, tourId, 'completed');
      expect(done.processing_error).toBeNull();

      const steps = await stepRows(tourId);
      expect(steps).toMatchObject({
        recording: { status: 'done', attempts: 1 },
        transcription: { status: 'done', attempts: 2 },
        highlights: { status: 'done', attempts: 1 },
        summary: { status: 'done', attempts: 1 },
        summary_email: { status: 'done', attempts: 1 },
      });
      expect(fake.transcriptions()).toHaveLength(2);

      const transcript = await request(ai.callback).get(`/api/v1/realtors/tours/${tourId}/transcript`).set(realtor.auth);
      expect(transcript.body.data.attributes).toMatchObject({
        status: 'ready',
        reason: null,
        full_text: TRANSCRIPT_SEGMENTS.map((s) => s.text.trim()).join(' '),
        segments: TRANSCRIPT_SEGMENTS.map((s) => ({ start_ms: s.start * 1000, end_ms: s.end * 1000, text: s.text.trim() })),
      });
      expect(await count(db.knex('transcripts').where({ tour_id: tourId }))).toBe(1);

      const highlights = await request(ai.callback).get(`/api/v1/realtors/tours/${tourId}/highlights`).set(realtor.auth);
      expect(highlights.body.data.attributes.status).toBe('ready');
      expect(highlights.body.data.attributes.items).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ type: 'feature', note: 'Kitchen looks new', source: 'note' }),
          expect.objectContaining({ type: 'next_step', note: 'The buyer wants a second viewing next week.', source: 'ai', timestamp_ms: 2500 }),
        ]),
      );
      // The model read the transcript (and the note) it was given.
      const prompt = fake.chats('tour_highlights')[0]!.json!.messages!.map((m) => m.content).join('\n');
      expect(prompt).toContain('second viewing');
      expect(prompt).toContain('Kitchen looks new');

      const summary = await request(ai.callback).get(`/api/v1/buyers/tours/${tourId}/summary`).set(buyer.auth);
      expect(summary.body.data.attributes).toMatchObject({ status: 'ready', summary: { ...FAKE_SUMMARY, ai_generated: true, model: FAKE_CHAT_MODEL } });
      const mail = await eventually('two summary mails', async () => {
        const m = await summaryMail(tourId);
        return m.length >= 2 && m;
      });
      expect(mail.map((m) => m.to).sort()).toEqual([buyer.email, realtor.email].sort());

      const audit = await db.knex('audit_logs').where({ action: 'tour_processing_retried', resource_type: 'tour', resource_id: tourId });
      expect(audit).toHaveLength(1);
      expect(audit[0].user_id).toBe(admin.id);
      await eventually('booking completed', async () => (await db.knex('bookings').where({ id: bookingId }).first()).status === 'completed');

      // Nothing left to retry; no longer stuck.
      expect((await request(ai.callback).post(`/api/v1/admin/tours/${tourId}/retry`).set(admin.auth)).status).toBe(409);
      const after = await request(ai.callback).get('/api/v1/admin/tours?stuck=true&per_page=100').set(admin.auth);
      expect(after.body.data.map((x: { id: string }) => x.id)).not.toContain(String(tourId));

      // An admin corrects the summary: it stays marked AI-generated, with the editor noted.
      const edited = { overview: 'Corrected overview.', key_points: ['Kitchen redone'], buyer_interest: 'High', concerns: [], next_steps: ['Second viewing'] };
      const put = await request(ai.callback).put(`/api/v1/admin/tours/${tourId}`).set(admin.auth).send({ summary: edited });
      expect(put.status).toBe(200);
      const correctedSummary = await request(ai.callback).get(`/api/v1/buyers/tours/${tourId}/summary`).set(buyer.auth);
      expect(correctedSummary.body.data.attributes.summary).toEqual({ ...edited, ai_generated: true, model: FAKE_CHAT_MODEL, edited_by: admin.id });

      // The retry's own answer shows the tour processing again ("The tour, processing again").
      expect(statusAnsweredByRetry).not.toBe('processing_failed');
    });
  });

  describe('admin cancel', () => {
    it('when an admin deletes a scheduled tour, then its booking and the tour are cancelled and its artifacts are skipped', async () => {
      const { bookingId, tourId, callId } = await confirmedTour();
      const res = await request(t.callback).delete(`/api/v1/admin/tours/${tourId}`).set(admin.auth);
      expect(res.body.errors).toBeUndefined();
      expect(res.status).toBe(200);
      expect((await db.knex('bookings').where({ id: bookingId }).first()).status).toBe('cancelled');
      await waitForStatus(t, tourId, 'cancelled');
      expect((await db.knex('calls').where({ id: callId }).first()).status).toBe('cancelled');
      const summary = await request(t.callback).get(`/api/v1/buyers/tours/${tourId}/summary`).set(buyer.auth);
      expect(summary.body.data.attributes).toMatchObject({ status: 'skipped', reason: 'The tour was cancelled' });
      expect((await request(t.callback).post(`/api/v1/realtors/tours/${tourId}/start`).set(realtor.auth)).status).toBe(409);
      const again = await request(t.callback).delete(`/api/v1/admin/tours/${tourId}`).set(admin.auth);
      expect(again.status).toBe(409);
      expect(again.body.errors[0]).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('cancelled') });
      // The answer is the tour; its own workflow applies the cancellation just after (a signal).
      expect(res.body.data).toMatchObject({ id: String(tourId), type: 'tour' });
      expect(['scheduled', 'cancelled']).toContain(res.body.data.attributes.status);
    });
  });
});
