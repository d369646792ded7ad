import type { Knex } from 'knex';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { openEmbeddedPostgres, type RunningPostgres } from './embedded';
import { createKnex } from './knex';

/**
 * The database an operator script (migrate, seed, create-admin, tours:resume-parked) works
 * on: DATABASE_URL when set; else the embedded server `npm start` is running on this data
 * folder; else one of the script's own, stopped again by `close()`.
 */
export async function openScriptDatabase(config: Config, logger: Logger, poolMax = 2): Promise<{ knex: Knex; close(): Promise<void> }> {
  let embedded: RunningPostgres | undefined;
  let url = config.database.url;
  if (!url) {
    embedded = await openEmbeddedPostgres({ ...config.database.embedded, database: 'realtyforyou', logger });
    url = embedded.url;
  }
  const knex = createKnex({ url, pool: { min: 0, max: poolMax }, logger });
  return {
    knex,
    async close() {
      await knex.destroy();
      await embedded?.stop();
    },
  };
}
