import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ffmpegPath } from '../../adapters/ai/audio-chunks';
import { LocalWhisperTranscriber } from '../../adapters/ai/local-whisper';
import type { TranscriptionProvider } from '../../adapters/ai/port';
import { buildTestApp, type TestApp } from '../support/app';
import { count, createTestDatabase, type TestDatabase } from '../support/db';
import { createTimeSkippingEnv } from '../support/temporal';
import { signUp, type SignedIn } from '../support/users';
import { eventually } from '../support/wait';
import { wordErrorRate } from '../support/wer';
import { startTestWorker } from '../support/worker';

/**
 * The local transcription process dies mid-file: a real worker with the local
 * faster-whisper transcriber processes an ended tour whose recording is the committed
 * spoken sample three times over; at its first progress report the transcription process
 * is SIGKILLed. The activity attempt fails with a retryable error, Temporal retries it,
 * the retry starts a new process, and the tour completes with exactly one transcript.
 */

const HOUR = 3_600_000;
const AUDIO_DIR = path.join(__dirname, '..', 'fixtures', 'audio');
const SCRIPT = readFileSync(path.join(AUDIO_DIR, 'tour-sample.txt'), 'utf8');

describe('the transcription process killed while a tour is transcribed', () => {
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  let t: TestApp;
  let tmp: string;
  let stt: LocalWhisperTranscriber;
  let worker: Awaited<ReturnType<typeof startTestWorker>> | undefined;
  let realtor: SignedIn;
  let buyer: SignedIn;
  const killed: number[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'rfy-stt-kill-'));
    [db, env] = await Promise.all([createTestDatabase(), createTimeSkippingEnv()]);
    t = await buildTestApp({
      knex: db.knex,
      env,
      config: { TEMPORAL_TASK_QUEUE: 'rfy-stt-kill', AI_PROVIDER: 'local', TOUR_EARLY_START_MINUTES: String(24 * 60) },
    });
    expect(t.adapters.transcriber).toBeInstanceOf(LocalWhisperTranscriber);
    stt = t.adapters.transcriber as LocalWhisperTranscriber;
    // The configured transcriber, with the process killed at its first progress report.
    const killing: TranscriptionProvider = {
      name: stt.name,
      configured: stt.configured,
      transcribe: (input) =>
        stt.transcribe({
          ...input,
          heartbeat: (progress) => {
            input.heartbeat?.(progress);
            if (progress && killed.length === 0 && stt.pid) {
              killed.push(stt.pid);
              process.kill(stt.pid, 'SIGKILL');
            }
          },
        }),
    };
    worker = await startTestWorker(env, t, db.knex, { transcriber: killing });
    [realtor, buyer] = await Promise.all([signUp(t, 'realtor', 'Sam Realtor'), signUp(t, 'buyer', 'Ada Buyer')]);
  }, 180_000);

  afterAll(async () => {
    await worker?.stop();
    await stt?.close();
    t?.cleanup();
    rmSync(tmp, { recursive: true, force: true });
    await Promise.all([db?.destroy(), env?.teardown()]);
  }, 60_000);

  it('when the process is SIGKILLed mid-file, then the activity retries on a new process and the tour completes with one transcript', async () => {
    const recording = path.join(tmp, 'tour.ogg');
    execFileSync(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', '-stream_loop', '2', '-i', path.join(AUDIO_DIR, 'tour-sample.ogg'), '-c:a', 'libopus', '-b:a', '32k', recording]);

    const property = await request(t.callback).post('/api/v1/realtors/properties').set(realtor.auth).send({ address: '12 Oak Street', mls_id: `STT-${Date.now()}`, price: 450000 });
    expect(property.status).toBe(201);
    const scheduledAt = new Date(Math.ceil(Date.now() / HOUR) * HOUR + 2 * HOUR).toISOString();
    const booking = await request(t.callback).post('/api/v1/buyers/bookings').set(buyer.auth).send({ property_id: Number(property.body.data.id), scheduled_at: scheduledAt });
    expect(booking.status).toBe(201);
    const confirmed = await request(t.callback).put(`/api/v1/realtors/bookings/${Number(booking.body.data.id)}/confirm`).set(realtor.auth);
    expect(confirmed.status).toBe(200);
    const tourId = Number(confirmed.body.data.tour.id);
    expect((await request(t.callback).post(`/api/v1/realtors/tours/${tourId}/start`).set(realtor.auth)).status).toBe(200);
    expect((await request(t.callback).post(`/api/v1/realtors/tours/${tourId}/recording`).set(realtor.auth).attach('recording', recording, 'tour.ogg')).status).toBe(201);
    expect((await request(t.callback).post(`/api/v1/realtors/tours/${tourId}/end`).set(realtor.auth)).status).toBe(200);

    await eventually('the tour completed', async () => (await db.knex('tours').where({ id: tourId }).first()).status === 'completed', 600_000);

    // One process was killed mid-file; the retry ran on another one.
    expect(killed).toHaveLength(1);
    expect(stt.pid).toBeDefined();
    expect(stt.pid).not.toBe(killed[0]);
    const step = await db.knex('tour_processing_steps').where({ tour_id: tourId, step: 'transcription' }).first();
    expect(step).toMatchObject({ status: 'done', attempts: 2 });

    expect(await count(db.knex('transcripts').where({ tour_id: tourId }))).toBe(1);
    const transcript = await db.knex('transcripts').where({ tour_id: tourId }).first();
    expect(transcript).toMatchObject({ language: 'en', model: 'faster-whisper-tiny.en' });
    expect(wordErrorRate(`${SCRIPT} ${SCRIPT} ${SCRIPT}`, transcript.full_text)).toBeLessThan(0.15);
    const res = await request(t.callback).get(`/api/v1/buyers/tours/${tourId}/transcript`).set(buyer.auth);
    expect(res.body.data.attributes).toMatchObject({ status: 'ready', full_text: transcript.full_text });
  }, 900_000);
});
