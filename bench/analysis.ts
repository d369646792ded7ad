import type { MeasuredServer } from './compare';
import type { Timing } from './diagnose';
import { verdict, type BenchReport, type ProfiledRun } from './report';

/**
 * The findings section, drawn from this run's numbers: why the app is where it is against
 * the baseline and the targets, and what would move it (changes outside bench/ are proposals).
 */

const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);

/** Profile owners grouped by what a fix would touch. Prefix match on the owner name. */
export const GROUPS: Array<{ key: string; label: string; owners: string[] }> = [
  { key: 'db', label: 'running the query: knex (+ tarn, lodash), the repository and pg turning the answer into objects', owners: ['knex', 'tarn', 'lodash', 'db/', 'pg', 'pg-protocol', 'postgres-date', 'pg-types'] },
  { key: 'gc', label: 'garbage collection', owners: ['V8 (garbage collector)'] },
  { key: 'urls', label: 'signed image URLs (app: shared per reuse window; baseline: one HMAC each)', owners: ['adapters/storage/', 'node:path'] },
  // The baseline's own file is almost all presenting (its SQL runs in pg, its HMAC in native code).
  { key: 'present', label: 'building the JSON (app: presenter + envelope; baseline: its route code)', owners: ['api/properties/presenter.ts', 'api/envelope.ts', 'bench/baseline.ts'] },
  { key: 'als', label: 'AsyncLocalStorage promise hooks (request context, Temporal deadline and worker-presence scopes)', owners: ['node:async', 'lib/request-context.ts'] },
  { key: 'jwt', label: 'access-token verification (aws-jwt-verify, then the verified-token cache)', owners: ['aws-jwt-verify', 'adapters/identity/'] },
  { key: 'zod', label: 'query validation (zod)', owners: ['zod', 'api/routing.ts', 'api/schemas.ts', 'api/properties/schemas.ts'] },
  { key: 'stack', label: 'middleware stack (koa, router, helmet, cors, metrics, rate limits, request id, error handler, guard)', owners: ['koa', '@koa/', 'koa-compose', 'koa-helmet', 'helmet', 'prom-client', 'api/middleware/', 'api/files/', 'api/app.ts'] },
];

/**
 * An owner group's share of a profile's busy time, times the server CPU per request of the
 * interleaved measurement. The two profiles run one after the other, each under whatever
 * else the shared machine is doing then, so their absolute times are not comparable; the
 * shares are, and the interleaved CPU per request is the fair total.
 */
function perRequest(run: ProfiledRun, owners: string[], serverMsPerRequest: number): number {
  const ms = run.byOwner.filter((o) => owners.some((p) => o.name === p || o.name.startsWith(p))).reduce((s, o) => s + o.ms, 0);
  return (ms / Math.max(1e-9, run.busyMs)) * serverMsPerRequest;
}

export function groupDiff(r: BenchReport): Array<{ key: string; label: string; app: number; baseline: number; diff: number }> {
  return GROUPS.map((g) => {
    const app = perRequest(r.profile.app, g.owners, r.app.cpuPerRequest.server);
    const baseline = perRequest(r.profile.baseline, g.owners, r.baseline.cpuPerRequest.server);
    return { key: g.key, label: g.label, app, baseline, diff: app - baseline };
  }).sort((a, b) => b.diff - a.diff);
}

const cpuTotal = (m: MeasuredServer) => m.cpuPerRequest.server + m.cpuPerRequest.postgres + m.cpuPerRequest.loadGenerator;
const timing = (rows: Timing[], name: string) => rows.find((t) => t.name.startsWith(name));
const more = (a: number, b: number) => (a >= b ? `${f2(a - b)} ms more` : `${f2(b - a)} ms less`);

