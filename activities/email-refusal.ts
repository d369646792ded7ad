import { EmailPermanentError } from '../adapters/email/port';

/**
 * The provider's permanent refusal of an email being sent (the notifications ledger has
 * recorded it as failed: sending it again would be refused again), or null once it is sent.
 * Any other failure is thrown, for the activity to retry.
 */
export async function permanentRefusal(sending: Promise<unknown>): Promise<EmailPermanentError | null> {
  try {
    await sending;
    return null;
  } catch (err) {
    if (err instanceof EmailPermanentError) return err;
    throw err;
  }
}

export type RecipientOutcome<T> = { ok: T } | { refused: EmailPermanentError };

/**
 * Sends to several recipients at once (each has its own ledger row) and waits for them all:
 * one recipient is not held behind another's provider call. Resolves with each one's
 * outcome, in order: what it was sent with, or the provider's permanent refusal. Any other
 * failure is thrown once all were tried, for the activity's retry to send only what is left.
 */
export async function sendToAll<T>(sends: Array<Promise<T>>): Promise<Array<RecipientOutcome<T>>> {
  const settled = await Promise.allSettled(sends);
  for (const s of settled) if (s.status === 'rejected' && !(s.reason instanceof EmailPermanentError)) throw s.reason;
  return settled.map((s) => (s.status === 'fulfilled' ? { ok: s.value } : { refused: s.reason as EmailPermanentError }));
}
