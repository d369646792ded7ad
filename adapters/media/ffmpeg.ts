import { execFile } from 'node:child_process';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';

/**
 * The recording tools every adapter shares, on the ffmpeg binary shipped inside the
 * `@ffmpeg-installer/ffmpeg` package (no system ffmpeg, nothing downloaded): probe a
 * file's length and streams, join segments into one file with continuous timestamps, and
 * grab a still frame. That build has no ffprobe, so probing reads ffmpeg's own report.
 */

export function ffmpegPath(): string {
  return ffmpegInstaller.path;
}

export interface RunFfmpegOptions {
  /** Kills ffmpeg after this long; defaults to 30 minutes. */
  timeoutMs?: number;
  /** Called every few seconds while ffmpeg runs. */
  heartbeat?: () => void;
  /** What the run was for, in the error message ("join the recording"). */
  what?: string;
  /** Exit codes that are not a failure (probing with no output file exits 1). */
  okExitCodes?: number[];
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 30 * 60_000;
const HEARTBEAT_EVERY_MS = 5_000;

/** Media ffmpeg cannot read: retrying the same bytes will not help. */
export class UnreadableMediaError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnreadableMediaError';
  }
}

export function runFfmpeg(args: string[], opts: RunFfmpegOptions = {}): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const timer = opts.heartbeat ? setInterval(opts.heartbeat, HEARTBEAT_EVERY_MS) : undefined;
    execFile(
      ffmpegPath(),
      ['-hide_banner', '-nostdin', ...args],
      { timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, encoding: 'buffer', signal: opts.signal },
      (err, stdout, stderrBuf) => {
        if (timer) clearInterval(timer);
        const stderr = stderrBuf.toString('utf8');
        const code = err && typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null;
        if (err && !(code !== null && opts.okExitCodes?.includes(code))) {
          const detail = stderr.trim().split('\n').slice(-5).join('\n');
          reject(new Error(`ffmpeg failed to ${opts.what ?? 'process the media'}: ${detail || err.message}`, { cause: err }));
          return;
        }
        resolve({ stdout, stderr });
      },
    );
  });
}

export interface MediaInfo {
  /** Null when the container does not say and decoding found nothing. */
  durationMs: number | null;
  hasAudio: boolean;
  hasVideo: boolean;
}

function parseClock(h: string, m: string, s: string): number {
  return Math.round((Number(h) * 3600 + Number(m) * 60 + Number(s)) * 1000);
}

/**
 * Length and streams of a media file. The container's duration when it gives one;
 * otherwise (WebM from a browser's MediaRecorder has none) the file is decoded to the end.
 */
export async function probeMedia(file: string, opts: Pick<RunFfmpegOptions, 'heartbeat' | 'signal'> = {}): Promise<MediaInfo> {
  const { stderr } = await runFfmpeg(['-i', file], { ...opts, okExitCodes: [1], what: 'read the media', timeoutMs: 60_000 });
  if (/Invalid data found|could not find codec parameters|No such file/i.test(stderr) && !/Stream #/.test(stderr)) {
    throw new UnreadableMediaError(`Not a readable audio or video file: ${stderr.trim().split('\n').pop()}`);
  }
  const hasAudio = /Stream #\d+:\d+.*: Audio:/.test(stderr);
  // Cover art in an audio file is a "video" stream too; it is marked attached_pic.
  const hasVideo = stderr.split('\n').some((l) => /Stream #\d+:\d+.*: Video:/.test(l) && !/attached pic/i.test(l));
  if (!hasAudio && !hasVideo) throw new UnreadableMediaError('The file holds no audio or video stream');
  const d = /Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/.exec(stderr);
  if (d) return { durationMs: parseClock(d[1]!, d[2]!, d[3]!), hasAudio, hasVideo };
  const decoded = await runFfmpeg(['-i', file, '-map', '0', '-f', 'null', '-'], { ...opts, what: 'measure the media' });
  const times = [...decoded.stderr.matchAll(/time=(\d+):(\d+):(\d+(?:\.\d+)?)/g)];
  const last = times[times.length - 1];
  return { durationMs: last ? parseClock(last[1]!, last[2]!, last[3]!) : null, hasAudio, hasVideo };
}

const FRAME = { width: 1280, height: 720, fps: 25 };

/**
 * Joins recordings end to end into `output` (an .mp4) with continuous timestamps: the
 * second file's first second comes right after the first file's last. Re-encoded, so
 * segments of different codecs or sizes join; with video only when every input has it.
 */
export async function concatMedia(inputs: string[], output: string, opts: Pick<RunFfmpegOptions, 'heartbeat' | 'signal' | 'timeoutMs'> = {}): Promise<MediaInfo> {
  if (inputs.length === 0) throw new Error('concatMedia needs at least one input');
  const infos: MediaInfo[] = [];
  for (const f of inputs) infos.push(await probeMedia(f, opts));
  const video = infos.every((i) => i.hasVideo);
  const audio = infos.every((i) => i.hasAudio);
  if (!audio && !video) throw new UnreadableMediaError('The segments share neither audio nor video: they cannot be joined');
  const filters: string[] = [];
  const labels: string[] = [];
  inputs.forEach((_f, i) => {
    if (video) {
      filters.push(
        `[${i}:v:0]scale=${FRAME.width}:${FRAME.height}:force_original_aspect_ratio=decrease,` +
          `pad=${FRAME.width}:${FRAME.height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=${FRAME.fps},format=yuv420p[v${i}]`,
      );
      labels.push(`[v${i}]`);
    }
    if (audio) {
      filters.push(`[${i}:a:0]aresample=48000,aformat=channel_layouts=mono[a${i}]`);
      labels.push(`[a${i}]`);
    }
  });
  filters.push(`${labels.join('')}concat=n=${inputs.length}:v=${video ? 1 : 0}:a=${audio ? 1 : 0}${video ? '[v]' : ''}${audio ? '[a]' : ''}`);
  await runFfmpeg(
    [
      '-loglevel', 'error', '-y',
      ...inputs.flatMap((f) => ['-i', f]),
      '-filter_complex', filters.join(';'),
      ...(video ? ['-map', '[v]', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '28'] : []),
      ...(audio ? ['-map', '[a]', '-c:a', 'aac', '-b:a', '96k'] : []),
      '-movflags', '+faststart',
      '-f', 'mp4',
      output,
    ],
    { ...opts, what: 'join the recording segments' },
  );
  return probeMedia(output, opts);
}

/** One frame at `atMs` (clamped into the file) as PNG bytes; null when the file has no video. */
export async function extractFrame(file: string, atMs: number, opts: Pick<RunFfmpegOptions, 'signal'> & { durationMs?: number | null } = {}): Promise<Buffer | null> {
  const limit = opts.durationMs != null ? Math.max(0, opts.durationMs - 100) : Number.POSITIVE_INFINITY;
  const at = Math.max(0, Math.min(atMs, limit)) / 1000;
  try {
    const { stdout } = await runFfmpeg(
      ['-loglevel', 'error', '-ss', at.toFixed(3), '-i', file, '-map', '0:v:0', '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'png', '-'],
      { signal: opts.signal, what: 'grab a frame', timeoutMs: 60_000 },
    );
    return stdout.length ? stdout : null;
  } catch (err) {
    if (/matches no streams/.test((err as Error).message)) return null;
    throw err;
  }
}