export function analyse(r: BenchReport): string[] {
  const v = verdict(r);
  const cores = r.machine.cpus;
  const { app, baseline } = r;
  const out: string[] = [];

  const busy = (m: MeasuredServer) => (m.rps * cpuTotal(m)) / (cores * 10);
  out.push(
    `- **Both servers are CPU-bound on ${cores} cores shared with Postgres and the load generator.** Per request the app costs ${f2(app.cpuPerRequest.server)} ms of its own CPU + ${f2(app.cpuPerRequest.postgres)} ms of Postgres + ${f2(app.cpuPerRequest.loadGenerator)} ms of autocannon = ${f2(cpuTotal(app))} ms; the baseline ${f2(baseline.cpuPerRequest.server)} + ${f2(baseline.cpuPerRequest.postgres)} + ${f2(baseline.cpuPerRequest.loadGenerator)} = ${f2(cpuTotal(baseline))} ms. That puts the ceilings near ${Math.round((cores * 1000) / cpuTotal(app))} and ${Math.round((cores * 1000) / cpuTotal(baseline))} req/s; measured ${f1(app.rps)} and ${f1(baseline.rps)} req/s (the cores were ~${Math.round(busy(app))} % and ~${Math.round(busy(baseline))} % busy with our processes; other processes on the machine took ${f1(app.otherCpuPercent)} % / ${f1(baseline.otherCpuPercent)} % of a core meanwhile).`,
  );
  out.push(
    `- **Throughput ${f1(v.ratio * 100)} % of the baseline (${v.ratioPass ? 'meets' : 'misses'} ≥ ${r.targets.minRatio * 100} %).** Per request the app spends ${more(app.cpuPerRequest.server, baseline.cpuPerRequest.server)} of its own CPU than the baseline and ${more(app.cpuPerRequest.postgres, baseline.cpuPerRequest.postgres)} of Postgres CPU, although it also verifies a token, authorizes, validates the query and runs the full middleware stack: one prepared statement instead of four parsed and planned ones, a count that stops when the page already tells the total, a verified-token and a user cache instead of an RS256 check and a users lookup per request, signed URLs reused for a window instead of one HMAC per image, and the page built as JSON by Postgres instead of parsed row by row.`,
  );

  const queueRps = r.settings.connections / (r.targets.maxP95Ms / 1000);
  out.push(
    `- **p95 ${f1(app.latency.p95)} ms (${v.p95Pass ? 'meets' : 'misses'} < ${r.targets.maxP95Ms} ms) — at ${r.settings.connections} connections latency is mostly queueing.** With a closed loop, mean latency = connections / throughput (app: ${r.settings.connections} / ${f1(app.rps)} = ${f1((r.settings.connections / app.rps) * 1000)} ms, measured mean ${f1(app.latency.mean)} ms). A p95 under ${r.targets.maxP95Ms} ms at ${r.settings.connections} connections needs a mean well below that, i.e. well over ~${Math.round(queueRps)} req/s, with the cores to spare for it: ${Math.ceil((queueRps * cpuTotal(app)) / 1000)} fully busy core(s) at the app's CPU per request (Postgres included), ${Math.ceil((queueRps * cpuTotal(baseline)) / 1000)} at the baseline's, before anything else on the machine runs. Baseline p95 ${f1(baseline.latency.p95)} ms.${r.sweep
      .map((w) => ` At ${w.connections} connection${w.connections === 1 ? '' : 's'} the app's p50/p95 are ${f1(w.app.latency.p50)} / ${f1(w.app.latency.p95)} ms (baseline ${f1(w.baseline.latency.p50)} / ${f1(w.baseline.latency.p95)} ms; other processes ${f1(w.app.otherCpuPercent)} % of a core).`)
      .join('')}`,
  );

  const d = r.diagnosis;
  const prepared = timing(d.sql, 'app: search statement, prepared');
  const unnamed = timing(d.sql, 'app: search statement, unnamed');
  const baselineSql = ['baseline: page', 'baseline: realtors', 'baseline: images', 'baseline: count'].map((n) => timing(d.sql, n));
  const baselineSum = baselineSql.reduce((s, t) => s + (t?.meanMs ?? 0), 0);
  const heapBlocks = d.explain.find((e) => e.name === 'baseline count')?.plan.join('\n').match(/Heap Blocks: exact=(\d+)/)?.[1];
  const plans = d.preparedPlans;
  out.push(
    `- **The database: one statement instead of four.** The app's search is one named prepared statement (page, realtor names, images as JSON for the page's rows only, and the total): one call takes ${prepared ? f2(prepared.meanMs) : '?'} ms prepared (${unnamed ? f2(unnamed.meanMs) : '?'} ms when parsed and planned each time) against ${f2(baselineSum)} ms for the baseline's four statements one after the other.${plans ? ` Postgres runs its cached generic plan (${plans.generic} of ${plans.generic + plans.custom} executions here), so a search is neither parsed nor planned: the scope's statuses are literals in the text, which lets the generic plan use the partial indexes.` : ''} The total is a plain \`count(*)\` over the filter, and only when the page cannot tell it (a short page that is not past the end already gives offset + rows); it still visits the matching rows' heap pages${heapBlocks ? ` (${heapBlocks} heap blocks for ${r.query.totalCount} matches in the baseline's count)` : ''} because \`city\` is only in the index as \`lower(city)\` (see the proposals). Postgres spends ${f2(app.cpuPerRequest.postgres)} ms CPU per app request, about ${Math.round((app.cpuPerRequest.postgres / cpuTotal(app)) * 100)} % of the total.`,
  );

  const groups = groupDiff(r);
  const ahead = groups.filter((g) => g.diff < -0.005);
  const behind = groups.filter((g) => g.diff > 0.005);
  out.push(
    `- **Where the server CPU per request goes** (${f2(app.cpuPerRequest.server)} ms app, ${f2(baseline.cpuPerRequest.server)} ms baseline, split by each profile's shares below; the profiles ran one after the other under ${f1(r.profile.app.otherCpuPercent)} % and ${f1(r.profile.baseline.otherCpuPercent)} % of a core of other load, so only their shares compare). Cheaper in the app: ${ahead.map((g) => `${g.label} ${f2(g.diff)} ms`).join('; ') || 'nothing'}. Dearer in the app: ${behind.map((g) => `${g.label} +${f2(g.diff)} ms`).join('; ') || 'nothing'}. What both pay alike dominates: writing the ~${Math.round(app.bytesPerResponse / 1000)} kB response to the socket and \`JSON.stringify\` of the body.`,
  );

  const g = Object.fromEntries(groups.map((x) => [x.key, x]));
  const count = timing(d.sql, 'baseline: count');
  const countIndexed = timing(d.sql, 'count with the proposed index');
  out.push('', '### Proposed changes (outside bench/ and the search path; estimates from this run)', '');
  out.push(
    `1. **A migration: \`idx_properties_available_city\` with \`INCLUDE (city)\`.** Postgres can answer a count from an index alone only when every column the query uses is in it; \`lower(city)\` is, \`city\` is not, so the count visits a heap page per match. With the column included the count is an index-only scan: ${count ? f2(count.meanMs) : '?'} → ${countIndexed ? f2(countIndexed.meanMs) : '?'} ms per call here (measured in a rolled-back transaction). The same holds for any future expression index the search filters on.`,
    `2. **AsyncLocalStorage: ${f2(g.als!.app)} ms/request of promise-hook time in the app.** On Node 20 every promise pays while any AsyncLocalStorage is in use; each request enters three (the request context for log lines, and in \`api/app.ts\`'s \`temporalScope\` the worker-presence scope and the Temporal client's deadline scope). Mounting \`temporalScope\` only on the routes that call Temporal would leave the search one store; Node 22.7+ with \`--experimental-async-context-frame\` (the default from Node 24) removes the hooks altogether.`,
    `3. **Targets.** Throughput is measured against the baseline on the same machine at the same time, so it holds however busy the machine is; p95 at ${r.settings.connections} connections is not: it is queueing on ${cores} cores shared with Postgres, the load generator and everything else running (see the "other processes" column). State the latency target with the cores it assumes (p95 at ${r.settings.connections} connections with the cores to itself), and size instances by CPU per request (${f2(cpuTotal(app))} ms here, Postgres included).`,
  );
  return out;
}
