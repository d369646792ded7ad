import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { WEBHOOK_SECRET_BYTES, WEBHOOK_SECRET_PREFIX } from '../../contracts/webhooks';

/**
 * Standard Webhooks signatures, made by the specification's own library: an HMAC-SHA256 of
 * `{webhook-id}.{webhook-timestamp}.{body}` under the endpoint's secret, sent as `v1,<base64>`.
 */

/** A new endpoint secret: `whsec_` and the base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(WEBHOOK_SECRET_BYTES).toString('base64')}`;
}

/** The three headers of a signed message; `at` is the attempt's time (each retry is signed anew). */
export function signWebhook(secret: string, messageId: string, at: Date, body: string): Record<string, string> {
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(messageId, at, body),
  };
}
