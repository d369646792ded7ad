import { mkdtemp, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runFfmpeg } from '../media/ffmpeg';

export { ffmpegPath } from '../media/ffmpeg';

/**
 * Cuts a recording into mono 16 kHz mp3 chunks with the ffmpeg binary shipped inside the
 * `@ffmpeg-installer/ffmpeg` package, so a long tour fits the transcription API's upload
 * limit. Each chunk's offset comes from ffmpeg's own segment list: cuts fall on mp3 frame
 * boundaries (72 ms at 16 kHz), not exactly on the requested length.
 */

export interface AudioChunk {
  path: string;
  /** Where the chunk starts in the original recording. */
  offsetMs: number;
}

export interface SplitAudioOptions {
  /** Length of each chunk in seconds. */
  chunkSeconds: number;
  /** mp3 bitrate in kbit/s; 48 keeps ten minutes of speech near 3.5 MB. */
  bitrateKbps?: number;
  /** Parent of the temporary folder; defaults to the OS temp folder. */
  tmpDir?: string;
  /** Called every few seconds while ffmpeg runs (a long recording takes a while). */
  heartbeat?: () => void;
  /** Kills ffmpeg after this long; defaults to 30 minutes. */
  timeoutMs?: number;
}

export interface SplitAudio {
  dir: string;
  chunks: AudioChunk[];
  cleanup(): Promise<void>;
}

const DEFAULT_BITRATE_KBPS = 48;
const DEFAULT_TIMEOUT_MS = 30 * 60_000;
/** Whisper refuses audio under 0.1 s; the encoder's padding can leave such a tail. */
const MIN_CHUNK_MS = 200;

/** Splits `file` into chunks in a fresh temporary folder; call `cleanup()` when done. */
export async function splitAudio(file: string, opts: SplitAudioOptions): Promise<SplitAudio> {
  if (!(opts.chunkSeconds > 0)) throw new Error('chunkSeconds must be positive');
  const dir = await mkdtemp(path.join(opts.tmpDir ?? tmpdir(), 'rfy-audio-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    const list = path.join(dir, 'chunks.csv');
    await runFfmpeg(
      [
        '-loglevel', 'error', '-y',
        '-i', file,
        '-vn', '-map', '0:a:0', '-ac', '1', '-ar', '16000',
        '-c:a', 'libmp3lame', '-b:a', `${opts.bitrateKbps ?? DEFAULT_BITRATE_KBPS}k`,
        '-f', 'segment', '-segment_time', String(opts.chunkSeconds), '-reset_timestamps', '1',
        '-segment_list', list, '-segment_list_type', 'csv',
        path.join(dir, 'chunk-%05d.mp3'),
      ],
      { timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, heartbeat: opts.heartbeat, what: 'split the audio' },
    );
    const rows = parseSegmentList(await readFile(list, 'utf8'));
    const chunks: AudioChunk[] = [];
    for (const [i, row] of rows.entries()) {
      const chunkPath = path.join(dir, row.name);
      if (rows.length > 1 && row.endMs - row.startMs < MIN_CHUNK_MS && i > 0) {
        await unlink(chunkPath).catch(() => undefined);
        continue;
      }
      chunks.push({ path: chunkPath, offsetMs: row.startMs });
    }
    return { dir, chunks, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Runs `fn` over the chunks of `file`, removing them afterwards whatever happens. */
export async function withAudioChunks<T>(file: string, opts: SplitAudioOptions, fn: (chunks: AudioChunk[]) => Promise<T>): Promise<T> {
  const split = await splitAudio(file, opts);
  try {
    return await fn(split.chunks);
  } finally {
    await split.cleanup();
  }
}

function parseSegmentList(csv: string): { name: string; startMs: number; endMs: number }[] {
  const rows: { name: string; startMs: number; endMs: number }[] = [];
  for (const line of csv.split('\n')) {
    if (!line.trim()) continue;
    // Our chunk names contain no commas, so the last two fields are the times.
    const parts = line.trim().split(',');
    const end = Number(parts.pop());
    const start = Number(parts.pop());
    const name = parts.join(',');
    if (!name || !Number.isFinite(start) || !Number.isFinite(end)) throw new Error(`unexpected ffmpeg segment list line: ${line}`);
    rows.push({ name: path.basename(name), startMs: Math.round(start * 1000), endMs: Math.round(end * 1000) });
  }
  if (rows.length === 0) throw new Error('ffmpeg produced no audio chunks (does the file have an audio track?)');
  return rows;
}
