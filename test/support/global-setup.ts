import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres, type RunningPostgres } from '../../db/embedded';
import { createKnex, migrateLatest } from '../../db/knex';
import { createLogger } from '../../lib/logger';
import { TEMPLATE_DB } from './db';
import { freePort } from './ports';

/**
 * One real PostgreSQL for the run, on a free port, in a fresh temporary folder. The
 * migrated database serves as a template: each test file clones its own copy.
 */

declare global {
  var __TEST_PG__: RunningPostgres | undefined;
  /** The folder the test PostgreSQL lives in, removed by global-teardown.ts. */
  var __TEST_ROOT__: string | undefined;
}

export default async function globalSetup(): Promise<void> {
  const logger = createLogger({ logLevel: 'warn', env: 'test' }, 'test-postgres');
  const root = mkdtempSync(path.join(tmpdir(), 'rfy-test-'));
  // As root, Postgres runs as a separate `postgres` user that must reach its folder.
  chmodSync(root, 0o755);
  const dir = path.join(root, 'postgres');
  const port = await freePort();
  const pg = await startEmbeddedPostgres({ dir, port, database: TEMPLATE_DB, logger, ephemeral: true });
  globalThis.__TEST_PG__ = pg;
  globalThis.__TEST_ROOT__ = root;
  const knex = createKnex({ url: pg.url, pool: { min: 0, max: 1 } });
  try {
    await migrateLatest(knex);
  } finally {
    await knex.destroy();
  }
  // Test files learn the server through the one config module, like the app does.
  process.env.DATABASE_URL = pg.url;
  process.env.NODE_ENV = 'test';
  process.env.LOG_LEVEL = process.env.LOG_LEVEL ?? 'silent';
}
