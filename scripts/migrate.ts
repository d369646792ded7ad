/**
 * `npm run migrate` (latest), `npm run migrate -- rollback --all`, `npm run migrate -- status`.
 * Against DATABASE_URL, or the embedded PostgreSQL when none is set (npm start's when it
 * runs, else one started for the duration of the command).
 */
import { getConfig } from '../lib/config';
import { createLogger, type Logger } from '../lib/logger';
import { exitOnStartupError, StartupError } from '../lib/shutdown';
import { createKnex, migrateLatest, migrationConfig } from '../db/knex';
import { openEmbeddedPostgres, type RunningPostgres } from '../db/embedded';

async function main(): Promise<void> {
  const [command = 'latest', ...flags] = process.argv.slice(2);
  let logger: Logger | undefined;
  let embedded: RunningPostgres | undefined;
  try {
    const config = getConfig();
    logger = createLogger(config, 'migrate');
    let url = config.database.url;
    if (!url) {
      // npm start's server when it runs, else one of the script's own.
      embedded = await openEmbeddedPostgres({ ...config.database.embedded, database: 'realtyforyou', logger });
      url = embedded.url;
    }
    const knex = createKnex({ url, pool: { min: 0, max: 2 } });
    try {
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
    } finally {
      await knex.destroy();
    }
  } catch (err) {
    await embedded?.stop();
    exitOnStartupError(logger, err);
  }
  await embedded?.stop();
}

void main();
