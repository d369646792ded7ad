import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ffmpegPath } from '../../adapters/ai/audio-chunks';
import { LocalWhisperTranscriber } from '../../adapters/ai/local-whisper';
import type { TranscriptionProvider } from '../../adapters/ai/port';
import type { TestApp } from '../support/app';
import { count, type TestDatabase } from '../support/db';
import { createBuyer, createProperty, createRealtor, createTour, serverSlot, type SignedIn } from '../support/factories';
import { startTestSystem, TOURS_STARTABLE_NOW, type TestSystem } from '../support/system';
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

const AUDIO_DIR = path.join(__dirname, '..', 'fixtures', 'audio');
const SCRIPT = readFileSync(path.join(AUDIO_DIR, 'tour-sample.txt'), 'utf8');

describe('the transcription process killed while a tour is transcribed', () => {
  let sys: TestSystem;
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  let t: TestApp;
  let tmp: string;
  let stt: LocalWhisperTranscriber;
  let realtor: SignedIn;
  let buyer: SignedIn;
  const killed: number[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'rfy-stt-kill-'));
    sys = await startTestSystem({ config: { TEMPORAL_TASK_QUEUE: 'rfy-stt-kill', AI_PROVIDER: 'local', ...TOURS_STARTABLE_NOW } });
    ({ db, env, t } = sys);
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
    const worker = await startTestWorker(env, t, db.knex, { transcriber: killing });
    sys.onStop(() => worker.stop());
    [realtor, buyer] = await Promise.all([createRealtor(t, 'Sam Realtor'), createBuyer(t, 'Ada Buyer')]);
  }, 180_000);

  afterAll(async () => {
    await sys?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  it('when the process is SIGKILLed mid-file, then the activity retries on a new process and the tour completes with one transcript', async () => {
    const recording = path.join(tmp, 'tour.ogg');
    execFileSync(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', '-stream_loop', '2', '-i', path.join(AUDIO_DIR, 'tour-sample.ogg'), '-c:a', 'libopus', '-b:a', '32k', recording]);

    const propertyId = await createProperty(t, realtor, { address: '12 Oak Street', price: 450000 });
    const { tourId } = await createTour(t, { realtor, buyer }, { propertyId, scheduledAt: await serverSlot(env) });
    expect((await sys.http().post(`/api/v1/realtors/tours/${tourId}/start`).set(realtor.auth)).status).toBe(200);
    expect((await sys.http().post(`/api/v1/realtors/tours/${tourId}/recording`).set(realtor.auth).attach('recording', recording, 'tour.ogg')).status).toBe(201);
    expect((await sys.http().post(`/api/v1/realtors/tours/${tourId}/end`).set(realtor.auth)).status).toBe(200);

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
    const res = await sys.http().get(`/api/v1/buyers/tours/${tourId}/transcript`).set(buyer.auth);
    expect(res.body.data.attributes).toMatchObject({ status: 'ready', full_text: transcript.full_text });
  }, 900_000);
});
