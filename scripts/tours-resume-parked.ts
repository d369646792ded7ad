/**
 * Resumes every tour parked in processing_failed, at a bounded rate, each audit-logged:
 *
 *   npm run tours:resume-parked -- [--step transcription] [--since 2026-12-01T00:00:00Z]
 *                                  [--limit 1000] [--rate 2] [--dry-run]
 *
 * Uses DATABASE_URL and TEMPORAL_ADDRESS, or the PostgreSQL and Temporal dev server of a
 * running `npm start`. Exit code 0 when every matched tour was resumed (or --dry-run), 1
 * when some could not be, 2 on bad arguments or an unreachable service.
 */
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { findParkedTours, resumeParkedTours, type ResumeFilter } from '../api/tours/resume-parked';
import { openScriptDatabase } from '../db/script-database';
import { ConfigError, getConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { guardedInterceptors } from '../lib/closed-channel-guard';
import { PROCESSING_STEPS } from '../contracts/tours';

/** Wrong command-line arguments: each problem on a line of its own. */
export class ArgumentError extends Error {
  constructor(readonly problems: string[]) {
    super(`tours:resume-parked: ${problems.join('\n  ')}`);
    this.name = 'ArgumentError';
  }
}

export function parseResumeArgs(argv: string[]): { filter: ResumeFilter; dryRun: boolean; perSecond: number } {
  const { values } = parseArgs({
    args: argv,
    options: {
      step: { type: 'string' },
      since: { type: 'string' },
      limit: { type: 'string', default: '1000' },
      rate: { type: 'string', default: '2' },
      'dry-run': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const problems: string[] = [];
  if (values.step !== undefined && !(PROCESSING_STEPS as readonly string[]).includes(values.step)) problems.push(`--step must be one of ${PROCESSING_STEPS.join(', ')}`);
  const since = values.since === undefined ? undefined : new Date(values.since);
  if (since && Number.isNaN(since.getTime())) problems.push('--since must be an ISO 8601 time, e.g. 2026-12-01T00:00:00Z');
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) problems.push('--limit must be a whole number from 1 to 100000');
  const perSecond = Number(values.rate);
  if (!(perSecond > 0 && perSecond <= 100)) problems.push('--rate must be a number of resumes per second, above 0 and at most 100');
  if (problems.length) throw new ArgumentError(problems);
  return { filter: { step: values.step, since, limit }, dryRun: values['dry-run'], perSecond };
}

async function main(): Promise<number> {
  const args = parseResumeArgs(process.argv.slice(2));
  const config = getConfig();
  const logger = createLogger({ ...config, logLevel: 'warn' }, 'tours-resume-parked');
  const db = await openScriptDatabase(config, logger);
  const { knex } = db;
  try {
    if (args.dryRun) {
      const tours = await findParkedTours(knex, args.filter);
      for (const t of tours) process.stdout.write(`would resume tour ${t.id} (parked at ${t.step ?? '?'} since ${t.failed_at}: ${t.error ?? ''})\n`);
      process.stdout.write(`${tours.length} parked tour(s) match; nothing resumed (--dry-run)\n`);
      return 0;
    }
    const address = config.temporal.address ?? `127.0.0.1:${config.temporal.dev.port}`;
    const connection = await Connection.connect({ address, interceptors: guardedInterceptors() }).catch((err: Error) => {
      throw new Error(`cannot reach Temporal at ${address} (${err.message}); start it (npm start) or set TEMPORAL_ADDRESS`);
    });
    try {
      const temporal = new Client({ connection, namespace: config.temporal.namespace });
      const summary = await resumeParkedTours({ knex, temporal }, args.filter, {
        dryRun: false,
        perSecond: args.perSecond,
        actorId: null,
        via: 'cli',
        onProgress: (line) => process.stdout.write(`${line}\n`),
      });
      process.stdout.write(`${summary.matched} matched, ${summary.resumed.length} resumed, ${summary.failed.length} not resumed\n`);
      return summary.failed.length ? 1 : 0;
    } finally {
      await connection.close();
    }
  } finally {
    await db.close();
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof ConfigError || err instanceof ArgumentError ? err.message : `tours:resume-parked: ${(err as Error).message}`}\n`);
      process.exit(2);
    },
  );
}
