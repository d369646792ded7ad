/**
 * npm run bench:stt [-- --seconds 100 --runs 3 --out docs/benchmarks.md]
 *
 * Local speech-to-text on this machine: the committed spoken sample
 * (test/fixtures/audio/tour-sample.ogg) looped to a `--seconds` recording, transcribed by
 * the worker's own transcriber (LocalWhisperTranscriber: the faster-whisper process, model
 * and settings from the configuration). Reports the real-time factor (wall time / audio
 * length) of the first job (process start and model load included) and of later jobs, the
 * resident memory of the worker (Node) and of the transcription process while it works. The
 * section "Local speech-to-text" of
 * docs/benchmarks.md is replaced; the rest of the file is left alone.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ffmpegPath } from '../adapters/ai/audio-chunks';
import { LocalWhisperTranscriber } from '../adapters/ai/local-whisper';
import { resolveSttModel } from '../adapters/ai/stt-model';
import { getConfig, PROJECT_ROOT } from '../lib/config';
import { ensureSttToolchain } from '../scripts/stt-toolchain';
import { setSection } from './doc-sections';

const AUDIO_DIR = path.join(PROJECT_ROOT, 'test', 'fixtures', 'audio');
const SAMPLE_MS = 200;

interface Run {
  wallS: number;
  rtf: number;
  workerRssMb: number;
  childRssMb: number;
}

/** Resident and peak resident memory of a process, in MB, from /proc. */
function procMemoryMb(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

async function measure(t: LocalWhisperTranscriber, file: string, seconds: number): Promise<Run> {
  let workerRss = process.memoryUsage().rss;
  let childRss = 0;
  const sample = () => {
    workerRss = Math.max(workerRss, process.memoryUsage().rss);
    const mem = t.pid ? procMemoryMb(t.pid) : undefined;
    if (mem) childRss = Math.max(childRss, mem.rss, mem.hwm);
  };
  const timer = setInterval(sample, SAMPLE_MS);
  const started = process.hrtime.bigint();
  try {
    await t.transcribe({ file, filename: path.basename(file), contentType: 'audio/ogg', heartbeat: sample });
    const wallS = Number(process.hrtime.bigint() - started) / 1e9;
    sample();
    return { wallS, rtf: wallS / seconds, workerRssMb: workerRss / 2 ** 20, childRssMb: childRss };
  } finally {
    clearInterval(timer);
  }
}

const f2 = (n: number) => n.toFixed(2);
const f3 = (n: number) => n.toFixed(3);
const f0 = (n: number) => n.toFixed(0);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '100' },
      runs: { type: 'string', default: '3' },
      out: { type: 'string', default: path.join('docs', 'benchmarks.md') },
    },
  });
  const seconds = Number(values.seconds);
  const runs = Math.max(1, Number(values.runs));
  if (!(seconds > 0)) throw new Error('--seconds must be positive');

  ensureSttToolchain();
  const config = getConfig();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'rfy-bench-stt-'));
  const t = new LocalWhisperTranscriber(config.ai.localStt);
  try {
    const file = path.join(tmp, 'recording.ogg');
    // The sample looped and cut to exactly `seconds`.
    execFileSync(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', '-stream_loop', '-1', '-i', path.join(AUDIO_DIR, 'tour-sample.ogg'), '-t', String(seconds), '-c:a', 'libopus', '-b:a', '32k', file]);

    await t.prepare();
    const load = os.loadavg()[0]!;
    const cold = await measure(t, file, seconds);
    process.stderr.write(`[bench:stt] first job: ${f2(cold.wallS)} s (RTF ${f3(cold.rtf)})\n`);
    const warm: Run[] = [];
    for (let i = 0; i < runs; i++) {
      warm.push(await measure(t, file, seconds));
      process.stderr.write(`[bench:stt] job ${i + 2}: ${f2(warm.at(-1)!.wallS)} s (RTF ${f3(warm.at(-1)!.rtf)})\n`);
    }
    const median = [...warm].sort((a, b) => a.rtf - b.rtf)[Math.floor(warm.length / 2)]!;
    const model = await resolveSttModel(config.ai.localStt);

    const cpus = os.cpus();
    const lines = [
      '## Local speech-to-text (faster-whisper)',
      '',
      `Written by \`npm run bench:stt\` on ${new Date().toISOString().slice(0, 10)}: a ${seconds} s recording (the committed spoken sample looped; Opus 32 kbit/s) transcribed by the worker's \`LocalWhisperTranscriber\` — model \`${model.name}\`${model.pinned ? ' (pinned, hash-checked)' : ''}, CTranslate2 int8 on CPU, beam 5, word timestamps, VAD filter, ${config.ai.localStt.threads || 'default'} threads (LOCAL_STT_THREADS).`,
      `Machine: ${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${f0(os.totalmem() / 2 ** 30)} GB, Node ${process.version}; 1-minute load average ${f2(load)} when it started (the machine is shared, so times vary with it).`,
      '',
      '| job | wall time s | real-time factor | worker (Node) RSS MB | transcription process peak RSS MB | worker total MB |',
      '|---|---:|---:|---:|---:|---:|',
      `| first (starts the process, loads the model) | ${f2(cold.wallS)} | ${f3(cold.rtf)} | ${f0(cold.workerRssMb)} | ${f0(cold.childRssMb)} | ${f0(cold.workerRssMb + cold.childRssMb)} |`,
      ...warm.map((r, i) => `| ${i + 2} (model loaded) | ${f2(r.wallS)} | ${f3(r.rtf)} | ${f0(r.workerRssMb)} | ${f0(r.childRssMb)} | ${f0(r.workerRssMb + r.childRssMb)} |`),
      '',
      `Median real-time factor with the model loaded: **${f3(median.rtf)}** (${f2(median.wallS)} s for ${seconds} s of audio); the worker with its transcription process peaks at **${f0(Math.max(...[cold, ...warm].map((r) => r.workerRssMb + r.childRssMb)))} MB** resident.`,
      'The transcription process decodes the whole recording to 16 kHz float samples first (about 230 MB per hour of audio), so its memory grows with recording length; the model itself is about 75 MB on disk.',
      'Accuracy is checked by `test/adapters/stt-local.test.ts`: on the 22 s sample the word error rate against its script must stay under 15 % (numbers normalized).',
    ];
    const section = lines.join('\n');
    process.stdout.write(`${section}\n`);
    if (values.out !== '-') {
      const out = path.resolve(PROJECT_ROOT, values.out!);
      const doc = existsSync(out) ? readFileSync(out, 'utf8') : '# Benchmarks\n';
      writeFileSync(out, setSection(doc, 'stt', section));
      process.stderr.write(`[bench:stt] section written to ${path.relative(PROJECT_ROOT, out)}\n`);
    }
  } finally {
    await t.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:stt: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
