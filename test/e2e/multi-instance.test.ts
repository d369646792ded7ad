import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { readOutbox } from '../support/outbox';
import { createLogger } from '../../lib/logger';
import { getConfig } from '../../lib/config';
import { startTemporalDevServer, type RunningDevServer } from '../../lib/temporal-dev-server';
import { searchAttributesForCli } from '../../workflows/search-attributes';
import { count, createTestDatabase, type TestDatabase } from '../support/db';
import { confirmBooking, createBuyers, createProperty, createRealtor, requestBooking, type SignedIn } from '../support/factories';
import { freePort } from '../support/ports';
import { eventually } from '../support/wait';
import { FAKE_OPENAI_KEY, FakeOpenAi, verboseJson } from './support/fake-openai';
import { spawnNode, stopProc, waitFor200, type Proc } from './support/processes';
import { toneWav } from './support/wav';

/**
 * Many instances, one infrastructure: a real Temporal server (the dev server, not the
 * time-skipping one) and one PostgreSQL, with two API processes and two worker processes
 * configured as in production (DATABASE_URL, TEMPORAL_ADDRESS, one shared PUBLIC_BASE_URL
 * and one shared DATA_DIR for the local signing key, stored files and outbox).
 * Requests alternate between the APIs; no instance may rely on its own memory.
 *
 * Each worker talks to its own OpenAI-compatible fake, so the test knows which worker
 * holds the transcription step and kills exactly that one. Temporal notices the dead
 * attempt when its heartbeat timeout (2 minutes, in the TourWorkflow) passes: this test
 * waits that out in real time, so it runs in npm test's last, solitary jest run.
 */

const HOUR = 3_600_000;
const MINUTE = 60_000;
const TASK_QUEUE = 'rfy-multi-instance';

