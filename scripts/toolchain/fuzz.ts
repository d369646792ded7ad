/**
 * Provides the API fuzzer: Schemathesis from PyPI in the project-local virtualenv
 * .tools/fuzz, installed with pip in hash-checking mode from scripts/fuzz-requirements.txt.
 * Idempotent and fast when already done; run by `npm run fuzz` and its CI test.
 */
import path from 'node:path';
import { ConfigError, getConfig, PROJECT_ROOT } from '../../lib/config';
import { ensureLockedVenv } from './venv';

export const FUZZ_REQUIREMENTS = path.join(PROJECT_ROOT, 'scripts', 'fuzz-requirements.txt');

export function ensureFuzzToolchain(): { venv: string; schemathesis: string } {
  const venv = path.join(getConfig().paths.tools, 'fuzz');
  ensureLockedVenv({
    dir: venv,
    requirements: FUZZ_REQUIREMENTS,
    pythonVersion: '3.11',
    label: 'fuzz-toolchain',
    purpose: 'install Schemathesis from PyPI',
    otherwise: 'run Schemathesis from an install of your own against `npm start`',
  });
  return { venv, schemathesis: path.join(venv, 'bin', 'schemathesis') };
}

if (require.main === module) {
  try {
    const { schemathesis } = ensureFuzzToolchain();
    process.stdout.write(`schemathesis: ${schemathesis}\n`);
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : `fuzz toolchain: ${(err as Error).message}`}\n`);
    process.exit(1);
  }
}
