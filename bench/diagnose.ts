import type { Knex } from 'knex';
import { Client } from 'pg';
import type { IdentityProvider } from '../adapters/identity/port';
import type { ObjectStorage } from '../adapters/storage/port';
import { userForToken } from '../api/middleware/authenticate';
import { UserCache } from '../api/middleware/user-cache';
import { presentProperties } from '../api/properties/presenter';
import type { SearchFilters } from '../api/properties/schemas';
import { PropertyService } from '../api/properties/service';
import { AVAILABLE_STATUSES } from '../db/repositories/properties.repository';
import type { UserRecord as User } from '../db/repositories/users.repository';
import type { Logger } from '../lib/logger';
import { imagesSql, realtorsSql, searchSql, type BaselineFilters } from './baseline';
import { percentile } from './load';

/**
 * Where one request's time goes, measured in this process one call at a time (no load):
 * the app's per-request steps, the SQL each server sends, and the plans Postgres picks.
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
  /** The app's statements for one search (the users lookup, then the search), as knex hands them to pg. */
  appSql: CapturedQuery[];
  /** The baseline's statements for the same search: the seed's page, realtors, images and count. */
  baselineSql: CapturedQuery[];
  steps: Timing[];
  sql: Timing[];
  explain: { name: string; plan: string[] }[];
  /** How Postgres ran the app's prepared search statement over the timing loop. */
  preparedPlans: { generic: number; custom: number } | undefined;
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

/** knex's `?` placeholders as pg's `$n`, for sending a captured statement without knex. */
const dollarParams = (sql: string) => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};

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
  const search = appSql[appSql.length - 1]!;
  const searchStatement = { text: dollarParams(search.sql), values: search.bindings };

  const ids = found.items.map((p) => p.id);
  const realtorIds = [...new Set(found.items.map((p) => p.realtor_id))];
  const base = searchSql(d.filters as BaselineFilters);
  const realtors = realtorsSql(realtorIds);
  const images = imagesSql(ids);
  const baselineSql = [base.page, realtors, images, base.count].map((q) => ({ sql: q.text, bindings: q.values }));

  const n = d.iterations;
  const urls = found.items.reduce((sum, p) => sum + p.images.filter((i) => i.processed_key).length + p.images.filter((i) => i.thumbnail_key).length, 0);
  const body = { success: true, data: await presentProperties(found.items, d.storage), meta: found.meta };
  const users = new UserCache();
  const sub = (await d.identity.verifyAccessToken(d.token)).sub;
  const steps = [
    await time('verify access token, first time', 'RS256 signature + Cognito claim checks (aws-jwt-verify); the verification is then remembered', n, () => {
      d.identity.forgetVerifiedTokens(sub);
      return d.identity.verifyAccessToken(d.token);
    }),
    await time('verify access token, seen before', 'answered from the verified-token cache until the token expires', n, () => d.identity.verifyAccessToken(d.token)),
    await time('users row for the token, cache miss', 'guard: users.cognito_sub lookup (knex)', n, () => userForToken({ identity: d.identity, knex: d.knex }, d.token, 'bench')),
    await time('users row for the token, cached', 'guard: the per-sub user cache (30 s)', n, () => userForToken({ identity: d.identity, knex: d.knex, users }, d.token, 'bench')),
    await time('search service', 'one prepared statement: page, realtors, images and total', n, () => service.search(actor, d.filters)),
    await time(`present ${found.items.length} properties`, `presenter incl. ${urls} shared signed URLs`, n, () => presentProperties(found.items, d.storage)),
    await time('JSON.stringify body', `${Buffer.byteLength(JSON.stringify(body))} bytes`, n, () => JSON.stringify(body)),
  ];

  const client = new Client({ connectionString: d.url });
  await client.connect();
  try {
    const q = (text: string, values: unknown[]) => () => client.query(text, values);
    const sql = [
      await time('users by cognito_sub', "the guard's lookup (once per user per 30 s with the cache)", n, q(dollarParams(appSql[0]!.sql), appSql[0]!.bindings)),
      await time('app: search statement, unnamed', 'parsed and planned on every call', n, q(searchStatement.text, searchStatement.values)),
      await time('app: search statement, prepared', 'as the app sends it: a named statement, planned once per connection', n, () =>
        client.query({ name: 'bench_app_search', text: searchStatement.text, values: searchStatement.values })),
      await time('baseline: page', 'search page (ORDER BY price, LIMIT 20)', n, q(base.page.text, base.page.values)),
      await time('baseline: realtors', "names of the page's realtors", n, q(realtors.text, realtors.values)),
      await time('baseline: images', 'ready images of the page', n, q(images.text, images.values)),
      await time('baseline: count', 'total_count over the whole filter', n, q(base.count.text, base.count.values)),
    ];
    // The index proposed for the count (see the findings), tried in a transaction that is
    // rolled back: the database is left as it was.
    await client.query('BEGIN');
    try {
      const available = AVAILABLE_STATUSES.map((st) => `'${st}'`).join(', ');
      await client.query(`CREATE INDEX bench_try_city_include ON properties (lower(city), price, id) INCLUDE (city) WHERE status IN (${available}) AND deleted_at IS NULL`);
      await client.query('ANALYZE properties');
      sql.push(await time('count with the proposed index', 'the baseline count with (lower(city), price, id) INCLUDE (city): an index-only scan', n, q(base.count.text, base.count.values)));
    } finally {
      await client.query('ROLLBACK');
    }
    const prepared = await client.query<{ generic_plans: string; custom_plans: string }>(
      "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'bench_app_search'",
    );
    const preparedPlans = prepared.rows[0] && { generic: Number(prepared.rows[0].generic_plans), custom: Number(prepared.rows[0].custom_plans) };
    const plan = async (sqlText: string, values: unknown[]) =>
      (await client.query<{ 'QUERY PLAN': string }>(sqlText, values)).rows.map((r) => r['QUERY PLAN']);
    const explain = [
      { name: 'app search (generic plan, as prepared)', plan: await plan(`EXPLAIN (GENERIC_PLAN) ${searchStatement.text}`, []) },
      { name: 'app search (run with these values)', plan: await plan(`EXPLAIN (ANALYZE, BUFFERS) ${searchStatement.text}`, searchStatement.values) },
      { name: 'baseline count', plan: await plan(`EXPLAIN (ANALYZE, BUFFERS) ${base.count.text}`, base.count.values) },
    ];
    const headers = { Authorization: `Bearer ${d.token}` };
    const http = [
      await time('app: one request at a time', 'fetch over loopback, keep-alive', n, async () => (await fetch(d.appUrl, { headers })).arrayBuffer()),
      await time('baseline: one request at a time', 'fetch over loopback, keep-alive', n, async () => (await fetch(d.baselineUrl)).arrayBuffer()),
    ];
    return {
      appSql,
      baselineSql,
      steps,
      sql,
      explain,
      preparedPlans,
      http,
      responseItems: found.items.length,
      totalCount: found.meta.total_count,
    };
  } finally {
    await client.end();
  }
}
