import { collectProcessMetrics, exposition } from '../../lib/metrics';
import { createLogger } from '../../lib/logger';
import { loadConfig } from '../../lib/config';
import { trackParkedTours } from '../../workers/state-metrics';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { insertProperty, insertTour } from '../support/factories';
import { parseExposition } from './exposition';

/**
 * rfy_tours_parked (alert RfyToursParked) is read from the tours table when scraped: the
 * number of tours whose processing failed for good, whatever process parked them.
 */
describe('parked tours gauge', () => {
  let db: TestDatabase;
  const logger = createLogger(loadConfig({ ...process.env, LOG_LEVEL: 'silent' }), 'test');
  const parked = async () => parseExposition(await exposition()).find('rfy_tours_parked').map((s) => s.value);

  beforeAll(async () => {
    db = await createTestDatabase();
    collectProcessMetrics();
  });
  afterAll(() => db?.destroy());

  it('when tours are parked and one is retried, then the gauge follows the table; between reads it serves the last value', async () => {
    const tracker = trackParkedTours(db.knex, logger, { maxAgeMs: 0 });
    try {
      expect(await parked()).toEqual([0]);
      const { id: propertyId } = await insertProperty(db.knex);
      const a = await insertTour(db.knex, { property_id: propertyId, status: 'processing_failed' });
      await insertTour(db.knex, { property_id: propertyId, status: 'processing_failed' });
      await insertTour(db.knex, { property_id: propertyId, status: 'processing' });
      expect(await parked()).toEqual([2]);
      await db.knex('tours').where({ id: a.tourId }).update({ status: 'processing' });
      expect(await parked()).toEqual([1]);
    } finally {
      tracker.stop();
    }
    // Read at most every maxAgeMs: a change inside that window shows at the next read.
    const slow = trackParkedTours(db.knex, logger, { maxAgeMs: 60_000 });
    try {
      expect(await parked()).toEqual([1]);
      await db.knex('tours').update({ status: 'processing' });
      expect(await parked()).toEqual([1]);
    } finally {
      slow.stop();
    }
  });

  it('when the database cannot be read, then the scrape still succeeds with the last value', async () => {
    const broken = await createTestDatabase();
    const { id: propertyId } = await insertProperty(broken.knex);
    await insertTour(broken.knex, { property_id: propertyId, status: 'processing_failed' });
    const tracker = trackParkedTours(broken.knex, logger, { maxAgeMs: 0 });
    try {
      expect(await parked()).toEqual([1]);
      await broken.destroy();
      expect(await parked()).toEqual([1]);
    } finally {
      tracker.stop();
    }
  });
});
