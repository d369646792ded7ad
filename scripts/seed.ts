/**
 * npm run seed -- --properties 10000 [--realtors 200] [--buyers 50] [--images-per-property 3]
 *                 [--seed 42] [--password seed-pass-123] [--reset]
 * (--properties defaults to 1000; the others to the values shown.)
 *
 * Fills the configured database (DATABASE_URL, else the embedded PostgreSQL under the
 * data folder, migrated first) with realistic listings for demos and benchmarks:
 * realtors and buyers who can sign in (created through the configured identity provider),
 * properties with plausible US addresses, prices that follow size and city, searchable
 * descriptions, and ready images whose few files are generated once with sharp.
 *
 * The same --seed gives the same data on a fresh database. Running again adds a new
 * "run": new emails (`seed<run>-realtor-0001@example.com`) and MLS ids (`SEED<run>-000001`).
 */
import { buildAdapters } from '../adapters';
import { openScriptDatabase } from '../db/script-database';
import { migrateLatest } from '../db/knex';
import { ConfigError, getConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { StartupError } from '../lib/shutdown';
import { parseSeedArgs, UsageError, USAGE, type SeedOptions } from './seed/args';
import { seedDatabase } from './seed/run';
import { formatSummary } from './seed/summary';

// The parts, by concern, under scripts/seed/: args (CLI), random (deterministic streams),
// vocabulary and plan (what rows to write), images (the shared files), earlier-runs
// (numbering and --reset), write (the inserts), run (one run end to end), summary (the report).
export { DEFAULT_PASSWORD, parseSeedArgs, UsageError, USAGE, type SeedOptions } from './seed/args';
export { seedDatabase, type SeedDeps } from './seed/run';
export { formatSummary, type SeedSummary } from './seed/summary';

async function main(): Promise<number> {
  let opts: SeedOptions;
  try {
    opts = parseSeedArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n${USAGE}\n`);
    return 2;
  }
  let db: Awaited<ReturnType<typeof openScriptDatabase>> | undefined;
  try {
    const config = getConfig();
    const logger = createLogger({ ...config, logLevel: config.logLevel === 'silent' ? 'silent' : 'warn' }, 'seed');
    db = await openScriptDatabase(config, logger, 6);
    const { knex } = db;
    await migrateLatest(knex);
    const { identity, storage } = buildAdapters(config, knex, logger);
    await identity.init();
    process.stdout.write(formatSummary(await seedDatabase({ knex, identity, storage }, opts)));
    return 0;
  } catch (err) {
    const known = err instanceof ConfigError || err instanceof StartupError;
    const message = known ? (err as Error).message : String((err as Error).stack ?? err);
    process.stderr.write(`seed failed: ${message}\n`);
    return 1;
  } finally {
    await db?.close();
  }
}

if (require.main === module) void main().then((code) => process.exit(code));
