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
  { key: 'orm', label: 'ORM: objection + knex (+ tarn, lodash) building queries and models', owners: ['objection', 'knex', 'tarn', 'lodash', 'db/models/'] },
  { key: 'gc', label: 'garbage collection', owners: ['V8 (garbage collector)'] },
  { key: 'urls', label: 'signed image URLs: LocalObjectStorage.signedUrl (path.resolve/relative key checks + HMAC)', owners: ['adapters/storage/', 'node:path'] },
  // The baseline's own file is almost all presenting (its SQL runs in pg, its HMAC in native code).
  { key: 'present', label: 'building the JSON (app: presenter + envelope; baseline: its route code)', owners: ['api/properties/presenter.ts', 'api/envelope.ts', 'bench/baseline.ts'] },
  { key: 'als', label: 'AsyncLocalStorage promise hooks (request context for log lines)', owners: ['node:async', 'lib/request-context.ts'] },
  { key: 'jwt', label: 'access-token verification (aws-jwt-verify)', owners: ['aws-jwt-verify', 'adapters/identity/'] },
  { key: 'zod', label: 'query validation (zod)', owners: ['zod', 'api/routing.ts', 'api/properties/schemas.ts'] },
  { key: 'stack', label: 'middleware stack (koa, router, helmet, cors, bodyparser, request id, error handler, guard)', owners: ['koa', '@koa/', 'koa-compose', 'koa-helmet', 'helmet', 'api/middleware/', 'api/files/', 'api/app.ts'] },
];

function perRequest(run: ProfiledRun, owners: string[]): number {
  const ms = run.byOwner.filter((o) => owners.some((p) => o.name === p || o.name.startsWith(p))).reduce((s, o) => s + o.ms, 0);
  return ms / Math.max(1, run.requests);
}

export function groupDiff(r: BenchReport): Array<{ key: string; label: string; app: number; baseline: number; diff: number }> {
  return GROUPS.map((g) => {
    const app = perRequest(r.profile.app, g.owners);
    const baseline = perRequest(r.profile.baseline, g.owners);
    return { key: g.key, label: g.label, app, baseline, diff: app - baseline };
  }).sort((a, b) => b.diff - a.diff);
}

