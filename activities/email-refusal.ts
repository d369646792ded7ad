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
