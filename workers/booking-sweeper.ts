import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { Logger } from '../lib/logger';
import type { Config } from '../lib/config';
import { bookingWorkflowSettings, startBookingWorkflow, type BookingWorkflowSettings } from '../contracts/bookings';

/**
 * No booking row without its workflow: the API starts a booking's workflow right after
 * the row commits; if that start failed (Temporal briefly unreachable, a crash between the
 * two), this sweep starts it later under the same id. The workflow's first step marks
 * the row (workflow_started_at), so a swept booking is not swept again.
 */
export interface SweeperOptions {
  knex: Knex;
  client: Client;
  taskQueue: string;
  settings: BookingWorkflowSettings;
  logger: Logger;
  /** Rows younger than this are left to the API's own start. */
  graceSeconds?: number;
}

export async function sweepUnstartedBookings(opts: SweeperOptions): Promise<number[]> {
  const rows = await opts.knex('bookings')
    .whereNull('workflow_started_at')
    .whereIn('status', ['pending', 'confirmed'])
    .where('created_at', '<', opts.knex.raw(`now() - make_interval(secs => ?)`, [opts.graceSeconds ?? 15]))
    .orderBy('id')
    .limit(100)
    .pluck<number[]>('id');
  const started: number[] = [];
  for (const id of rows) {
    try {
      await startBookingWorkflow(opts.client, opts.taskQueue, id, opts.settings);
      started.push(id);
    } catch (err) {
      opts.logger.warn({ err, bookingId: id }, 'sweeper could not start the booking workflow; will retry');
    }
  }
  if (started.length) opts.logger.info({ bookingIds: started }, 'started workflows for swept bookings');
  return started;
}

/** The sweeper as the configuration sets it up (npm start and the production worker). */
export function startConfiguredBookingSweeper(config: Config, knex: Knex, client: Client, logger: Logger): { stop(): Promise<void> } {
  return startBookingSweeper({
    knex,
    client,
    taskQueue: config.temporal.taskQueue,
    settings: bookingWorkflowSettings(config),
    intervalSeconds: config.bookings.sweepIntervalSeconds,
    logger,
  });
}

export function startBookingSweeper(opts: SweeperOptions & { intervalSeconds: number }): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(() => sweepUnstartedBookings(opts)).catch((err) => opts.logger.warn({ err }, 'booking sweep failed'));
  }, opts.intervalSeconds * 1000);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
