import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { Client } from 'pg';
import { createKnex } from '../../db/knex';
import { getConfig } from '../../lib/config';

export const TEMPLATE_DB = 'realtyforyou_template';

export interface TestDatabase {
  knex: Knex;
  url: string;
  name: string;
  destroy(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: withDatabase(getConfig().database.url!, 'postgres') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A database of its own for one test file, cloned from the migrated template. */
export async function createTestDatabase(opts: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  const template = opts.migrated === false ? 'template0' : TEMPLATE_DB;
  await admin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  const url = withDatabase(getConfig().database.url!, name);
  const knex = createKnex({ url, pool: { min: 0, max: 5 } });
  return {
    knex,
    url,
    name,
    async destroy() {
      await knex.destroy();
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** The number of rows a query matches. */
export async function count(q: Knex.QueryBuilder): Promise<number> {
  const [r] = await q.count<Array<{ count: string | number }>>('* as count');
  return Number(r!.count);
}
