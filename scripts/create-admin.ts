/**
 * npm run create-admin -- --email <e> --password <p> --name <n>
 * Creates an admin through whichever identity provider is configured (local or Cognito),
 * against DATABASE_URL or the embedded PostgreSQL.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { buildAdapters } from '../adapters';
import { IdentityInputError } from '../adapters/identity/port';
import { emailField, passwordField } from '../api/schemas';
import { fullNameField } from '../api/users/schemas';
import { createAdminAccount } from '../api/users/service';
import { migrateLatest } from '../db/knex';
import { openScriptDatabase } from '../db/script-database';
import { ConfigError, getConfig } from '../lib/config';
import { AppError } from '../lib/errors';
import { createLogger } from '../lib/logger';
import { StartupError } from '../lib/shutdown';

const USAGE = 'usage: npm run create-admin -- --email <email> --password <password> --name "<full name>"';

const ARGS = z.object({ email: emailField, password: passwordField, name: fullNameField });

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
  // The same rules as sign-up over HTTP, so the script cannot make an account the API would refuse.
  const input = ARGS.safeParse(args);
  if (!input.success) {
    const problems = input.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`);
    process.stderr.write(`${problems.join('\n')}\n${USAGE}\n`);
    return 2;
  }
  let config;
  try {
    config = getConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`create-admin failed: ${err.message}\n`);
    return 1;
  }
  const logger = createLogger({ ...config, logLevel: 'warn' }, 'create-admin');
  let db: Awaited<ReturnType<typeof openScriptDatabase>> | undefined;
  try {
    db = await openScriptDatabase(config, logger);
    const { knex } = db;
    await migrateLatest(knex);
    const { identity } = buildAdapters(config, knex, logger);
    await identity.init();
    const user = await createAdminAccount({ knex, identity }, { email: input.data.email, password: input.data.password, fullName: input.data.name });
    process.stdout.write(`admin created: id ${user.id}, ${user.email} (identity provider: ${identity.name})\n`);
    return 0;
  } catch (err) {
    const known = err instanceof AppError || err instanceof IdentityInputError || err instanceof StartupError;
    process.stderr.write(`create-admin failed: ${known ? (err as Error).message : String((err as Error).stack ?? err)}\n`);
    return 1;
  } finally {
    await db?.close();
  }
}

void main().then((code) => process.exit(code));
