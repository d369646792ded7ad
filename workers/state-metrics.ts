import type { Knex } from 'knex';
import { TOUR_STATUS } from '../contracts/tours';
import type { Logger } from '../lib/logger';
import { gauge } from '../lib/metrics';

/**
 * State read from the database when scraped, not counted from events: how many tours are
 * parked (post-tour processing failed for good, status processing_failed) and wait for an
 * operator's retry. Events would be per process and lost at a restart; the row status is
 * the truth. Every worker serves the same number: alert on max() over instances.
 *
 * The count is read at most every `maxAgeMs` (scrapes in between get the last value), and
 * a failed read keeps the last value (NaN until one succeeded), so a slow or unreachable
 * database never fails the whole scrape.
 */
let source: { knex: Knex; logger: Logger; maxAgeMs: number } | undefined;
let readAt = 0;

const parked = gauge({
  name: 'rfy_tours_parked',
  help: 'Tours whose post-tour processing failed for good and waits for a retry (status processing_failed)',
  async collect() {
    const s = source;
    if (!s || Date.now() - readAt < s.maxAgeMs) return;
    try {
      const [row] = await s.knex('tours').where({ status: TOUR_STATUS.processing_failed }).count<Array<{ count: string | number }>>('* as count').timeout(2000);
      this.set(Number(row?.count ?? 0));
      readAt = Date.now();
    } catch (err) {
      s.logger.warn({ err }, 'could not count parked tours for /metrics; keeping the last value');
    }
  },
});
parked.set(NaN);

/** Serves rfy_tours_parked from this database until stop(). */
export function trackParkedTours(knex: Knex, logger: Logger, opts: { maxAgeMs?: number } = {}): { stop(): void } {
  const mine = { knex, logger, maxAgeMs: opts.maxAgeMs ?? 30_000 };
  source = mine;
  readAt = 0;
  return {
    stop() {
      if (source === mine) source = undefined;
    },
  };
}
