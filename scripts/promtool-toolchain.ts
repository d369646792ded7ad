/**
 * Provides `promtool` (Prometheus's checker and unit-test runner for rule files) for
 * ops/prometheus/: built from source with the Go toolchain, its modules from the Go module
 * proxy (no binary download), pinned, into `.tools/promtool/bin/`. Idempotent: a stamp
 * records what was built, so a second run returns at once.
 *
 *   npm run promtool:toolchain   build it (about 10 minutes of 2 shared cores the first
 *                                time; seconds with a warm Go build cache)
 *   npm run ops:check            build it if needed, then `promtool check config`,
 *                                `check rules` and `test rules ops/prometheus/alerts.test.yml`
 *
 * Not part of `npm test` because of that first build: the jest tests check the same files
 * against the formats and the metrics (test/observability/ops-*.test.ts). Run ops:check in
 * CI and after changing ops/prometheus/.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { childProcessEnv, ConfigError, getConfig } from '../lib/config';
import { isExecutable } from './toolchain/venv';

/** Prometheus 3.16.0 (its Go module is versioned v0.3MM.P for 3.MM.P), as in docker-compose.yml. */
export const PROMTOOL = { module: 'github.com/prometheus/prometheus/cmd/promtool', version: 'v0.316.0' } as const;

export function promtoolDir(): string {
  return path.join(getConfig().paths.tools, 'promtool');
}

export function promtoolPath(): string {
  return path.join(promtoolDir(), 'bin', 'promtool');
}

export function ensurePromtool(log: (line: string) => void = (line) => process.stderr.write(`[promtool-toolchain] ${line}\n`)): string {
  const dir = promtoolDir();
  const bin = promtoolPath();
  const stampFile = path.join(dir, 'stamp.json');
  const wanted = JSON.stringify(PROMTOOL);
  const stamp = (() => {
    try {
      return readFileSync(stampFile, 'utf8');
    } catch {
      return '';
    }
  })();
  if (isExecutable(bin) && stamp === wanted) return bin;

  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.status !== 0) {
    throw new Error('building promtool needs the Go toolchain (`go` on PATH, 1.24 or later); see https://go.dev/doc/install');
  }
  log(`building ${PROMTOOL.module}@${PROMTOOL.version} with ${go.stdout.trim()} (a few minutes the first time)`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, 'bin'), { recursive: true });
  const t0 = Date.now();
  const build = spawnSync('go', ['install', `${PROMTOOL.module}@${PROMTOOL.version}`], {
    stdio: ['ignore', 'inherit', 'inherit'],
    // Into our folder; modules and their checksums come from the proxy and the sum database.
    env: childProcessEnv({ GOBIN: path.join(dir, 'bin') }),
  });
  if (build.status !== 0 || !isExecutable(bin)) throw new Error(`go install failed (exit ${build.status ?? build.signal})`);
  writeFileSync(stampFile, wanted);
  log(`built ${bin} in ${Math.round((Date.now() - t0) / 1000)} s`);
  return bin;
}

/** promtool's checks of ops/prometheus: the config, the rules, and the rules' unit tests. */
export function checkOps(promtool: string): boolean {
  const dir = path.join(getConfig().paths.root, 'ops', 'prometheus');
  let ok = true;
  for (const args of [['check', 'config', 'prometheus.yml'], ['check', 'rules', 'alerts.yml'], ['test', 'rules', 'alerts.test.yml']]) {
    process.stdout.write(`$ promtool ${args.join(' ')}\n`);
    const run = spawnSync(promtool, args, { cwd: dir, stdio: 'inherit' });
    ok &&= run.status === 0;
  }
  return ok;
}

if (require.main === module) {
  try {
    const promtool = ensurePromtool();
    process.stdout.write(`promtool: ${promtool}\n`);
    if (process.argv.includes('--check') && !checkOps(promtool)) process.exit(1);
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : `promtool toolchain: ${(err as Error).message}`}\n`);
    process.exit(1);
  }
}
