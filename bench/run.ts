/**
 * npm run bench [-- --properties 10000 --duration 20 --warmup 3 --connections 10 --sweep 1,2,5,10 --out docs/benchmarks.md]
 *
 * One self-contained run: an embedded PostgreSQL in a temporary folder, migrated and
 * seeded; the real API (api/main.ts) and the bare baseline (bench/baseline.ts) each in a
 * process of their own; autocannon against the buyer search on each; a report with
 * throughput, latency percentiles, CPU per request and where the time goes, written to
 * docs/benchmarks.md and printed. Exits 0 whether or not the targets are met.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buyerSearchQuery, type SearchFilters } from '../api/properties/schemas';
import type { RunningPostgres } from '../db/embedded';
import { createKnex } from '../db/knex';
import { spawnTsx, stopChild, waitForHttp } from '../lib/child-process';
import { loadConfig, PROJECT_ROOT } from '../lib/config';
import { createLogger } from '../lib/logger';
import { freePort } from '../lib/ports';
import { APP_VERSION } from '../lib/version';
import { analyse } from './analysis';
import { diagnose } from './diagnose';
import { keepSections } from './doc-sections';
import { compare, type Target } from './compare';
import { cpuMeter, machineBusyMs, postgresPids, runLoad } from './load';
import { summariseProfile } from './profile';
import { SEARCH_SEED_OPTIONS, searchSeedOf, seedForSearch, signInBuyer, startBenchPostgres } from './search-fixture';
import { renderReport, verdict, type BenchReport } from './report';

const say = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** A server of the comparison, its output relayed; with an IPC channel for bench/profiled.ts's commands. */
function startServer(name: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawnTsx(args, { env, ipc: true, onOutput: (chunk) => say(`${name}: ${chunk.trimEnd()}`) });
}

