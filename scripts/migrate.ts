/**
 * `npm run migrate` (latest), `npm run migrate -- rollback --all`, `npm run migrate -- status`.
 * Against DATABASE_URL, or the embedded PostgreSQL when none is set (npm start's when it
 * runs, else one started for the duration of the command).
 */
import { getConfig } from '../lib/config';
import { createLogger, type Logger } from '../lib/logger';
import { exitOnStartupError, StartupError } from '../lib/shutdown';
import { migrateLatest, migrationConfig } from '../db/knex';
import { openScriptDatabase } from '../db/script-database';

async function main(): Promise<void> {
  const [command = 'latest', ...flags] = process.argv.slice(2);
  let logger: Logger | undefined;
  let db: Awaited<ReturnType<typeof openScriptDatabase>> | undefined;
  try {
    const config = getConfig();
    logger = createLogger(config, 'migrate');
    db = await openScriptDatabase(config, logger);
    const { knex } = db;
    if (command === 'latest') {
      const applied = await migrateLatest(knex);
      process.stdout.write(applied.length ? `applied:\n  ${applied.join('\n  ')}\n` : 'already up to date\n');
    } else if (command === 'rollback') {
      const [, undone] = (await knex.migrate.rollback(migrationConfig(), flags.includes('--all'))) as [number, string[]];
      process.stdout.write(undone.length ? `rolled back:\n  ${undone.join('\n  ')}\n` : 'nothing to roll back\n');
    } else if (command === 'status') {
      const [done, pending] = (await knex.migrate.list(migrationConfig())) as [Array<{ name: string }>, Array<{ file: string }>];
      process.stdout.write(`applied: ${done.map((d) => d.name).join(', ') || '(none)'}\npending: ${pending.map((p) => p.file).join(', ') || '(none)'}\n`);
    } else {
      throw new StartupError(`unknown command "${command}"; use latest, rollback [--all] or status`);
    }
  } catch (err) {
    await db?.close();
    exitOnStartupError(logger, err);
  }
  await db?.close();
}

void main();
