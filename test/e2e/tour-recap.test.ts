import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { readOutbox } from '../support/outbox';
import { createBuyer, createProperty, createRealtor, createTour, serverSlot, type SignedIn } from '../support/factories';
import { startTestSystem, TOURS_STARTABLE_NOW, type TestSystem } from '../support/system';
import { eventually } from '../support/wait';
import { normalizeForWer, wordErrorRate } from '../support/wer';

/**
 * The recap as a user gets it on the default, offline configuration: the API, a real
 * worker with the local adapters (faster-whisper transcription, the extractive analyst,
 * local meetings, storage and outbox), Postgres and the time-skipping Temporal server.
 * The committed spoken sample is uploaded as the tour's recording; the transcript, the
 * highlights, the summary and the emails all come from it.
 */

const AUDIO_DIR = path.join(__dirname, '..', 'fixtures', 'audio');
const RECORDING = path.join(AUDIO_DIR, 'tour-sample.ogg');
const SCRIPT = readFileSync(path.join(AUDIO_DIR, 'tour-sample.txt'), 'utf8');

interface Segment {
  start_ms: number;
  end_ms: number;
  text: string;
  speaker: string | null;
}

describe('the tour recap from a spoken recording, offline', () => {
  let sys: TestSystem;
  let realtor: SignedIn;
  let buyer: SignedIn;
  const http = () => sys.http();

  beforeAll(async () => {
    // The shipped defaults (AI_PROVIDER=local, RECORD_CALLS=true), with a day-long early start.
    sys = await startTestSystem({ config: { TEMPORAL_TASK_QUEUE: 'rfy-recap', ...TOURS_STARTABLE_NOW }, worker: true });
    [realtor, buyer] = await Promise.all([createRealtor(sys.t, 'Rosa Realtor'), createBuyer(sys.t, 'Ben Buyer')]);
  }, 120_000);

  afterAll(() => sys?.stop(), 60_000);

  it('when the spoken recording of a tour is uploaded and the tour ends, then transcript, highlights, summary and emails all come from what was said', async () => {
    const propertyId = await createProperty(sys.t, realtor, { address: '12 Oak Street', city: 'Springfield', price: 450000 });
    const { tourId, callId } = await createTour(sys.t, { realtor, buyer }, { propertyId, scheduledAt: await serverSlot(sys.env) });

    const started = await http().post(`/api/v1/realtors/tours/${tourId}/start`).set(realtor.auth);
    expect(started.status).toBe(200);
    // Recorded from the start, and whoever joins is told so before the call.
    const joined = await http().post(`/api/v1/buyers/calls/${callId}/join`).set(buyer.auth);
    expect(joined.status).toBe(200);
    expect(joined.body.data.recording).toEqual({ active: true, notice: expect.stringMatching(/being recorded/) });
    const call = await http().get(`/api/v1/buyers/calls/${callId}`).set(buyer.auth);
    expect(call.body.data.attributes.recording).toBe(true);

    const uploaded = await http().post(`/api/v1/realtors/tours/${tourId}/recording`).set(realtor.auth).attach('recording', RECORDING, 'tour.ogg');
    expect(uploaded.status).toBe(201);
    expect((await http().post(`/api/v1/realtors/tours/${tourId}/end`).set(realtor.auth)).status).toBe(200);

    await eventually('the tour completed', async () => (await sys.db.knex('tours').where({ id: tourId }).first()).status === 'completed', 180_000);

    // The recording, measured: length, size, when, and a link signed afresh on each read.
    const rec = (await http().get(`/api/v1/buyers/tours/${tourId}/recording`).set(buyer.auth)).body.data.attributes;
    expect(rec).toMatchObject({ status: 'ready', source: 'upload', file_size_bytes: statSync(RECORDING).size, recorded_at: expect.any(String) });
    expect(rec.duration_seconds).toBeGreaterThanOrEqual(18);
    expect(rec.duration_seconds).toBeLessThanOrEqual(30);
    expect(rec.playback_url).toMatch(/signature=/);

    // The transcript: what was said, with segment times, close to the script.
    const transcript = (await http().get(`/api/v1/buyers/tours/${tourId}/transcript`).set(buyer.auth)).body.data.attributes;
    expect(transcript.status).toBe('ready');
    const segments = transcript.segments as Segment[];
    expect(segments.length).toBeGreaterThan(2);
    expect(wordErrorRate(SCRIPT, transcript.full_text)).toBeLessThan(0.15);
    for (const [i, s] of segments.entries()) {
      expect(s.end_ms).toBeGreaterThan(s.start_ms);
      if (i > 0) expect(s.start_ms).toBeGreaterThanOrEqual(segments[i - 1]!.start_ms);
      // Local meetings carry no speaker events.
      expect(s.speaker).toBeNull();
    }
    expect(segments.at(-1)!.end_ms).toBeLessThanOrEqual(rec.duration_seconds * 1000 + 1000);
    expect(transcript.confidence_score).toBeGreaterThan(0);

    // Highlights drawn from the transcript sit at a segment's time and quote what was said there.
    const highlights = (await http().get(`/api/v1/realtors/tours/${tourId}/highlights`).set(realtor.auth)).body.data.attributes;
    expect(highlights.status).toBe('ready');
    const fromSpeech = (highlights.items as Array<{ timestamp_ms: number; type: string; note: string; source: string; image_url: string | null }>).filter((h) => h.source === 'extractive');
    expect(fromSpeech.length).toBeGreaterThanOrEqual(3);
    const scriptWords = new Set(normalizeForWer(SCRIPT));
    for (const h of fromSpeech) {
      const at = segments.find((s) => s.start_ms === h.timestamp_ms);
      expect(at).toBeDefined();
      expect(normalizeForWer(at!.text).join(' ')).toContain(normalizeForWer(h.note).slice(0, 3).join(' '));
      expect(normalizeForWer(h.note).filter((w) => scriptWords.has(w)).length).toBeGreaterThan(0);
      // An audio recording has no frame to show.
      expect(h.image_url).toBeNull();
    }
    const types = new Set(fromSpeech.map((h) => h.type));
    expect(types.has('price') || types.has('feature') || types.has('concern') || types.has('next_step')).toBe(true);

    // The summary is built from it, and mailed to both.
    const summary = (await http().get(`/api/v1/buyers/tours/${tourId}/summary`).set(buyer.auth)).body.data.attributes;
    expect(summary.status).toBe('ready');
    const summaryText = JSON.stringify(summary.summary).toLowerCase();
    expect(['kitchen', 'garage', 'noise', 'floor plans', 'bedrooms'].filter((w) => summaryText.includes(w)).length).toBeGreaterThanOrEqual(2);

    const mails = await eventually('every mail of the tour', async () => {
      const m = (await readOutbox(sys.t.config.email.outboxDir)).filter((x) => /^(tour-summary|tour_start|tour_end):/.test(x.idempotencyKey) && x.idempotencyKey.includes(`:${tourId}:`));
      return m.length >= 6 && m;
    }, 60_000);
    for (const prefix of ['tour_start', 'tour_end', 'tour-summary']) {
      const of = mails.filter((m) => m.idempotencyKey.startsWith(`${prefix}:`));
      expect(of.map((m) => m.to).sort()).toEqual([buyer.email, realtor.email].sort());
    }
    const summaryMail = mails.find((m) => m.idempotencyKey.startsWith('tour-summary:') && m.to === buyer.email)!;
    expect(['kitchen', 'garage', 'noise', 'floor plans', 'bedrooms'].filter((w) => summaryMail.text.toLowerCase().includes(w)).length).toBeGreaterThanOrEqual(2);
  }, 300_000);
});
