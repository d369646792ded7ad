/**
 * Makes the committed spoken test recording test/fixtures/audio/tour-sample.ogg from its
 * script tour-sample.txt, offline: flite's "slt" voice (Debian package `flite`) speaks the
 * text, and the ffmpeg binary from @ffmpeg-installer/ffmpeg encodes it as 16 kHz mono Opus.
 * Only needed to change the recording; tests use the committed file.
 *
 *   apt-get install -y flite && node --import tsx scripts/make-test-recording.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ffmpegPath } from '../adapters/ai/audio-chunks';

const DIR = path.join(__dirname, '..', 'test', 'fixtures', 'audio');
const SCRIPT = path.join(DIR, 'tour-sample.txt');
const OUT = path.join(DIR, 'tour-sample.ogg');

function main(): void {
  const tmp = mkdtempSync(path.join(tmpdir(), 'rfy-tts-'));
  try {
    const wav = path.join(tmp, 'speech.wav');
    try {
      execFileSync('flite', ['-voice', 'slt', '-f', SCRIPT, '-o', wav], { stdio: 'inherit' });
    } catch (err) {
      throw new Error(`flite failed (is it installed? apt-get install -y flite): ${(err as Error).message}`, { cause: err });
    }
    execFileSync(
      ffmpegPath(),
      ['-hide_banner', '-loglevel', 'error', '-y', '-i', wav, '-ac', '1', '-ar', '16000',
        '-c:a', 'libopus', '-b:a', '32k', '-map_metadata', '-1', '-fflags', '+bitexact', OUT],
      { stdio: 'inherit' },
    );
    process.stdout.write(`${path.relative(process.cwd(), OUT)}: ${statSync(OUT).size} bytes\n`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main();