/** Sends a command to bench/profiled-main.ts and waits for its answer. */
function command(child: ChildProcess, message: object): Promise<void> {
  return new Promise((resolve) => {
    child.once('message', () => resolve());
    child.send(message);
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...SEARCH_SEED_OPTIONS,
      duration: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '3' },
      // The targets are stated at 10 connections.
      connections: { type: 'string', default: '10' },
      iterations: { type: 'string', default: '300' },
      rounds: { type: 'string', default: '4' },
      'max-noise': { type: 'string', default: '25' },
      retries: { type: 'string', default: '3' },
      sweep: { type: 'string', default: '1,2,5,10' },
      'sweep-duration': { type: 'string', default: '5' },
      'profile-duration': { type: 'string', default: '10' },
      out: { type: 'string', default: path.join('docs', 'benchmarks.md') },
      keep: { type: 'boolean', default: false },
      candidate: { type: 'string' },
    },
    strict: true,
  });
  const opt = {
    ...searchSeedOf(values),
    duration: Number(values.duration),
    warmup: Number(values.warmup),
    connections: Number(values.connections),
    iterations: Number(values.iterations),
    rounds: Number(values.rounds),
    maxNoise: Number(values['max-noise']),
    retries: Number(values.retries),
    sweep: values.sweep.split(',').filter(Boolean).map(Number),
    sweepDuration: Number(values['sweep-duration']),
    profileDuration: Number(values['profile-duration']),
  };
  const date = new Date();
  const root = mkdtempSync(path.join(os.tmpdir(), 'rfy-bench-'));
  // As root, Postgres runs as a separate `postgres` user that must reach its folder.
  chmodSync(root, 0o755);
  const dataDir = path.join(root, 'data');
  mkdirSync(dataDir);
  const logger = createLogger({ logLevel: 'warn', env: 'production' }, 'bench');

  let pg: RunningPostgres | undefined;
  let app: ChildProcess | undefined;
  let baseline: ChildProcess | undefined;
  let candidate: ChildProcess | undefined;
  let knex: ReturnType<typeof createKnex> | undefined;
  try {
    const [pgPort, appPort, baselinePort, nowhere] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    say(`PostgreSQL on ${pgPort} in ${root}`);
    const started = await startBenchPostgres(root, pgPort, logger);
    pg = started.pg;
    const postmasterPid = started.postmasterPid;
    const pgPids = () => postgresPids(postmasterPid);

    // One environment for the app, its adapters here, and nothing from the caller's shell
    // beyond PATH and HOME: the numbers do not depend on who runs the bench.
    const publicBaseUrl = `http://127.0.0.1:${appPort}`;
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      LOG_LEVEL: 'silent',
      HOST: '127.0.0.1',
      PORT: String(appPort),
      METRICS_PORT: '0',
      PUBLIC_BASE_URL: publicBaseUrl,
      DATABASE_URL: pg.url,
      DATA_DIR: dataDir,
      // Nothing listens there: the client is lazy and the search never calls Temporal.
      TEMPORAL_ADDRESS: `127.0.0.1:${nowhere}`,
      STORAGE_SIGNING_SECRET: randomBytes(32).toString('hex'),
      // One buyer makes every request: the per-user limit would measure 429s, not the search.
      API_RATE_LIMIT_MAX: '0',
    };
    const config = loadConfig(env);
    knex = createKnex({ url: pg.url, pool: { min: 0, max: 6 }, logger });
    const { adapters, seeded, city, search } = await seedForSearch(knex, config, logger, opt, say);
    say(`seeded in ${(seeded.ms.total / 1000).toFixed(1)} s`);
    // What autovacuum does to a table soon after a bulk load in production: planner
    // statistics, and the visibility map index-only scans need. Done once, before either
    // server starts, so both are measured on the same vacuumed tables.
    await knex.raw('VACUUM ANALYZE');

    app = startServer('app', ['api/main.ts'], env);
    const baselineArgs = [
      '--url', pg.url, '--port', String(baselinePort), '--secret', env.STORAGE_SIGNING_SECRET!,
      '--base-url', publicBaseUrl, '--pool-max', String(config.database.pool.max), '--ttl-seconds', String(config.storage.urlTtlSeconds), '--version', APP_VERSION,
    ];
    baseline = startServer('baseline', ['bench/baseline.ts', ...baselineArgs], env);
    await Promise.all([waitForHttp(`${publicBaseUrl}/health`, app), waitForHttp(`http://127.0.0.1:${baselinePort}/`, baseline)]);

    const token = await signInBuyer(publicBaseUrl, seeded);
    const headers = { Authorization: `Bearer ${token}` };

    // Both answer the same thing before either is measured.
    const appUrl = `${publicBaseUrl}${search}`;
    const baselineUrl = `http://127.0.0.1:${baselinePort}${search}`;
    type Page = { data: Array<{ id: string; relationships: { images: { data: unknown[] } } }>; meta: { total_count: number; total_pages: number } };
    const [a, b] = await Promise.all([fetch(appUrl, { headers }).then((r) => r.json() as Promise<Page>), fetch(baselineUrl).then((r) => r.json() as Promise<Page>)]);
    const ids = (p: Page) => p.data.map((x) => `${x.id}:${x.relationships.images.data.length}`).join(',');
    if (ids(a) !== ids(b) || a.meta.total_count !== b.meta.total_count) {
      throw new Error(`app and baseline disagree: ${ids(a)} (${a.meta.total_count}) vs ${ids(b)} (${b.meta.total_count})`);
    }
    // Every attribute of every item alike too; signed URLs differ only in expiry and signature.
    const unsigned = (p: Page) => JSON.stringify([p.data, p.meta.total_pages]).replace(/expires=\d+&signature=[0-9a-f]+/g, 'signed');
    if (unsigned(a) !== unsigned(b)) throw new Error('app and baseline list the same ids but not the same data');
    say(`${search}: ${a.data.length} items of ${a.meta.total_count}; app and baseline agree, item for item`);

    // A candidate: another checkout (say, with a proposed change) run the same way, same data.
    let candidateUrl = '';
    if (values.candidate) {
      const candidatePort = await freePort();
      candidate = spawn(process.execPath, ['--import', 'tsx', 'api/main.ts'], {
        cwd: path.resolve(values.candidate),
        env: { ...env, PORT: String(candidatePort) },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      await waitForHttp(`http://127.0.0.1:${candidatePort}/health`, candidate);
      candidateUrl = `http://127.0.0.1:${candidatePort}${search}`;
      const c = (await fetch(candidateUrl, { headers }).then((r) => r.json())) as Page;
      if (ids(c) !== ids(a) || c.meta.total_count !== a.meta.total_count) throw new Error(`the candidate disagrees with the app: ${ids(c)} (${c.meta.total_count})`);
    }

    const targets = (): Target[] => [
      { name: 'app', url: appUrl, headers, pid: app!.pid! },
      { name: 'baseline', url: baselineUrl, pid: baseline!.pid! },
      ...(candidate ? [{ name: 'candidate', url: candidateUrl, headers, pid: candidate.pid! }] : []),
    ];
    const common = { postgresPids: pgPids, say, maxOtherPercent: opt.maxNoise, retries: opt.retries };
    const [appResult, baselineResult, candidateResult] = await compare(targets(), {
      ...common, connections: opt.connections, seconds: opt.duration, rounds: opt.rounds, warmupSeconds: opt.warmup,
    });

    // Latency with less queueing: the same comparison at lower concurrency.
    const sweep = [];
    for (const connections of opt.sweep) {
      const [a, b, c] = await compare(targets(), { ...common, connections, seconds: opt.sweepDuration, rounds: 1, warmupSeconds: 0 });
      sweep.push({ connections, app: a!, baseline: b!, candidate: c });
    }
    await stopChild(candidate);

    say(`diagnosing (${opt.iterations} calls per step)`);
    const filters: SearchFilters = buyerSearchQuery.parse(Object.fromEntries(new URL(appUrl).searchParams)) as SearchFilters;
    const diagnosis = await diagnose({
      knex, url: pg.url, identity: adapters.identity, storage: adapters.storage, logger, token, filters, appUrl, baselineUrl, iterations: opt.iterations,
    });

    // Where each server's CPU goes under the same load: the same code, restarted with a profiler.
    const profileOne = async (name: string, args: string[], url: string, ready: string, h?: Record<string, string>) => {
      const child = startServer(`${name} (profiled)`, ['bench/profiled.ts', ...args], env);
      try {
        await waitForHttp(ready, child);
        await runLoad(url, { connections: opt.connections, headers: h, durationSeconds: opt.warmup });
        say(`${name}: profiling ${opt.profileDuration} s under the same load`);
        const file = path.join(root, `${name}.cpuprofile`);
        await command(child, { cmd: 'start' });
        // What else ran meanwhile: a busier machine makes every per-request time longer.
        const server = cpuMeter(() => [child.pid!]);
        const postgres = cpuMeter(pgPids);
        const machine = machineBusyMs();
        const self = process.cpuUsage();
        const load = await runLoad(url, { connections: opt.connections, headers: h, durationSeconds: opt.profileDuration });
        const used = process.cpuUsage(self);
        const otherMs = Math.max(0, machineBusyMs() - machine - server() - postgres() - (used.user + used.system) / 1000);
        await command(child, { cmd: 'stop', file });
        return {
          ...summariseProfile(file, 200),
          seconds: opt.profileDuration,
          rps: load.rps,
          requests: load.requests,
          otherCpuPercent: (otherMs / (opt.profileDuration * 1000)) * 100,
        };
      } finally {
        await stopChild(child);
      }
    };
    await Promise.all([stopChild(app), stopChild(baseline)]);
    const profile = {
      app: await profileOne('app', ['app'], appUrl, `${publicBaseUrl}/health`, headers),
      baseline: await profileOne('baseline', ['baseline', ...baselineArgs], baselineUrl, `http://127.0.0.1:${baselinePort}/`),
    };

    const pgVersion = (await knex.raw<{ rows: Array<{ server_version: string }> }>('SHOW server_version')).rows[0]!.server_version;

    const report: BenchReport = {
      date,
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
        memoryGb: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
        os: `${os.type()} ${os.release()} ${os.arch()}`,
        postgres: `PostgreSQL ${pgVersion}`,
      },
      settings: {
        connections: opt.connections,
        durationSeconds: opt.duration,
        rounds: opt.rounds,
        maxNoisePercent: opt.maxNoise,
        retries: opt.retries,
        warmupSeconds: opt.warmup,
        autocannon: (JSON.parse(readFileSync(require.resolve('autocannon/package.json'), 'utf8')) as { version: string }).version,
        poolMax: config.database.pool.max,
        properties: seeded.properties,
        images: seeded.images,
        realtors: seeded.realtors.length,
        buyers: seeded.buyers.length,
        seed: opt.seed,
        seedSeconds: seeded.ms.total / 1000,
      },
      query: { path: search, city, minPrice: opt.minPrice, totalCount: a.meta.total_count, items: a.data.length },
      app: appResult!,
      baseline: baselineResult!,
      candidate: candidateResult && { dir: path.resolve(values.candidate!), result: candidateResult },
      sweep,
      profile,
      targets: { minRatio: 1, maxP95Ms: 25 },
      diagnosis,
    };
    const markdown = renderReport(report, analyse(report));
    if (values.out !== '-') {
      const out = path.resolve(PROJECT_ROOT, values.out);
      mkdirSync(path.dirname(out), { recursive: true });
      writeFileSync(out, keepSections(out, markdown));
      say(`report written to ${path.relative(PROJECT_ROOT, out)}`);
    }
    process.stdout.write(`${markdown}\n`);
    const v = verdict(report);
    say(`${v.pass ? 'PASS' : 'FAIL'}: app/baseline ${(v.ratio * 100).toFixed(1)} % (≥ ${report.targets.minRatio * 100} %), app p95 ${report.app.latency.p95.toFixed(1)} ms (< ${report.targets.maxP95Ms} ms)`);
  } finally {
    await Promise.all([stopChild(app), stopChild(baseline), stopChild(candidate)]);
    await knex?.destroy();
    await pg?.stop();
    if (!values.keep) rmSync(root, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  },
);
