import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { concatMedia, extractFrame, ffmpegPath, probeMedia, UnreadableMediaError } from '../../adapters/media/ffmpeg';

const run = promisify(execFile);

/** Media made on the spot with ffmpeg's own test sources. */
async function make(file: string, args: string[]): Promise<string> {
  await run(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', ...args, file]);
  return file;
}

describe('media tools on the packaged ffmpeg', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'rfy-media-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const tone = (name: string, seconds: number, freq = 440) =>
    make(path.join(dir, name), ['-f', 'lavfi', '-i', `sine=frequency=${freq}:duration=${seconds}`, '-ac', '1', '-ar', '16000']);
  const clip = (name: string, seconds: number, color: string) =>
    make(path.join(dir, name), [
      '-f', 'lavfi', '-i', `color=c=${color}:s=320x240:d=${seconds}`,
      '-f', 'lavfi', '-i', `sine=frequency=300:duration=${seconds}`,
      '-shortest', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac',
    ]);

  it('when an audio file is probed, then its length and streams are reported', async () => {
    const info = await probeMedia(await tone('a.wav', 2.5));
    expect(info.hasAudio).toBe(true);
    expect(info.hasVideo).toBe(false);
    expect(info.durationMs).toBeGreaterThanOrEqual(2400);
    expect(info.durationMs).toBeLessThanOrEqual(2600);
  });

  it('when a WebM without a container duration is probed, then its length is measured by decoding', async () => {
    const webm = path.join(dir, 'live.webm');
    // A live-streamed WebM (as a browser's MediaRecorder writes) carries no Duration.
    await make(webm, ['-f', 'lavfi', '-i', 'sine=frequency=500:duration=3', '-c:a', 'libopus', '-live', '1', '-f', 'webm']);
    const info = await probeMedia(webm);
    expect(info.durationMs).toBeGreaterThanOrEqual(2900);
    expect(info.durationMs).toBeLessThanOrEqual(3100);
  });

  it('when the file is not media, then UnreadableMediaError', async () => {
    const junk = path.join(dir, 'junk.mp3');
    await writeFile(junk, 'not a recording\n'.repeat(50));
    await expect(probeMedia(junk)).rejects.toBeInstanceOf(UnreadableMediaError);
  });

  it('when two audio segments are joined, then one file lasts as long as both', async () => {
    const out = path.join(dir, 'joined-audio.mp4');
    const info = await concatMedia([await tone('s1.wav', 2, 440), await tone('s2.mp3', 3, 880)], out);
    expect(info.hasAudio).toBe(true);
    expect(info.hasVideo).toBe(false);
    expect(info.durationMs).toBeGreaterThanOrEqual(4800);
    expect(info.durationMs).toBeLessThanOrEqual(5300);
  });

  it('when video segments of different colours are joined, then the frame at a time shows that segment', async () => {
    const out = path.join(dir, 'joined-video.mp4');
    const info = await concatMedia([await clip('red.mp4', 2, 'red'), await clip('blue.mp4', 2, 'blue')], out);
    expect(info.hasVideo).toBe(true);
    expect(info.durationMs).toBeGreaterThanOrEqual(3800);
    const colourAt = async (ms: number) => {
      const png = await extractFrame(out, ms, { durationMs: info.durationMs });
      expect(png).not.toBeNull();
      const { channels } = await sharp(png!).stats();
      return { r: channels[0]!.mean, b: channels[2]!.mean };
    };
    const early = await colourAt(500);
    expect(early.r).toBeGreaterThan(early.b + 100);
    const late = await colourAt(3500);
    expect(late.b).toBeGreaterThan(late.r + 100);
    // Past the end is clamped to the last frame rather than failing.
    expect(await colourAt(60_000)).toMatchObject({ b: expect.any(Number) });
  });

  it('when the file has no video, then no frame', async () => {
    expect(await extractFrame(await tone('plain.wav', 1), 200)).toBeNull();
  });
});
