/**
 * npm run create-admin -- --email <e> --password <p> --name <n>
 * Creates an admin through whichever identity provider is configured (local or Cognito),
 * against DATABASE_URL or the embedded PostgreSQL.
 */
import { parseArgs } from 'node:util';
import { buildAdapters } from '../adapters';
import { IdentityInputError } from '../adapters/identity/port';
import { createAdminAccount } from '../api/users/service';
import { startEmbeddedPostgres, type RunningPostgres } from '../db/embedded';
import { createKnex, migrateLatest } from '../db/knex';
import { getConfig } from '../lib/config';
import { AppError } from '../lib/errors';
import { createLogger } from '../lib/logger';

const USAGE = 'usage: npm run create-admin -- --email <email> --password <password> --name "<full name>"';

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({ options: { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' } }, strict: true }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (!args.email || !args.password || !args.name) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = getConfig();
  const logger = createLogger({ ...config, logLevel: 'warn' }, 'create-admin');
  let embedded: RunningPostgres | undefined;
  try {
    let url = config.database.url;
    if (!url) {
      embedded = await startEmbeddedPostgres({ ...config.database.embedded, database: 'realtyforyou', logger });
      url = embedded.url;
    }
    const knex = createKnex({ url, pool: { min: 0, max: 2 }, logger });
    try {
      await migrateLatest(knex);
      const { identity } = buildAdapters(config, knex, logger);
      await identity.init();
      const user = await createAdminAccount({ knex, identity }, { email: args.email, password: args.password, fullName: args.name });
      process.stdout.write(`admin created: id ${user.id}, ${user.email} (identity provider: ${identity.name})\n`);
      return 0;
    } finally {
      await knex.destroy();
    }
  } catch (err) {
    const known = err instanceof AppError || err instanceof IdentityInputError;
    process.stderr.write(`create-admin failed: ${known ? (err as Error).message : String((err as Error).stack ?? err)}\n`);
    return 1;
  } finally {
    await embedded?.stop();
  }
}

void main().then((code) => process.exit(code));
