import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { readOutbox } from '../support/outbox';
import type { TestApp } from '../support/app';
import { type TestDatabase, count } from '../support/db';
import { createBuyer, createProperty, createRealtor, createTour, serverSlot, type SignedIn } from '../support/factories';
import { startTestSystem, TOURS_STARTABLE_NOW, type TestSystem } from '../support/system';
import { FAKE_HIGHLIGHTS, FAKE_OPENAI_KEY, FakeOpenAi, verboseJson } from './support/fake-openai';
import { toneWav } from './support/wav';
import { killWorker, spawnWorker, stopWorker, type WorkerProcess } from './support/worker-process';
import { eventually } from '../support/wait';

/**
 * A worker dies mid-step: the worker runs as a child process; while the transcription
 * activity waits on a (deliberately slow) OpenAI-compatible server, the process is
 * SIGKILLed and a new worker process starts. Temporal notices the dead attempt only when
 * its heartbeat timeout (2 minutes, set in the TourWorkflow) passes; the retry then runs
 * on the new worker. The tour ends with exactly one of everything.
 *
 * Why this test waits two real minutes: the time-skipping test server holds a
 * time-skipping lock for every scheduled activity until the activity closes (completes,
 * fails or times out); only then may its clock jump. The dead attempt stays open until
 * its heartbeat timeout, so `env.sleep` cannot skip to that timeout: while an attempt is
 * open the server clock, and `env.sleep`, run at wall-clock speed. The test still sleeps
 * on the server clock (on a server that could skip, it would not wait).
 */

const TASK_QUEUE = 'rfy-worker-kill';
/** How long the fake Whisper takes: the first worker is killed long before it answers. */
const SLOW_MS = 4_000;

