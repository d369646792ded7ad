import { log, proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { webhookAttemptOffsets, type WebhookAttemptResult, type WebhookDeliveryInput } from '../contracts/webhooks';
import { EMAIL_OPTIONS } from './activity-options';

/**
 * One per webhook delivery (id `webhook-delivery-<deliveryId>`): attempts it on the
 * Standard Webhooks schedule (contracts/webhooks.ts webhookAttemptOffsets) with durable
 * timers, so every attempt is a numbered, recorded step and the 24-hour window survives
 * worker restarts; then marks it failed. When an attempt's failure disables the endpoint,
 * its owner is emailed.
 *
 * The HTTP attempt itself is not retried by Temporal: a failed POST is an outcome (the
 * activity returns it), and the next one waits for its turn in the schedule. The activity
 * retries only when it could not record an outcome (the database briefly away).
 */

const http = proxyActivities<Activities>({
  // WEBHOOKS_TIMEOUT_MS is at most 30 s for the whole attempt; the rest is the database.
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

const mail = proxyActivities<Activities>(EMAIL_OPTIONS);

export async function webhookDeliveryWorkflow(input: WebhookDeliveryInput): Promise<WebhookAttemptResult> {
  const offsets = webhookAttemptOffsets(input.retryWindowMs);
  const start = Date.now();
  for (let i = 0; ; i += 1) {
    const next = offsets[i + 1];
    const result = await http.attemptWebhookDelivery({
      deliveryId: input.deliveryId,
      attempt: i + 1,
      at: new Date(Date.now()).toISOString(),
      nextAttemptAt: next === undefined ? null : new Date(start + next).toISOString(),
      disableAfterMs: input.disableAfterMs,
    });
    if (result.endpointDisabled && result.endpointId !== null) {
      try {
        await mail.notifyWebhookEndpointDisabled(result.endpointId);
      } catch (err) {
        log.warn('webhook disabled notice not sent', { endpointId: result.endpointId, error: String(err) });
      }
    }
    if (result.outcome !== 'retrying' || next === undefined) return result;
    // Due at its place in the schedule, however long this attempt took.
    const wait = start + next - Date.now();
    if (wait > 0) await sleep(wait);
  }
}
