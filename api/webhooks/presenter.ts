import { webhookMessageId, type WebhookPayload } from '../../contracts/webhooks';
import type { WebhookAttemptRecord, WebhookDeliveryView, WebhookEndpointRecord } from '../../db/repositories/webhooks.repository';
import { resource } from '../envelope';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** An endpoint as its owner sees it: everything but the secret. */
export function presentWebhookEndpoint(e: WebhookEndpointRecord) {
  return resource('webhook_endpoint', e.id, {
    owner_id: e.owner_id,
    url: e.url,
    description: e.description,
    event_types: e.event_types,
    enabled: e.enabled,
    disabled_at: iso(e.disabled_at),
    disabled_reason: e.disabled_reason,
    failing_since: iso(e.failing_since),
    last_success_at: iso(e.last_success_at),
    created_at: e.created_at.toISOString(),
    updated_at: e.updated_at.toISOString(),
  });
}

/** The answer to a creation, the one time the secret is shown. */
export function presentCreatedWebhookEndpoint(e: WebhookEndpointRecord, secret: string) {
  const presented = presentWebhookEndpoint(e);
  return { ...presented, attributes: { ...presented.attributes, secret } };
}

function deliveryAttributes(d: WebhookDeliveryView) {
  return {
    endpoint_id: d.endpoint_id,
    event_type: d.event_type,
    message_id: webhookMessageId(d.event_public_id),
    status: d.status,
    attempts: d.attempts,
    last_status_code: d.last_status_code,
    last_error: d.last_error,
    last_attempt_at: iso(d.last_attempt_at),
    next_attempt_at: iso(d.next_attempt_at),
    delivered_at: iso(d.delivered_at),
    failed_at: iso(d.failed_at),
    redelivery_of: d.redelivery_of,
    occurred_at: d.event_occurred_at.toISOString(),
    created_at: d.created_at.toISOString(),
  };
}

export function presentWebhookDelivery(d: WebhookDeliveryView) {
  return resource('webhook_delivery', d.id, deliveryAttributes(d));
}

/** One delivery with the body it sends and every attempt. */
export function presentWebhookDeliveryDetail(d: WebhookDeliveryView, attempts: WebhookAttemptRecord[]) {
  const payload: WebhookPayload = { type: d.event_type, timestamp: d.event_occurred_at.toISOString(), data: d.event_payload };
  return resource('webhook_delivery', d.id, {
    ...deliveryAttributes(d),
    payload,
    attempt_log: attempts.map((a) => ({
      attempt: a.attempt,
      attempted_at: a.attempted_at.toISOString(),
      response_status: a.response_status,
      error: a.error,
      response_excerpt: a.response_excerpt,
      duration_ms: a.duration_ms,
    })),
  });
}
