import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { buildAdapters } from '../adapters';
import { startEmbeddedPostgres, type RunningPostgres } from '../db/embedded';
import { migrateLatest } from '../db/knex';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { seedDatabase } from '../scripts/seed';

/**
 * What the search benchmarks (bench/run.ts, bench/telemetry-overhead.ts) measure on: an
 * embedded PostgreSQL of their own, seeded alike, and the same buyer search.
 */

/** PostgreSQL in `<root>/postgres`, and its postmaster's pid (its backends are counted under it). */
export async function startBenchPostgres(root: string, port: number, logger: Logger): Promise<{ pg: RunningPostgres; postmasterPid: number }> {
  const dir = path.join(root, 'postgres');
  const pg = await startEmbeddedPostgres({ dir, port, database: 'realtyforyou', logger, ephemeral: true });
  const postmasterPid = Number(readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return { pg, postmasterPid };
}

/** The command-line options both benchmarks take for their data and search (for `parseArgs`). */
export const SEARCH_SEED_OPTIONS = {
  properties: { type: 'string', default: '10000' },
  realtors: { type: 'string', default: '200' },
  buyers: { type: 'string', default: '20' },
  seed: { type: 'string', default: '42' },
  'min-price': { type: 'string', default: '300000' },
} as const;

/** Those options' values, as numbers. */
export function searchSeedOf(values: { [K in keyof typeof SEARCH_SEED_OPTIONS]: string }): SearchSeed {
  return {
    properties: Number(values.properties),
    realtors: Number(values.realtors),
    buyers: Number(values.buyers),
    seed: Number(values.seed),
    minPrice: Number(values['min-price']),
  };
}

export interface SearchSeed {
  properties: number;
  realtors: number;
  buyers: number;
  seed: number;
  minPrice: number;
}

/**
 * Migrates and seeds (three images a property); `search` is the measured request: the first
 * seeded city's properties from `minPrice` up, by price, 20 a page.
 */
export async function seedForSearch(knex: Knex, config: Config, logger: Logger, opt: SearchSeed, say: (line: string) => void) {
  await migrateLatest(knex);
  const adapters = buildAdapters(config, knex, logger);
  await adapters.identity.init();
  say(`seeding ${opt.properties} properties, ${opt.realtors} realtors, ${opt.buyers} buyers (each account costs one scrypt hash)`);
  const seeded = await seedDatabase(
    { knex, identity: adapters.identity, storage: adapters.storage },
    { properties: opt.properties, realtors: opt.realtors, buyers: opt.buyers, imagesPerProperty: 3, seed: opt.seed, password: 'seed-pass-123', reset: false },
  );
  const city = seeded.cities[0]!.city;
  const search = `/api/v1/buyers/properties?city=${encodeURIComponent(city)}&min_price=${opt.minPrice}&sort=price&per_page=20`;
  return { adapters, seeded, city, search };
}

/** Signs in as the first seeded buyer on `baseUrl`; the access token. */
export async function signInBuyer(baseUrl: string, seeded: { buyers: Array<{ email: string }>; password: string }): Promise<string> {
  const { email } = seeded.buyers[0]!;
  const res = await fetch(`${baseUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: seeded.password }),
  });
  const session = (await res.json()) as { data?: { attributes?: { access_token?: string } } };
  const token = session.data?.attributes?.access_token;
  if (res.status !== 200 || !token) throw new Error(`login as ${email} on ${baseUrl} failed: ${res.status} ${JSON.stringify(session)}`);
  return token;
}
