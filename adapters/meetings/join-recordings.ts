import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { concatMedia, probeMedia } from '../media/ffmpeg';
import { assertSafeKey, type ObjectStorage } from '../storage/port';

/**
 * Several stored recordings of one tour (Chime capture pipelines stopped and started again,
 * or uploaded segments) joined end to end into one stored file, so a restarted recording
 * still gives one transcript whose timestamps run across all of it.
 *
 * The files go through a temp folder (ffmpeg needs paths) that is removed afterwards,
 * whatever happens. Joining the same keys into the same target again writes the same
 * file again, so a retried activity may simply call this again.
 */

export interface JoinedRecording {
  key: string;
  contentType: 'video/mp4' | 'audio/mp4';
  /** Length of the joined file. */
  durationMs: number | null;
  /**
   * Length of each input, in order: input i starts in the joined file at the sum of the
   * lengths before it (what a speaker timeline per input is shifted by).
   */
  parts: Array<{ key: string; durationMs: number | null }>;
}

export interface JoinRecordingsOptions {
  /** Called while files move and while ffmpeg runs (a Temporal activity's heartbeat). */
  heartbeat?: () => void;
  signal?: AbortSignal;
  /** Where the temp folder is made; the system's temp folder by default. */
  workDir?: string;
}

export async function joinStoredRecordings(
  storage: Pick<ObjectStorage, 'get' | 'put'>,
  keys: readonly string[],
  targetKey: string,
  opts: JoinRecordingsOptions = {},
): Promise<JoinedRecording> {
  if (keys.length === 0) throw new Error('joinStoredRecordings needs at least one recording');
  assertSafeKey(targetKey);
  // Overwriting an input would make a second call join the joined file into itself.
  if (keys.includes(targetKey)) throw new Error(`The joined recording ${targetKey} cannot also be one of its inputs`);
  for (const key of keys) assertSafeKey(key);

  const dir = await mkdtemp(path.join(opts.workDir ?? tmpdir(), 'rfy-join-'));
  try {
    const files: string[] = [];
    const parts: JoinedRecording['parts'] = [];
    for (const [i, key] of keys.entries()) {
      opts.heartbeat?.();
      // No extension: ffmpeg then goes by the content, not by a name that could pick a
      // wrong demuxer (a `.txt` key would be read as ANSI art "video").
      const file = path.join(dir, `part-${i}`);
      const obj = await storage.get(key);
      await pipeline(obj.body, createWriteStream(file), { signal: opts.signal });
      const info = await probeMedia(file, opts);
      files.push(file);
      parts.push({ key, durationMs: info.durationMs });
    }
    const output = path.join(dir, 'joined.mp4');
    const joined = await concatMedia(files, output, opts);
    opts.heartbeat?.();
    const contentType = joined.hasVideo ? 'video/mp4' : 'audio/mp4';
    // The port stores a Buffer; recordings are bounded by RECORDING_MAX_BYTES per upload.
    await storage.put(targetKey, await readFile(output), contentType);
    return { key: targetKey, contentType, durationMs: joined.durationMs, parts };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