describe('a worker killed while a tour is being transcribed', () => {
  let sys: TestSystem;
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  let t: TestApp;
  let fake: FakeOpenAi;
  let workerEnv: Record<string, string>;
  const spawned: WorkerProcess[] = [];
  let realtor: SignedIn;
  let buyer: SignedIn;

  beforeAll(async () => {
    fake = new FakeOpenAi();
    fake.transcription = () => ({ status: 200, body: verboseJson(), delayMs: SLOW_MS });
    const baseUrl = await fake.start();
    const config = {
      TEMPORAL_TASK_QUEUE: TASK_QUEUE,
      AI_PROVIDER: 'openai',
      OPENAI_API_KEY: FAKE_OPENAI_KEY,
      OPENAI_BASE_URL: baseUrl,
      ...TOURS_STARTABLE_NOW,
    };
    // The API runs here; no worker in this process.
    sys = await startTestSystem({ config });
    ({ db, env, t } = sys);
    workerEnv = { ...config, DATABASE_URL: db.url, TEMPORAL_ADDRESS: env.address, DATA_DIR: t.config.paths.data };
    [realtor, buyer] = await Promise.all([createRealtor(t, 'Kim Realtor'), createBuyer(t, 'Lee Buyer')]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(spawned.map((w) => stopWorker(w)));
    await sys?.stop();
    await fake?.stop();
  }, 60_000);

  it('when the worker is SIGKILLed during transcription and another takes over, then the tour completes with one transcript, one set of highlights, one summary and one mail per person', async () => {
    const first = await spawnWorker(workerEnv);
    spawned.push(first);

    // A live tour with notes and an uploaded recording, ended by the realtor.
    const propertyId = await createProperty(t, realtor, { address: '9 Crash Court', price: 500000 });
    const { bookingId, tourId } = await createTour(t, { realtor, buyer }, { propertyId, scheduledAt: await serverSlot(env) });
    expect((await sys.http().post(`/api/v1/realtors/tours/${tourId}/start`).set(realtor.auth)).status).toBe(200);
    for (const [who, area, note] of [
      [realtor, 'realtors', { content: 'Roof replaced in 2020', tag: 'feature' }],
      [buyer, 'buyers', { content: 'Worried about street noise', tag: 'concern' }],
    ] as const) {
      expect((await sys.http().post(`/api/v1/${area}/tours/${tourId}/notes`).set(who.auth).send(note)).status).toBe(201);
    }
    const wav = toneWav({ seconds: 1 });
    expect((await sys.http().post(`/api/v1/realtors/tours/${tourId}/recording`).set(realtor.auth).attach('recording', wav, 'tour.wav')).status).toBe(201);
    expect((await sys.http().post(`/api/v1/realtors/tours/${tourId}/end`).set(realtor.auth)).status).toBe(200);

    // The transcription request is in flight at the fake Whisper: kill the worker now.
    await eventually('the transcription request', async () => fake.transcriptions().length === 1, 30_000);
    const running = await db.knex('tour_processing_steps').where({ tour_id: tourId, step: 'transcription' }).first();
    expect(running).toMatchObject({ status: 'running', attempts: 1 });
    await killWorker(first);
    const killedAt = Date.now();
    expect(first.child.signalCode).toBe('SIGKILL');

    const second = await spawnWorker(workerEnv);
    spawned.push(second);
    // The dead attempt is noticed when its heartbeat timeout (2 minutes) passes; sleep past it.
    await env.sleep('130 seconds');
    await eventually(
      'the tour completed',
      async () => (await db.knex('tours').where({ id: tourId }).first()).status === 'completed',
      // Generous: under a full parallel test run a new worker takes a while to bundle and poll.
      1_200_000,
    );
    // The killed attempt never got its answer; the retry came from the new worker.
    const [dead, retried] = fake.transcriptions();
    expect(dead!.answered).toBeUndefined();
    expect(retried!.receivedAt).toBeGreaterThan(killedAt);
    expect(retried!.answered).toBeDefined();

    // The second attempt ran on the new worker, once; the other steps ran once each.
    expect(fake.transcriptions()).toHaveLength(2);
    expect(fake.chats('tour_highlights')).toHaveLength(1);
    expect(fake.chats('tour_summary')).toHaveLength(1);
    const steps = Object.fromEntries(
      (await db.knex('tour_processing_steps').where({ tour_id: tourId })).map((r: { step: string; status: string; attempts: number }) => [r.step, { status: r.status, attempts: r.attempts }]),
    );
    expect(steps).toEqual({
      recording: { status: 'done', attempts: 1 },
      transcription: { status: 'done', attempts: 2 },
      highlights: { status: 'done', attempts: 1 },
      summary: { status: 'done', attempts: 1 },
      summary_email: { status: 'done', attempts: 1 },
    });

    // Exactly one of everything.
    expect(await count(db.knex('transcripts').where({ tour_id: tourId }))).toBe(1);
    expect(await count(db.knex('recordings').where({ tour_id: tourId }))).toBe(1);
    const highlights = await db.knex('highlights').where({ tour_id: tourId }).select('timestamp_ms', 'note', 'highlight_type', 'source');
    const keys = highlights.map((h: { timestamp_ms: string | number; note: string }) => `${h.timestamp_ms}|${h.note}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(highlights).toHaveLength(2 + FAKE_HIGHLIGHTS.length);
    const tour = await db.knex('tours').where({ id: tourId }).first();
    expect(tour.summary).toMatchObject({ ai_generated: true });

    const notifications = await db.knex('notifications').where('idempotency_key', 'like', `tour-summary:${tourId}:%`);
    expect(notifications.map((n: { recipient_user_id: number }) => n.recipient_user_id).sort()).toEqual([buyer.id, realtor.id].sort());
    expect(notifications.every((n: { status: string; attempts: number }) => n.status === 'sent' && n.attempts === 1)).toBe(true);
    const mail = (await readOutbox(t.config.email.outboxDir)).filter((m) => m.idempotencyKey.startsWith(`tour-summary:${tourId}:`));
    expect(mail.map((m) => m.to).sort()).toEqual([buyer.email, realtor.email].sort());

    const transcript = await sys.http().get(`/api/v1/buyers/tours/${tourId}/transcript`).set(buyer.auth);
    expect(transcript.body.data.attributes).toMatchObject({ status: 'ready', full_text: verboseJson().text });
    await eventually('booking completed', async () => (await db.knex('bookings').where({ id: bookingId }).first()).status === 'completed');
  }, 1_500_000);
});
