import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createBookingActivities } from '../../activities/bookings.activities';
import { LocalEmailSender } from '../../adapters/email/local';
import { Notifier } from '../../adapters/email/notifier';
import { BOOKING_REMINDER_LEAD_MS, type BookingNotice } from '../../contracts/bookings';
import { createLogger } from '../../lib/logger';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { insertBooking, insertProperty, insertUser } from '../support/factories';

/**
 * The reminder's activity as the booking workflow starts it ahead of its time
 * (REMINDER_AT_DUE_PATCH): inside an activity context, against real PostgreSQL and the
 * local outbox. It waits until `sendAt`, then sends only to a booking still confirmed for
 * the time it reminds of.
 */

const HOUR = 3_600_000;

describe('sendBookingNotice for a reminder started ahead of its time', () => {
  let db: TestDatabase;
  let dir: string;
  let activities: ReturnType<typeof createBookingActivities>;
  let property: number;
  let slot = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = mkdtempSync(path.join(tmpdir(), 'rfy-reminder-'));
    const logger = createLogger({ logLevel: 'warn', env: 'production' }, 'test');
    const notifier = new Notifier({ knex: db.knex, sender: new LocalEmailSender({ outboxDir: dir, logger }), from: 'test@example.com', logger });
    activities = createBookingActivities({ knex: db.knex, notifier, logger });
    const realtor = (await insertUser(db.knex, 'realtor')).id;
    property = (await insertProperty(db.knex, { realtor_id: realtor, status: 'active' })).id;
  });

  afterAll(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A confirmed booking of its own hour, and the reminder notice for its time, due in `dueInMs`. */
  async function confirmedBooking(dueInMs: number): Promise<{ bookingId: number; notice: BookingNotice; dueAt: number }> {
    slot += 1;
    const scheduledAt = new Date(Date.now() + slot * 3 * HOUR);
    const booking = await insertBooking(db.knex, { property_id: property, scheduled_at: scheduledAt, status: 'confirmed' });
    const dueAt = Date.now() + dueInMs;
    return {
      bookingId: booking.id,
      dueAt,
      notice: { bookingId: booking.id, kind: 'reminder', discriminator: scheduledAt.toISOString(), sendAt: new Date(dueAt).toISOString() },
    };
  }

  const ledger = (bookingId: number) => db.knex('notifications').where('idempotency_key', 'like', `booking:${bookingId}:reminder:%`).select('status', 'sent_at');

  it('when its time is ahead, then it waits until sendAt and sends to both sides, each once', async () => {
    const { bookingId, notice, dueAt } = await confirmedBooking(600);
    await expect(new MockActivityEnvironment().run(activities.sendBookingNotice, notice)).resolves.toEqual({ sent: 2, failed: 0 });
    const rows = await ledger(bookingId);
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r.status).toBe('sent');
      expect(new Date(r.sent_at).getTime()).toBeGreaterThanOrEqual(dueAt - 5);
    }
    // A retry (the activity run again) sends nothing new.
    await expect(new MockActivityEnvironment().run(activities.sendBookingNotice, notice)).resolves.toEqual({ sent: 2, failed: 0 });
    expect(await ledger(bookingId)).toHaveLength(2);
  });

  it('when the booking was cancelled while the reminder waited, then nothing is sent', async () => {
    const { bookingId, notice } = await confirmedBooking(300);
    const run = new MockActivityEnvironment().run(activities.sendBookingNotice, notice);
    await db.knex('bookings').where({ id: bookingId }).update({ status: 'cancelled' });
    await expect(run).resolves.toEqual({ sent: 0, failed: 0 });
    expect(await ledger(bookingId)).toEqual([]);
  });

  it('when the booking was moved while the reminder waited, then nothing is sent for the old time', async () => {
    const { bookingId, notice } = await confirmedBooking(300);
    const run = new MockActivityEnvironment().run(activities.sendBookingNotice, notice);
    const moved = new Date(Date.parse(notice.discriminator) + 24 * HOUR);
    await db.knex('bookings').where({ id: bookingId }).update({ scheduled_at: moved, ends_at: new Date(moved.getTime() + 30 * 60_000) });
    await expect(run).resolves.toEqual({ sent: 0, failed: 0 });
    expect(await ledger(bookingId)).toEqual([]);
  });

  it('when the activity is cancelled while it waits, then it stops at once and nothing is sent', async () => {
    const { bookingId, notice } = await confirmedBooking(60_000);
    const env = new MockActivityEnvironment();
    const run = env.run(activities.sendBookingNotice, notice);
    const started = Date.now();
    env.cancel();
    await expect(run).rejects.toBeInstanceOf(CancelledFailure);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await ledger(bookingId)).toEqual([]);
  });

  it('when its time has passed (confirmed late), then it sends at once', async () => {
    const { bookingId, notice } = await confirmedBooking(-BOOKING_REMINDER_LEAD_MS / 3);
    const started = Date.now();
    await expect(new MockActivityEnvironment().run(activities.sendBookingNotice, notice)).resolves.toEqual({ sent: 2, failed: 0 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await ledger(bookingId)).toHaveLength(2);
  });
});
