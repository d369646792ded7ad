import { readdirSync } from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Logger } from '../lib/logger';

// BIGINT ids fit comfortably in a JS number; without this pg hands them back as strings.
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number.parseInt(v, 10));

export const MIGRATIONS_DIR = path.join(__dirname, 'migrations');

interface MigrationFile {
  /** The name recorded in knex_migrations: always the source file's (`.ts`) name. */
  file: string;
  path: string;
}

/**
 * The migrations from source (`.ts`, run through tsx) or compiled (`.js`, `npm run build`)
 * under one name each, so a database migrated by one is up to date for the other.
 */
const migrationSource: Knex.MigrationSource<MigrationFile> = {
  async getMigrations() {
    const files = readdirSync(MIGRATIONS_DIR).filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'));
    return files
      .map((f) => ({ file: f.replace(/\.js$/, '.ts'), path: path.join(MIGRATIONS_DIR, f) }))
      .sort((a, b) => a.file.localeCompare(b.file));
  },
  getMigrationName: (m) => m.file,
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  getMigration: async (m) => require(m.path) as Knex.Migration,
};

export function migrationConfig(): Knex.MigratorConfig {
  return { migrationSource, tableName: 'knex_migrations' };
}

export interface DatabaseOptions {
  url: string;
  /** acquireTimeoutMs: how long a query may wait for a connection (default 10 s, for scripts). */
  pool: { min: number; max: number; acquireTimeoutMs?: number };
  /** Where knex's own warnings go; without one they are dropped, not printed. */
  logger?: Logger;
}

export function createKnex(opts: DatabaseOptions): Knex {
  const knex = knexFactory({
    client: 'pg',
    connection: opts.url,
    pool: { min: opts.pool.min, max: opts.pool.max },
    migrations: migrationConfig(),
    // The API's pool waits briefly: with PostgreSQL down a request should hear 503 at once,
    // not after a long wait for a slot (a failed connect is reported immediately anyway).
    acquireConnectionTimeout: opts.pool.acquireTimeoutMs ?? 10_000,
    log: {
      warn: (m: unknown) => opts.logger?.warn({ knex: m }, 'knex warning'),
      error: (m: unknown) => opts.logger?.error({ knex: m }, 'knex error'),
      deprecate: (m: unknown) => opts.logger?.warn({ knex: m }, 'knex deprecation'),
      debug: (m: unknown) => opts.logger?.debug({ knex: m }, 'knex debug'),
    },
  });
  return knex;
}

export async function migrateLatest(knex: Knex): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest(migrationConfig())) as [number, string[]];
  return applied;
}
