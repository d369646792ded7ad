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
import { ScriptedEmailSender } from '../support/scripted-email-sender';

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
  let realtorEmail: string;
  let slot = 0;
  const logger = createLogger({ logLevel: 'silent', env: 'test' }, 'test');

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = mkdtempSync(path.join(tmpdir(), 'rfy-reminder-'));
    const notifier = new Notifier({ knex: db.knex, sender: new LocalEmailSender({ outboxDir: dir, logger }), from: 'test@example.com', logger });
    activities = createBookingActivities({ knex: db.knex, notifier, logger });
    const realtor = await insertUser(db.knex, 'realtor');
    realtorEmail = realtor.email;
    property = (await insertProperty(db.knex, { realtor_id: realtor.id, status: 'active' })).id;
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

  /** The activities with `sender` as the mail provider. */
  const withSender = (sender: ScriptedEmailSender) =>
    createBookingActivities({ knex: db.knex, notifier: new Notifier({ knex: db.knex, sender, from: 'test@example.com', logger }), logger });

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

  it('when its time comes, then both sides are handed to the provider at once, not one after the other', async () => {
    const { bookingId, notice } = await confirmedBooking(0);
    const sender = new ScriptedEmailSender(200);
    await expect(new MockActivityEnvironment().run(withSender(sender).sendBookingNotice, notice)).resolves.toEqual({ sent: 2, failed: 0 });
    expect(sender.handed).toHaveLength(2);
    expect(sender.maxInFlight).toBe(2);
    expect((await ledger(bookingId)).map((r) => r.status)).toEqual(['sent', 'sent']);
  });

  it('when the provider refuses one side for good, then the other is still sent and the refusal counted', async () => {
    const { bookingId, notice } = await confirmedBooking(0);
    const sender = new ScriptedEmailSender().for(realtorEmail, 'permanent');
    await expect(new MockActivityEnvironment().run(withSender(sender).sendBookingNotice, notice)).resolves.toEqual({ sent: 1, failed: 1 });
    expect((await ledger(bookingId)).map((r) => r.status).sort()).toEqual(['failed', 'sent']);
  });

  it('when the provider fails one side for now, then the attempt fails after the other was sent, and its retry sends only the one left', async () => {
    const { bookingId, notice } = await confirmedBooking(0);
    const failing = new ScriptedEmailSender().for(realtorEmail, 'transient');
    await expect(new MockActivityEnvironment().run(withSender(failing).sendBookingNotice, notice)).rejects.toThrow('provider unavailable');
    expect((await ledger(bookingId)).map((r) => r.status).sort()).toEqual(['pending', 'sent']);

    const retry = new ScriptedEmailSender();
    await expect(new MockActivityEnvironment().run(withSender(retry).sendBookingNotice, notice)).resolves.toEqual({ sent: 2, failed: 0 });
    expect(retry.handed.map((m) => m.to)).toEqual([realtorEmail]);
    expect((await ledger(bookingId)).map((r) => r.status)).toEqual(['sent', 'sent']);
  });
});