describe('two APIs and two workers on one Temporal and one PostgreSQL', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'rfy-multi-'));
  chmodSync(dataDir, 0o755);
  let db: TestDatabase;
  let temporal: RunningDevServer;
  const fakes = [new FakeOpenAi(), new FakeOpenAi()];
  const apis: Array<{ proc: Proc; url: string }> = [];
  const workers: Proc[] = [];
  let realtor: SignedIn;
  let buyers: SignedIn[];
  /** The n-th request goes to API n % 2. */
  let turn = 0;
  const api = () => request(apis[turn++ % 2]!.url);
  const base = Math.ceil(Date.now() / HOUR) * HOUR + 2 * HOUR;

  const book = async (buyer: SignedIn, propertyId: number, startMs: number, minutes = 30): Promise<number> =>
    (await requestBooking(api, buyer, propertyId, { scheduledAt: new Date(startMs).toISOString(), durationMinutes: minutes })).id;

  /** Starts a confirmed tour, takes notes on both APIs, uploads the recording and ends it. */
  async function runTour(tourId: number, buyer: SignedIn): Promise<void> {
    expect((await api().post(`/api/v1/realtors/tours/${tourId}/start`).set(realtor.auth)).status).toBe(200);
    expect((await api().post(`/api/v1/realtors/tours/${tourId}/notes`).set(realtor.auth).send({ content: 'New roof in 2021', tag: 'feature' })).status).toBe(201);
    expect((await api().post(`/api/v1/buyers/tours/${tourId}/notes`).set(buyer.auth).send({ content: 'Small garden', tag: 'concern' })).status).toBe(201);
    const upload = await api().post(`/api/v1/realtors/tours/${tourId}/recording`).set(realtor.auth).attach('recording', toneWav({ seconds: 1 }), 'tour.wav');
    expect(upload.status).toBe(201);
    expect((await api().post(`/api/v1/realtors/tours/${tourId}/end`).set(realtor.auth)).status).toBe(200);
  }

  async function expectProcessedOnce(tourId: number, buyer: SignedIn, transcriptionAttempts: number): Promise<void> {
    await eventually('the tour completed', async () => (await db.knex('tours').where({ id: tourId }).first()).status === 'completed', 600_000);
    const steps = Object.fromEntries(
      (await db.knex('tour_processing_steps').where({ tour_id: tourId })).map((r: { step: string; status: string; attempts: number }) => [r.step, { status: r.status, attempts: r.attempts }]),
    );
    expect(steps).toEqual({
      recording: { status: 'done', attempts: 1 },
      transcription: { status: 'done', attempts: transcriptionAttempts },
      highlights: { status: 'done', attempts: 1 },
      summary: { status: 'done', attempts: 1 },
      summary_email: { status: 'done', attempts: 1 },
    });
    expect(await count(db.knex('transcripts').where({ tour_id: tourId }))).toBe(1);
    expect(await count(db.knex('recordings').where({ tour_id: tourId }))).toBe(1);
    const highlights = await db.knex('highlights').where({ tour_id: tourId }).select('timestamp_ms', 'note');
    expect(new Set(highlights.map((h: { timestamp_ms: number; note: string }) => `${h.timestamp_ms}|${h.note}`)).size).toBe(highlights.length);
    const notifications = await db.knex('notifications').where('idempotency_key', 'like', `tour-summary:${tourId}:%`);
    expect(notifications.map((n: { recipient_user_id: number }) => n.recipient_user_id).sort()).toEqual([buyer.id, realtor.id].sort());
    expect(notifications.every((n: { status: string; attempts: number }) => n.status === 'sent' && n.attempts === 1)).toBe(true);
    const mail = (await readOutbox(path.join(dataDir, 'outbox'))).filter((m) => m.idempotencyKey.startsWith(`tour-summary:${tourId}:`));
    expect(mail.map((m) => m.to).sort()).toEqual([buyer.email, realtor.email].sort());
    // Read back through either API: the recap is shared state, not an instance's.
    for (let i = 0; i < 2; i++) {
      const summary = await api().get(`/api/v1/buyers/tours/${tourId}/summary`).set(buyer.auth);
      expect(summary.status).toBe(200);
    }
  }

  beforeAll(async () => {
    const logger = createLogger({ logLevel: 'warn', env: 'test' }, 'multi-instance');
    const [temporalPort, uiPort] = [await freePort(), await freePort()];
    [db, temporal] = await Promise.all([
      createTestDatabase(),
      startTemporalDevServer({
        cliPath: getConfig().temporal.cliPath,
        dbFile: path.join(dataDir, 'temporal', 'temporal.db'),
        port: temporalPort,
        uiPort,
        namespace: 'default',
        searchAttributes: searchAttributesForCli(),
        logger,
      }),
    ]);
    const fakeUrls = await Promise.all(fakes.map((f) => f.start()));
    const apiPorts = [await freePort(), await freePort()];
    const shared = {
      DATABASE_URL: db.url,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: TASK_QUEUE,
      DATA_DIR: dataDir,
      // What clients (and the token issuer) see: one address in front of both APIs.
      PUBLIC_BASE_URL: `http://127.0.0.1:${apiPorts[0]}`,
      AI_PROVIDER: 'openai',
      OPENAI_API_KEY: FAKE_OPENAI_KEY,
      TOUR_EARLY_START_MINUTES: String(24 * 60),
      AUTH_RATE_LIMIT_MAX: '1000',
      AUTH_ACCOUNT_RATE_LIMIT_MAX: '1000',
    };
    for (const port of apiPorts) {
      apis.push({ proc: spawnNode(['--import', 'tsx', 'api/main.ts'], { ...shared, PORT: String(port) }), url: `http://127.0.0.1:${port}` });
    }
    for (const fakeUrl of fakeUrls) {
      const healthPort = await freePort();
      const proc = spawnNode(['--import', 'tsx', 'workers/main.ts'], { ...shared, OPENAI_BASE_URL: fakeUrl, WORKER_HEALTH_PORT: String(healthPort), PORT: String(await freePort()) });
      workers.push(proc);
      await waitFor200(`http://127.0.0.1:${healthPort}/health`, proc);
    }
    await Promise.all(apis.map((a) => waitFor200(`${a.url}/health/ready`, a.proc)));

    // Each signs up on one API and in on the other: `api` alternates per request.
    realtor = await createRealtor(api, 'Multi Realtor');
    buyers = await createBuyers(api, 20, (i) => `Multi Buyer ${i}`);
  }, 300_000);

  afterAll(async () => {
    await Promise.all([...workers, ...apis.map((a) => a.proc)].map((p) => stopProc(p)));
    await Promise.all(fakes.map((f) => f.stop()));
    await temporal?.stop();
    await db?.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);

  let propertyId: number;
  let winner: { bookingId: number; tourId: number; buyer: SignedIn };

  it('when 20 overlapping bookings are confirmed at once, half through each API, then exactly one is 200 and 19 are 409', async () => {
    propertyId = await createProperty(api, realtor, { address: '1 Cluster Court', price: 450000 });
    // Starts one minute apart, 30 minutes long: every pair overlaps.
    const ids = await Promise.all(buyers.map((b, i) => book(b, propertyId, base + i * MINUTE)));

    const responses = await Promise.all(ids.map((id, i) => request(apis[i % 2]!.url).put(`/api/v1/realtors/bookings/${id}/confirm`).set(realtor.auth)));
    expect(responses.map((r) => r.status).sort()).toEqual([200, ...Array(19).fill(409)]);
    const won = responses.find((r) => r.status === 200)!.body.data;
    expect(await count(db.knex('tours').where({ property_id: propertyId }))).toBe(1);
    expect(await count(db.knex('bookings').whereIn('id', ids).where({ status: 'confirmed' }))).toBe(1);
    const bookingId = Number(won.booking.id);
    winner = { bookingId, tourId: Number(won.tour.id), buyer: buyers[ids.indexOf(bookingId)]! };
  }, 120_000);

  it('when the winning tour runs with requests spread over both APIs, then its recap is made once and sent once to each', async () => {
    await runTour(winner.tourId, winner.buyer);
    await expectProcessedOnce(winner.tourId, winner.buyer, 1);
    expect(fakes.reduce((n, f) => n + f.transcriptions().length, 0)).toBe(1);
    expect(fakes.reduce((n, f) => n + f.chats('tour_highlights').length, 0)).toBe(1);
    expect(fakes.reduce((n, f) => n + f.chats('tour_summary').length, 0)).toBe(1);
  }, 660_000);

  it('when the worker holding the transcription is SIGKILLed, then the other worker retries it and everything completes exactly once', async () => {
    const buyer = buyers.find((b) => b.id !== winner.buyer.id)!;
    const before = fakes.map((f) => ({ transcriptions: f.transcriptions().length, highlights: f.chats('tour_highlights').length, summaries: f.chats('tour_summary').length }));
    // Both fakes hold the answer back, so the first attempt is still running when its worker dies.
    for (const f of fakes) f.transcription = () => ({ status: 200, body: verboseJson(), delayMs: 600_000 });
    const bookingId = await book(buyer, propertyId, base + 2 * HOUR);
    const { tourId } = await confirmBooking(api, realtor, bookingId);
    await runTour(tourId, buyer);

    const holder = await eventually('a transcription request', async () => {
      const i = fakes.findIndex((f, n) => f.transcriptions().length > before[n]!.transcriptions);
      return i >= 0 ? i + 1 : undefined;
    }, 120_000) - 1;
    const survivor = 1 - holder;
    fakes[survivor]!.transcription = () => ({ status: 200, body: verboseJson() });
    workers[holder]!.child.kill('SIGKILL');
    expect((await workers[holder]!.exited).signal).toBe('SIGKILL');

    await expectProcessedOnce(tourId, buyer, 2);
    // The dead attempt was never answered; the retry ran on the surviving worker, once.
    const [dead] = fakes[holder]!.transcriptions().slice(before[holder]!.transcriptions);
    expect(dead!.answered).toBeUndefined();
    expect(fakes[holder]!.transcriptions().length - before[holder]!.transcriptions).toBe(1);
    expect(fakes[survivor]!.transcriptions().length - before[survivor]!.transcriptions).toBe(1);
    const after = (k: 'tour_highlights' | 'tour_summary') => fakes.reduce((n, f) => n + f.chats(k).length, 0);
    expect(after('tour_highlights')).toBe(before.reduce((n, b) => n + b.highlights, 0) + 1);
    expect(after('tour_summary')).toBe(before.reduce((n, b) => n + b.summaries, 0) + 1);
    await eventually('booking completed', async () => (await db.knex('bookings').where({ id: bookingId }).first()).status === 'completed', 120_000);
  }, 900_000);
});
