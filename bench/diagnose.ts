import type { Knex } from 'knex';
import { Client } from 'pg';
import type { IdentityProvider } from '../adapters/identity/port';
import type { ObjectStorage } from '../adapters/storage/port';
import { userForToken } from '../api/middleware/authenticate';
import { presentProperty } from '../api/properties/presenter';
import type { SearchFilters } from '../api/properties/schemas';
import { PropertyService } from '../api/properties/service';
import type { UserRecord as User } from '../db/repositories/users.repository';
import type { Logger } from '../lib/logger';
import { imagesSql, realtorsSql, searchSql, type BaselineFilters } from './baseline';
import { percentile } from './load';

/**
 * Where one request's time goes, measured in this process one call at a time (no load):
 * the app's per-request steps, the raw SQL they send, and the plans Postgres picks.
 */

export interface Timing {
  name: string;
  note: string;
  meanMs: number;
  p50Ms: number;
}

export interface CapturedQuery {
  sql: string;
  bindings: unknown[];
}

export interface Diagnosis {
  appSql: CapturedQuery[];
  /** Each of the app's search statements has the same text in the baseline. */
  baselineSqlMatches: boolean;
  mismatches: string[];
  steps: Timing[];
  sql: Timing[];
  explain: { name: string; plan: string[] }[];
  http: Timing[];
  responseItems: number;
  totalCount: number;
}

async function time(name: string, note: string, n: number, fn: () => Promise<unknown> | unknown): Promise<Timing> {
  for (let i = 0; i < Math.min(20, n); i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return { name, note, meanMs: samples.reduce((a, b) => a + b, 0) / n, p50Ms: percentile(samples, 50) };
}

export interface DiagnoseDeps {
  knex: Knex;
  url: string;
  identity: IdentityProvider;
  storage: ObjectStorage;
  logger: Logger;
  token: string;
  filters: SearchFilters;
  /** Full URLs of the same search on the app and on the baseline. */
  appUrl: string;
  baselineUrl: string;
  iterations: number;
}

export async function diagnose(d: DiagnoseDeps): Promise<Diagnosis> {
  const service = new PropertyService({
    knex: d.knex,
    storage: d.storage,
    images: { start: () => Promise.reject(new Error('not used by search')) },
    logger: d.logger,
    limits: { maxPixels: 1 },
  });

  // The SQL of one authenticated search, as knex hands it to pg.
  const appSql: CapturedQuery[] = [];
  const listener = (q: { sql: string; bindings?: unknown[] }) => appSql.push({ sql: q.sql, bindings: q.bindings ?? [] });
  d.knex.on('query', listener);
  let user: User;
  let found: Awaited<ReturnType<PropertyService['search']>>;
  try {
    user = await userForToken({ identity: d.identity, knex: d.knex }, d.token, 'bench');
    found = await service.search({ user, requestId: 'bench' }, d.filters);
  } finally {
    d.knex.removeListener('query', listener);
  }
  const actor = { user, requestId: 'bench' };

  const ids = found.items.map((p) => p.id);
  const realtorIds = [...new Set(found.items.map((p) => p.realtor_id))];
  const base = searchSql(d.filters as BaselineFilters);
  const expected = [base.page.text, realtorsSql(realtorIds).text, imagesSql(ids).text, base.count.text];
  const searchStatements = appSql.slice(1).map((q) => q.sql);
  const mismatches = expected.filter((sql) => !searchStatements.includes(sql));

  const n = d.iterations;
  const readyImages = found.items.reduce((sum, p) => sum + (p.images ?? []).filter((i) => i.status === 'ready').length, 0);
  const body = { success: true, data: await Promise.all(found.items.map((p) => presentProperty(p, d.storage))), meta: found.meta };
  const steps = [
    await time('verify access token', 'RS256 signature + Cognito claim checks (aws-jwt-verify)', n, () => d.identity.verifyAccessToken(d.token)),
    await time('users row for the token', 'guard: objection findOne on users.cognito_sub', n, () => userForToken({ identity: d.identity, knex: d.knex }, d.token, 'bench')),
    await time('search service', 'objection: page + realtor/images graph + count (4 queries)', n, () => service.search(actor, d.filters)),
    await time(`present ${found.items.length} properties`, `presenter incl. ${readyImages * 2} signed URLs`, n, () =>
      Promise.all(found.items.map((p) => presentProperty(p, d.storage)))),
    await time('JSON.stringify body', `${Buffer.byteLength(JSON.stringify(body))} bytes`, n, () => JSON.stringify(body)),
  ];

  const client = new Client({ connectionString: d.url });
  await client.connect();
  try {
    const q = (text: string, values: unknown[]) => () => client.query(text, values);
    const sql = [
      await time('users by cognito_sub', 'the guard\'s lookup', n, q(appSql[0]!.sql, appSql[0]!.bindings)),
      await time('page', 'search page (ORDER BY price, LIMIT 20)', n, q(base.page.text, base.page.values)),
      await time('realtors', 'names of the page\'s realtors', n, q(realtorsSql(realtorIds).text, realtorsSql(realtorIds).values)),
      await time('images', 'ready images of the page', n, q(imagesSql(ids).text, imagesSql(ids).values)),
      await time('count', 'total_count over the whole filter', n, q(base.count.text, base.count.values)),
    ];
    const explain = [];
    for (const [name, stmt] of [['page', base.page], ['count', base.count]] as const) {
      const res = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${stmt.text}`, stmt.values);
      explain.push({ name, plan: res.rows.map((r) => r['QUERY PLAN']) });
    }
    const headers = { Authorization: `Bearer ${d.token}` };
    const http = [
      await time('app: one request at a time', 'fetch over loopback, keep-alive', n, async () => (await fetch(d.appUrl, { headers })).arrayBuffer()),
      await time('baseline: one request at a time', 'fetch over loopback, keep-alive', n, async () => (await fetch(d.baselineUrl)).arrayBuffer()),
    ];
    return {
      appSql,
      baselineSqlMatches: mismatches.length === 0,
      mismatches,
      steps,
      sql,
      explain,
      http,
      responseItems: found.items.length,
      totalCount: found.meta.total_count,
    };
  } finally {
    await client.end();
  }
}
