import { readOutbox } from '../support/outbox';
import { bookingStateQuery, bookingWorkflowId } from '../../contracts/bookings';
import { confirmBooking, createBuyer, createProperty, createRealtor, requestBooking, serverSlot, type SignedIn } from '../support/factories';
import { RestartableWorker } from '../support/restartable-worker';
import { notifierStuckAt } from '../support/stuck-notifier';
import { startTestSystem, type TestSystem } from '../support/system';
import { serverClock } from '../support/temporal';
import { eventually } from '../support/wait';

/**
 * The 15-minute reminder survives worker restarts: the real app over HTTP, the real
 * activities against Postgres and the local outbox, the BookingWorkflow on the
 * time-skipping server. Workers come and go; every new one rebuilds the booking's state
 * by replaying its history, and each party still gets exactly one reminder.
 */

const MINUTE = 60_000;

interface NotificationRow {
  idempotency_key: string;
  template: string;
  recipient: string;
  status: string;
  attempts: number;
}

describe('BookingWorkflow reminder across worker restarts (real app and activities)', () => {
  let sys: TestSystem;
  let worker: RestartableWorker;
  let buyer: SignedIn;
  let realtor: SignedIn;
  let propertyId: number;
  const { sleepUntil } = serverClock(() => sys.env);

  beforeAll(async () => {
    sys = await startTestSystem();
    worker = new RestartableWorker(sys.env, sys.t, sys.db.knex);
    sys.onStop(() => worker.running && worker.stop());
    [buyer, realtor] = await Promise.all([createBuyer(sys.t), createRealtor(sys.t)]);
    propertyId = await createProperty(sys.t, realtor, { address: '5 Restart Row', city: 'Springfield' });
  });

  afterAll(() => sys?.stop());

  const notifications = (bookingId: number, kind: string): Promise<NotificationRow[]> =>
    sys.db.knex('notifications').where('idempotency_key', 'like', `booking:${bookingId}:${kind}:%`).orderBy('recipient');

  const reminderMails = async (bookingId: number) =>
    (await readOutbox(sys.t.config.email.outboxDir)).filter((m) => m.idempotencyKey.startsWith(`booking:${bookingId}:reminder:`));

  /**
   * The notices the workflow asked for, from its history (the ledger would hide a
   * duplicate), each with the attempt that finally ran it.
   */
  async function noticeActivities(bookingId: number): Promise<Array<{ kind: string; attempt: number | undefined }>> {
    const events = (await sys.env.client.workflow.getHandle(bookingWorkflowId(bookingId)).fetchHistory()).events ?? [];
    return events.flatMap((e) => {
      const a = e.activityTaskScheduledEventAttributes;
      if (a?.activityType?.name !== 'sendBookingNotice') return [];
      const [notice] = a.input!.payloads!.map((p) => JSON.parse(Buffer.from(p.data!).toString('utf8')) as { kind: string });
      const started = events.find((s) => String(s.activityTaskStartedEventAttributes?.scheduledEventId) === String(e.eventId));
      return [{ kind: notice!.kind, attempt: started?.activityTaskStartedEventAttributes?.attempt ?? undefined }];
    });
  }

  /**
   * A booking at T (a whole hour, at least two hours of server time ahead), requested by
   * the buyer and confirmed by the realtor over HTTP, with both confirmations sent.
   */
  async function confirmedBooking(): Promise<{ id: number; T: number }> {
    const { id, scheduledAt } = await requestBooking(sys.t, buyer, propertyId, { scheduledAt: await serverSlot(sys.env) });
    await eventually('the request mail', async () => (await notifications(id, 'request')).some((n) => n.status === 'sent'));
    await confirmBooking(sys.t, realtor, id);
    expect((await sys.db.knex('bookings').where({ id }).first()).status).toBe('confirmed');
    await eventually('both confirmation mails', async () => (await notifications(id, 'confirmed')).filter((n) => n.status === 'sent').length === 2);
    return { id, T: Date.parse(scheduledAt) };
  }

  /** Exactly one reminder each, in the ledger, in the outbox and in what the workflow asked for. */
  async function expectOneReminderEach(id: number, T: number, attempt: number): Promise<NotificationRow[]> {
    const rows = await eventually('both reminders sent', async () => {
      const r = await notifications(id, 'reminder');
      return r.length === 2 && r.every((n) => n.status === 'sent') && r;
    });
    // Let anything late (a duplicate activity, a retry) happen before counting.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await notifications(id, 'reminder')).toEqual(rows);
    expect(rows.map((n) => [n.template, n.recipient, n.status])).toEqual(
      [buyer.email, realtor.email].sort().map((email) => ['booking-reminder', email, 'sent']),
    );
    for (const n of rows) expect(n.idempotency_key).toMatch(new RegExp(`^booking:${id}:reminder:${new Date(T).toISOString()}:user-\\d+$`));
    const mails = await reminderMails(id);
    expect(mails.map((m) => m.to).sort()).toEqual([buyer.email, realtor.email].sort());
    expect(mails.every((m) => m.file.endsWith('.eml'))).toBe(true);
    expect((await noticeActivities(id)).filter((n) => n.kind === 'reminder')).toEqual([{ kind: 'reminder', attempt }]);
    expect((await sys.env.client.workflow.getHandle(bookingWorkflowId(id)).query(bookingStateQuery)).reminderSentFor).toBe(new Date(T).toISOString());
    return rows;
  }

  it('when the worker is stopped while a confirmed booking waits for its reminder and time passes T−15 min, then a new worker sends exactly one reminder to each party', async () => {
    await worker.start();
    const { id, T } = await confirmedBooking();
    await worker.stop();

    // Past the reminder time with no worker: the timer fires, nothing can be sent yet.
    await sleepUntil(T - 15 * MINUTE + 5_000);
    expect(await notifications(id, 'reminder')).toEqual([]);
    expect(await reminderMails(id)).toEqual([]);

    await worker.start();
    await expectOneReminderEach(id, T, 1);
    expect((await sys.db.knex('bookings').where({ id }).first()).status).toBe('confirmed');
    await worker.stop();
  }, 120_000);

  it('when the worker is stopped half-way through the wait and again half-way through sending the reminder, then after restarting each time each party still has exactly one reminder', async () => {
    await worker.start();
    const { id, T } = await confirmedBooking();
    await worker.stop();

    // Restart 1, half-way through the wait: the new worker rebuilds the booking from history.
    await sleepUntil(T - 45 * MINUTE);
    await worker.start();
    expect(await sys.env.client.workflow.getHandle(bookingWorkflowId(id)).query(bookingStateQuery)).toMatchObject({ status: 'confirmed', reminderSentFor: null });
    expect(await notifications(id, 'reminder')).toEqual([]);
    await worker.stop();

    // A worker whose mail gets stuck after the first reminder of the two went out.
    const { notifier, stuck } = notifierStuckAt(sys.t.adapters.notifier, 'booking-reminder');
    await worker.start({ notifier });
    await sleepUntil(T - 15 * MINUTE + 5_000);
    await stuck;
    // The two go out at once: the other's send may still be finishing when this one hangs.
    await eventually('the first reminder sent', async () => (await notifications(id, 'reminder')).some((n) => n.status === 'sent'), 30_000);
    const [first, ...none] = await notifications(id, 'reminder');
    expect(none).toEqual([]);
    expect(first).toMatchObject({ template: 'booking-reminder', status: 'sent' });
    expect(await reminderMails(id)).toHaveLength(1);

    // Restart 2, half-way through the reminder activity.
    await worker.stop();
    await worker.start();
    // One reminder activity, run a second time by the new worker after the first attempt
    // was cancelled with its worker; the retry sent only what was left, so no recipient
    // went to the provider twice.
    const rows = await expectOneReminderEach(id, T, 2);
    expect(rows.map((n) => n.attempts)).toEqual([1, 1]);
    await worker.stop();
    // Three worker restarts: 25 s on a quiet machine, over 120 s on a busy one.
  }, 300_000);
});
