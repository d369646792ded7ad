import type { Knex } from 'knex';
import type { Logger } from '../../lib/logger';
import { counter } from '../../lib/metrics';
import { EmailPermanentError, type EmailSender } from './port';
import { renderEmail } from './templates';

/**
 * Sends an email at most once per idempotency key: the notifications row is written
 * before the provider is called, and a key already marked sent is not sent again.
 */
export interface Notification {
  idempotencyKey: string;
  template: string;
  to: string;
  recipientUserId?: number | null;
  vars: Record<string, string | number>;
  attachments?: Array<{ filename: string; contentType: string; content: Buffer }>;
}

export type NotifyResult =
  | { status: 'sent'; messageId: string }
  | { status: 'already_sent'; messageId: string | null }
  | { status: 'failed_before'; error: string | null };

const notifications = counter({
  name: 'rfy_notifications_total',
  help: 'Emails handed to the provider by template (kind), provider and outcome: sent, or failed (permanent refusal / transient, retried)',
  labelNames: ['kind', 'provider', 'outcome'] as const,
});

export class Notifier {
  constructor(
    private readonly deps: { knex: Knex; sender: EmailSender; from: string; logger: Logger },
  ) {}

  async send(n: Notification): Promise<NotifyResult> {
    const { knex, sender, from, logger } = this.deps;
    const rendered = await renderEmail(n.template, n.vars);
    const row = await this.claim(n, rendered.subject);
    if (row.status === 'sent') return { status: 'already_sent', messageId: row.provider_message_id };
    // The provider refused this one for good: sending it again would be refused again.
    if (row.status === 'failed') return { status: 'failed_before', error: row.last_error };

    try {
      const { messageId } = await sender.send(from, { to: n.to, ...rendered, idempotencyKey: n.idempotencyKey, attachments: n.attachments });
      await knex('notifications').where({ id: row.id }).update({ status: 'sent', provider_message_id: messageId, sent_at: new Date(), last_error: null });
      notifications.inc({ kind: n.template, provider: sender.name, outcome: 'sent' });
      logger.info({ key: n.idempotencyKey, template: n.template, provider: sender.name }, 'email sent');
      return { status: 'sent', messageId };
    } catch (err) {
      const permanent = err instanceof EmailPermanentError;
      await knex('notifications')
        .where({ id: row.id })
        .update({ status: permanent ? 'failed' : 'pending', last_error: String((err as Error).message).slice(0, 2000) });
      notifications.inc({ kind: n.template, provider: sender.name, outcome: permanent ? 'failed_permanent' : 'failed_transient' });
      throw err;
    }
  }

  /**
   * The key's ledger row, with this attempt counted when it is still to be sent: one
   * statement (insert, or count one more attempt of a pending row) where a first send used to
   * take three (insert, read, increment). A row already sent or refused is left as it is
   * and read back.
   */
  private async claim(n: Notification, subject: string): Promise<LedgerRow> {
    const { knex } = this.deps;
    const [claimed] = await knex('notifications')
      .insert({
        idempotency_key: n.idempotencyKey,
        channel: 'email',
        template: n.template,
        recipient_user_id: n.recipientUserId ?? null,
        recipient: n.to,
        subject,
        status: 'pending',
        attempts: 1,
        payload: JSON.stringify({ vars: n.vars }),
      })
      .onConflict('idempotency_key')
      .merge({ attempts: knex.raw('?? + 1', ['notifications.attempts']) })
      .where('notifications.status', 'pending')
      .returning<LedgerRow[]>(LEDGER_COLUMNS);
    if (claimed) return claimed;
    return (await knex('notifications').where({ idempotency_key: n.idempotencyKey }).first<LedgerRow>(LEDGER_COLUMNS))!;
  }
}

const LEDGER_COLUMNS = ['id', 'status', 'provider_message_id', 'last_error'];

interface LedgerRow {
  id: number;
  status: string;
  provider_message_id: string | null;
  last_error: string | null;
}