const cpuTotal = (m: MeasuredServer) => m.cpuPerRequest.server + m.cpuPerRequest.postgres + m.cpuPerRequest.loadGenerator;
const timing = (rows: Timing[], name: string) => rows.find((t) => t.name.startsWith(name));

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
    `- **Throughput ${f1(v.ratio * 100)} % of the baseline (${v.ratioPass ? 'meets' : 'misses'} ≥ ${r.targets.minRatio * 100} %).** The gap is almost all the app's own JavaScript: ${f2(app.cpuPerRequest.server - baseline.cpuPerRequest.server)} ms more server CPU per request (${f1(app.cpuPerRequest.server / baseline.cpuPerRequest.server)}×), against ${f2(app.cpuPerRequest.postgres - baseline.cpuPerRequest.postgres)} ms more Postgres CPU (the guard's users lookup is a fifth statement per request).`,
  );

  const queueRps = r.settings.connections / (r.targets.maxP95Ms / 1000);
  out.push(
    `- **p95 ${f1(app.latency.p95)} ms (${v.p95Pass ? 'meets' : 'misses'} < ${r.targets.maxP95Ms} ms) — at ${r.settings.connections} connections this is queueing, not slowness.** With a closed loop, mean latency = connections / throughput (app: ${r.settings.connections} / ${f1(app.rps)} = ${f1((r.settings.connections / app.rps) * 1000)} ms, measured mean ${f1(app.latency.mean)} ms). A p95 under ${r.targets.maxP95Ms} ms at ${r.settings.connections} connections needs a mean well below that, i.e. more than ~${Math.round(queueRps)} req/s: ${f1(queueRps / app.rps)}× what the app does and ${f1(queueRps / baseline.rps)}× what even the bare baseline does on this machine (baseline p95 ${f1(baseline.latency.p95)} ms).${r.sweep
      .map((w) => ` At ${w.connections} connection${w.connections === 1 ? '' : 's'} the app's p50/p95 are ${f1(w.app.latency.p50)} / ${f1(w.app.latency.p95)} ms (baseline ${f1(w.baseline.latency.p50)} / ${f1(w.baseline.latency.p95)} ms).`)
      .join('')} So the latency target is reachable only at lower concurrency or with more cores per instance (or more instances): with this per-request CPU, ${Math.round(queueRps)} req/s takes at least ${Math.ceil((queueRps * cpuTotal(app)) / 1000)} fully busy cores for the app (Postgres included) and ${Math.ceil((queueRps * cpuTotal(baseline)) / 1000)} for the baseline, more in practice to keep queues short.`,
  );

  const d = r.diagnosis;
  const page = timing(d.sql, 'page');
  const count = timing(d.sql, 'count');
  const heapBlocks = d.explain.find((e) => e.name === 'count')?.plan.join('\n').match(/Heap Blocks: exact=(\d+)/)?.[1];
  const execution = (name: string) => d.explain.find((e) => e.name === name)?.plan.find((l) => l.startsWith('Execution Time'))?.replace('Execution Time: ', '');
  out.push(
    `- **The database is not the bottleneck.** Both statements use the partial index \`idx_properties_available_city (lower(city), price, id)\`: the page executes in ${execution('page') ?? '?'} and the count in ${execution('count') ?? '?'}${heapBlocks ? ` (a bitmap heap scan visiting ${heapBlocks} heap blocks for the matching rows)` : ''}; over the wire, one at a time, page ${page ? f2(page.meanMs) : '?'} ms and count ${count ? f2(count.meanMs) : '?'} ms. Postgres spends ${f2(app.cpuPerRequest.postgres)} ms CPU per app request, about ${Math.round((app.cpuPerRequest.postgres / cpuTotal(app)) * 100)} % of the total.`,
  );

  const groups = groupDiff(r);
  const totalDiff = (r.profile.app.busyMs / Math.max(1, r.profile.app.requests)) - (r.profile.baseline.busyMs / Math.max(1, r.profile.baseline.requests));
  out.push(
    `- **Where the app's extra ${f2(totalDiff)} ms of JavaScript-thread time per request goes** (profiles below, grouped; app − baseline): ${groups
      .filter((g) => g.diff > 0.005)
      .map((g) => `${g.label} ${f2(g.diff)} ms`)
      .join('; ')}. The rest is spread thin (V8 natives such as socket writes and microtask runs grow with the number of promises and headers).`,
  );

  const g = Object.fromEntries(groups.map((x) => [x.key, x]));
  const nodePath = perRequest(r.profile.app, ['node:path']);
  const users = timing(d.steps, 'users row');
  const usersSql = timing(d.sql, 'users by');
  const service = timing(d.steps, 'search service');
  const rawSearch = ['page', 'count'].reduce((s, n) => s + (timing(d.sql, n)?.meanMs ?? 0), 0) + Math.max(timing(d.sql, 'realtors')?.meanMs ?? 0, timing(d.sql, 'images')?.meanMs ?? 0);
  const saving = g.orm!.diff + g.gc!.diff / 2 + nodePath + g.als!.diff;
  const pgSaving = Math.max(0, app.cpuPerRequest.postgres - baseline.cpuPerRequest.postgres);
  const projected = (app.rps * cpuTotal(app)) / (cpuTotal(app) - saving - pgSaving);
  out.push('', '### Proposed changes (outside bench/; estimates from this run)', '');
  out.push(
    `1. **\`api/properties/service.ts\` search: plain knex instead of objection \`page()\` + \`withGraphFetched\` on the list path.** One call of the search service takes ${service ? f2(service.meanMs) : '?'} ms in-process against ${f2(rawSearch)} ms for its four statements sent raw, and the ORM's own code is ${f2(g.orm!.diff)} ms/request of self time under load plus a share of the ${f2(g.gc!.diff)} ms extra GC (model instances, relation bookkeeping, query-builder clones). Select the page with knex (same SQL), fetch realtors and images with two \`whereIn\` queries, and hydrate plain objects for the presenter. Also send the count together with the page (\`Promise.all\`) instead of as a third sequential round trip after the graph fetch: that shortens each request by a round trip, though it saves no CPU. (Folding it into the page as \`count(*) OVER ()\` saves the round trip but not Postgres work: the window has to read and sort every matching row — ${r.query.totalCount} here — instead of stopping after ${r.query.items}.) Expected: −${f2(g.orm!.diff + g.gc!.diff / 2)} ms CPU/request in the app.`,
    `2. **\`adapters/storage/local.ts\` \`signedUrl\`: validate the key with \`assertSafeKey\` only, not \`pathFor\`.** Signing never touches the file system, but every URL pays \`path.resolve\` + \`path.relative\`; a page of 20 listings × 3 images signs ${2 * 3 * 20} URLs. Under load the storage adapter's own code and \`node:path\` take ${f2(g.urls!.app)} ms/request, ${f2(nodePath)} ms of it in \`node:path\` alone (the HMAC itself runs in native code, which the baseline pays too). Expected: −${f2(nodePath)} to −${f2(g.urls!.app)} ms/request.`,
    `3. **\`api/middleware/authenticate.ts\`: cache the users row per \`cognito_sub\` for a few seconds** (a small LRU, dropped when an admin disables, deletes or re-roles the user in this process; the short TTL bounds staleness across instances), or read it with a plain knex \`first()\`. Today every request runs objection \`findOne\` (${users ? f2(users.meanMs) : '?'} ms in-process vs ${usersSql ? f2(usersSql.meanMs) : '?'} ms for the raw statement) and adds a fifth statement (≈ ${f2(Math.max(0, app.cpuPerRequest.postgres - baseline.cpuPerRequest.postgres))} ms of Postgres CPU per request here).`,
    `4. **Request context (\`lib/request-context.ts\` via \`api/middleware/request-id.ts\`): AsyncLocalStorage on Node 20 installs promise hooks**, so every promise of a request pays: ${f2(g.als!.diff)} ms/request of self time plus allocation. Node 22.7+ with \`--experimental-async-context-frame\` (the default from Node 24) removes the hooks; alternatively keep the request id on \`ctx.state\` and use a child logger instead of a store.`,
    `5. **Together** (counting the ORM's GC share once and only the \`node:path\` part of URL signing): about ${f2(saving)} ms less app CPU and ${f2(pgSaving)} ms less Postgres CPU per request, i.e. ${f2(cpuTotal(app))} → ${f2(cpuTotal(app) - saving - pgSaving)} ms in all; at the same core utilisation that is roughly ${Math.round(projected)} req/s, ${f1((projected / baseline.rps) * 100)} % of this baseline (from ${f1(v.ratio * 100)} %). It does not change the latency picture at ${r.settings.connections} connections (see 6).`,
    `6. **Targets.** p95 < ${r.targets.maxP95Ms} ms at ${r.settings.connections} concurrent connections on ${cores} shared cores cannot be met by any implementation that does this work (the bare baseline misses it by ${f1(baseline.latency.p95 / r.targets.maxP95Ms)}×); state the latency target at a request rate or concurrency the deployment is sized for (e.g. p95 at 10 connections, measured above), and size instances by CPU per request (${f2(cpuTotal(app))} ms here including Postgres).`,
  );
  return out;
}
