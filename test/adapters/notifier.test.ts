import { EmailPermanentError } from '../../adapters/email/port';
import { Notifier, type Notification } from '../../adapters/email/notifier';
import { createLogger } from '../../lib/logger';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { ScriptedEmailSender } from '../support/scripted-email-sender';

/**
 * The email ledger (the `notifications` table) against real PostgreSQL: each idempotency
 * key is handed to the provider until it is sent once, never after, and never again after
 * the provider refused it for good; every hand-over is counted as an attempt.
 */

describe('Notifier (the email ledger)', () => {
  let db: TestDatabase;
  const logger = createLogger({ logLevel: 'silent', env: 'test' }, 'test');
  let n = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db.destroy();
  });

  function notification(): Notification {
    n += 1;
    return {
      idempotencyKey: `test:notifier:${n}`,
      template: 'booking-confirmed',
      to: `person${n}@example.com`,
      vars: { recipient_name: 'Pat', other_party_name: 'Sam', property_address: '1 Main St', when: 'Monday 10:00', duration_minutes: 30 },
    };
  }

  function setup(sender: ScriptedEmailSender) {
    return new Notifier({ knex: db.knex, sender, from: 'test@example.com', logger });
  }

  /** What `fn` resolves with, and the SQL statements it ran. */
  async function counting<T>(fn: () => Promise<T>): Promise<{ result: T; sql: string[] }> {
    const sql: string[] = [];
    const listen = (q: { sql: string }) => sql.push(q.sql);
    db.knex.on('query', listen);
    try {
      return { result: await fn(), sql };
    } finally {
      db.knex.removeListener('query', listen);
    }
  }

  const row = (key: string) =>
    db.knex('notifications').where({ idempotency_key: key }).first('status', 'attempts', 'provider_message_id', 'last_error', 'subject', 'recipient', 'sent_at');

  it('when a key is sent, then its row is sent after one attempt, and sending it again hands nothing to the provider', async () => {
    const sender = new ScriptedEmailSender();
    const notifier = setup(sender);
    const mail = notification();

    const statements = await counting(() => notifier.send(mail));
    expect(statements.result).toEqual({ status: 'sent', messageId: 'msg-1' });
    // The ledger's claim (insert, or one more attempt of a pending row) and the mark as sent.
    expect(statements.sql).toHaveLength(2);
    expect(await row(mail.idempotencyKey)).toMatchObject({
      status: 'sent',
      attempts: 1,
      provider_message_id: 'msg-1',
      last_error: null,
      subject: 'Confirmed: your tour of 1 Main St',
      recipient: mail.to,
    });

    await expect(notifier.send(mail)).resolves.toEqual({ status: 'already_sent', messageId: 'msg-1' });
    expect(sender.handed).toHaveLength(1);
    expect((await row(mail.idempotencyKey))!.attempts).toBe(1);
  });

  it('when the provider fails for now, then the row stays pending with the error, and the next send hands it over again and counts the attempt', async () => {
    const sender = new ScriptedEmailSender().then('transient', 'ok');
    const notifier = setup(sender);
    const mail = notification();

    await expect(notifier.send(mail)).rejects.toThrow('provider unavailable');
    expect(await row(mail.idempotencyKey)).toMatchObject({ status: 'pending', attempts: 1, last_error: 'provider unavailable', sent_at: null });

    await expect(notifier.send(mail)).resolves.toEqual({ status: 'sent', messageId: 'msg-2' });
    expect(await row(mail.idempotencyKey)).toMatchObject({ status: 'sent', attempts: 2, last_error: null, provider_message_id: 'msg-2' });
    expect(sender.handed.map((m) => m.idempotencyKey)).toEqual([mail.idempotencyKey, mail.idempotencyKey]);
  });

  it('when the provider refuses a key for good, then it is never handed over again', async () => {
    const sender = new ScriptedEmailSender().then('permanent');
    const notifier = setup(sender);
    const mail = notification();

    await expect(notifier.send(mail)).rejects.toBeInstanceOf(EmailPermanentError);
    await expect(notifier.send(mail)).resolves.toEqual({ status: 'failed_before', error: 'mailbox does not exist' });
    expect(sender.handed).toHaveLength(1);
    expect(await row(mail.idempotencyKey)).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('when two keys are sent at once, then each has its own row, sent once', async () => {
    const sender = new ScriptedEmailSender();
    const notifier = setup(sender);
    const [a, b] = [notification(), notification()];

    await Promise.all([notifier.send(a), notifier.send(b)]);
    for (const mail of [a, b]) expect(await row(mail.idempotencyKey)).toMatchObject({ status: 'sent', attempts: 1 });
    expect(sender.handed.map((m) => m.to).sort()).toEqual([a.to, b.to].sort());
  });
});
