import type { Knex } from 'knex';
import type { BookingNotice, BookingNoticeFacts } from '../contracts/bookings';
import type { ProcessingStep, TourNoticeKind } from '../contracts/tours';
import {
  BOOKING_NOTICE_EVENTS,
  FINAL_WEBHOOK_DELIVERY_STATUSES,
  PROCESSING_STEP_EVENTS,
  TOUR_NOTICE_EVENTS,
  WEBHOOK_DELIVERY_STATUS,
  domainEventKeys,
  webhookDisabledNoticeKey,
  webhookMessageId,
  type WebhookAttemptResult,
  type WebhookEventType,
  type WebhookPayload,
} from '../contracts/webhooks';
import type { Notifier } from '../adapters/email/notifier';
import { HttpWebhookTransport } from '../adapters/webhooks/http';
import type { WebhookTransport } from '../adapters/webhooks/port';
import { signWebhook } from '../adapters/webhooks/signing';
import { recordAudit } from '../db/audit';
import { bookingsRepository } from '../db/repositories/bookings.repository';
import { domainEventsRepository, recordDomainEvent } from '../db/repositories/domain-events.repository';
import { toursRepository, type TourRecord } from '../db/repositories/tours.repository';
import { usersRepository } from '../db/repositories/users.repository';
import { webhooksRepository } from '../db/repositories/webhooks.repository';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { counter, histogram } from '../lib/metrics';
import { permanentRefusal } from './email-refusal';

/**
 * Signed outbound webhooks, worker side: recording domain events where facts become true
 * (the hooks below, called from the booking and tour activities), and the delivery
 * workflow's activities. Every one is safe to retry: events have natural keys, attempts
 * are keyed by their number, and the disabled-endpoint email goes through the ledger.
 */

const webhookAttempts = counter({
  name: 'rfy_webhook_attempts_total',
  help: 'Webhook delivery attempts by outcome: delivered, retrying (failed, another attempt scheduled), failed (no attempt left)',
  labelNames: ['outcome'] as const,
});
const webhookAttemptSeconds = histogram({
  name: 'rfy_webhook_attempt_seconds',
  help: 'Length of one webhook delivery attempt (resolving, connecting, redirects, reading the answer\'s start)',
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
});

// Domain events: the hooks ------------------------------------------------------------------

/**
 * A booking notice's fact as an event (booking.requested, .confirmed, ...; a reminder is
 * none). Called by sendBookingNotice, which runs once per fact: its natural key is the
 * notice's, so a retried notice records nothing new.
 */
export async function recordBookingNoticeEvent(knex: Knex, n: BookingNotice, facts: BookingNoticeFacts): Promise<void> {
  const type = BOOKING_NOTICE_EVENTS[n.kind];
  if (!type) return;
  const booking = await bookingsRepository(knex).find(n.bookingId);
  if (!booking) return;
  const b = facts.booking;
  await recordDomainEvent(knex, {
    type,
    naturalKey: domainEventKeys.booking(n.bookingId, n.kind, n.discriminator),
    realtorId: booking.realtor_id,
    propertyId: booking.property_id,
    data: {
      booking: {
        id: b.id,
        scheduled_at: b.scheduled_at.toISOString(),
        ends_at: b.ends_at.toISOString(),
        duration_minutes: b.duration_minutes,
        ...(n.previousScheduledAt ? { previous_scheduled_at: new Date(n.previousScheduledAt).toISOString() } : {}),
        notes: b.notes,
        decline_reason: b.decline_reason,
        cancellation_reason: b.cancellation_reason,
      },
      property: { id: booking.property_id, address: facts.property.address, city: facts.property.city },
      buyer: { id: facts.buyer.id, name: facts.buyer.name, email: facts.buyer.email },
      realtor: { id: facts.realtor.id, name: facts.realtor.name },
      tour_id: facts.tourId,
    },
  });
}

/** The tour, its listing and its people, as every tour event carries them. */
async function tourEventBase(knex: Knex, tourId: number) {
  const tours = toursRepository(knex);
  const [tour, facts] = await Promise.all([tours.find(tourId), tours.facts(tourId)]);
  if (!tour || !facts) return undefined;
  return {
    tour,
    data: {
      tour: {
        id: tour.id,
        booking_id: tour.booking_id,
        scheduled_at: tour.scheduled_at.toISOString(),
        duration_minutes: tour.duration_minutes,
        started_at: tour.started_at?.toISOString() ?? null,
        ended_at: tour.ended_at?.toISOString() ?? null,
      },
      property: { id: tour.property_id, address: facts.address },
      buyer: { id: facts.buyer_id, name: facts.buyer_name, email: facts.buyer_email },
      realtor: { id: facts.realtor_id, name: facts.realtor_name },
    } as Record<string, unknown>,
  };
}

async function recordTourEvent(knex: Knex, tourId: number, type: WebhookEventType, extra: (tour: TourRecord) => Promise<Record<string, unknown>> = async () => ({})) {
  const base = await tourEventBase(knex, tourId);
  if (!base) return;
  await recordDomainEvent(knex, {
    type,
    naturalKey: domainEventKeys.tour(tourId, type),
    realtorId: base.tour.realtor_id,
    propertyId: base.tour.property_id,
    data: { ...base.data, ...(await extra(base.tour)) },
  });
}

/** tour.started / tour.ended, from sendTourNotice (once per tour and kind). */
export async function recordTourNoticeEvent(knex: Knex, tourId: number, kind: TourNoticeKind): Promise<void> {
  await recordTourEvent(knex, tourId, TOUR_NOTICE_EVENTS[kind]);
}

/**
 * recording.ready, transcript.ready, summary.ready: from the pipeline step that made it,
 * when it is done (a skipped step is no event). Once per tour, an operator's retry included.
 */
export async function recordTourStepEvent(knex: Knex, tourId: number, step: ProcessingStep): Promise<void> {
  const type = PROCESSING_STEP_EVENTS[step];
  if (!type) return;
  const tours = toursRepository(knex);
  await recordTourEvent(knex, tourId, type, async (tour) => {
    if (step === 'recording') {
      const r = await tours.recordings.find(tour.id);
      return { recording: r ? { source: r.source, content_type: r.content_type, duration_seconds: r.duration_seconds, file_size_bytes: r.file_size_bytes } : null };
    }
    if (step === 'transcription') {
      const t = await tours.transcripts.find(tour.id);
      return {
        transcript: t
          ? { language: t.language, model: t.model, confidence: t.confidence_score === null ? null : Number(t.confidence_score), segment_count: t.segments?.length ?? 0 }
          : null,
      };
    }
    return { summary: tour.summary };
  });
}

// The delivery workflow's activities --------------------------------------------------------

export interface WebhookActivityDeps {
  knex: Knex;
  notifier: Notifier;
  logger: Logger;
  transport: WebhookTransport;
  /** Where clients reach the API (the link in the disabled-endpoint email). */
  publicBaseUrl: string;
}

export interface WebhookAttempt {
  deliveryId: number;
  /** 1-based, as the workflow counts them. */
  attempt: number;
  /** The workflow's time of the attempt: the failing window is measured on the same clock as its timers. */
  at: string;
  /** When the next attempt is due if this one fails; null when this is the last. */
  nextAttemptAt: string | null;
  disableAfterMs: number;
}

/** The transport the configuration asks for. */
export function webhookTransportFor(config: Pick<Config, 'webhooks'>): WebhookTransport {
  return new HttpWebhookTransport({ allowPrivate: config.webhooks.allowPrivate, timeoutMs: config.webhooks.timeoutMs });
}

const hours = (ms: number) => Math.round((ms / 3_600_000) * 100) / 100;

export function createWebhookActivities(deps: WebhookActivityDeps) {
  const { knex, logger } = deps;

  return {
    /**
     * One attempt: signs the event's payload for the endpoint, POSTs it, and records the
     * outcome. A failure moves the endpoint's failing window; once it has failed for
     * `disableAfterMs` the endpoint is disabled (audit-logged) and the workflow told to
     * email its owner. A delivery already finished (a retried activity) answers its outcome.
     */
    async attemptWebhookDelivery(a: WebhookAttempt): Promise<WebhookAttemptResult> {
      const repo = webhooksRepository(knex);
      const delivery = await repo.deliveries.find(a.deliveryId);
      if (!delivery) return { outcome: 'gone', endpointDisabled: false, endpointId: null };
      if (FINAL_WEBHOOK_DELIVERY_STATUSES.includes(delivery.status)) {
        return { outcome: delivery.status === WEBHOOK_DELIVERY_STATUS.delivered ? 'delivered' : 'failed', endpointDisabled: false, endpointId: delivery.endpoint_id };
      }
      const [endpoint, event] = await Promise.all([repo.endpoints.find({}, delivery.endpoint_id), domainEventsRepository(knex).find(delivery.event_id)]);
      if (!endpoint || !event) return { outcome: 'gone', endpointDisabled: false, endpointId: delivery.endpoint_id };
      const at = new Date(a.at);

      if (!endpoint.enabled) {
        await repo.deliveries.update(delivery.id, { status: WEBHOOK_DELIVERY_STATUS.failed, failed_at: at, next_attempt_at: null, last_error: 'The endpoint is disabled' });
        webhookAttempts.inc({ outcome: 'failed' });
        return { outcome: 'failed', endpointDisabled: false, endpointId: endpoint.id };
      }

      const payload: WebhookPayload = { type: event.type, timestamp: event.occurred_at.toISOString(), data: event.payload };
      const body = JSON.stringify(payload);
      // Signed with the real time of sending: receivers check it against their own clock.
      const headers = signWebhook(endpoint.secret, webhookMessageId(event.public_id), new Date(), body);
      const res = await deps.transport.post({ url: endpoint.url, body, headers });
      webhookAttemptSeconds.observe(res.durationMs / 1000);

      const result = await knex.transaction(async (trx) => {
        const tx = webhooksRepository(trx);
        const locked = await tx.deliveries.find(delivery.id, { forUpdate: true });
        const ep = await tx.endpoints.find({}, delivery.endpoint_id, { forUpdate: true });
        if (!locked || !ep) return { outcome: 'gone', endpointDisabled: false, endpointId: delivery.endpoint_id } satisfies WebhookAttemptResult;
        await tx.attempts.record(delivery.id, {
          attempt: a.attempt,
          attempted_at: at,
          response_status: res.status,
          error: res.error?.slice(0, 1000) ?? null,
          response_excerpt: res.excerpt,
          duration_ms: res.durationMs,
        });
        const common = { attempts: Math.max(locked.attempts, a.attempt), last_status_code: res.status, last_error: res.error?.slice(0, 1000) ?? null, last_attempt_at: at };

        if (!res.ok && FINAL_WEBHOOK_DELIVERY_STATUSES.includes(locked.status)) {
          // Ended while this attempt was out (its endpoint was disabled): it stays as it ended.
          await tx.deliveries.update(delivery.id, common);
          return { outcome: 'failed', endpointDisabled: false, endpointId: ep.id } satisfies WebhookAttemptResult;
        }
        if (res.ok) {
          await tx.deliveries.update(delivery.id, { ...common, status: WEBHOOK_DELIVERY_STATUS.delivered, delivered_at: at, next_attempt_at: null });
          if (!ep.last_success_at || ep.last_success_at < at) await tx.endpoints.update(ep.id, { failing_since: null, last_success_at: at });
          return { outcome: 'delivered', endpointDisabled: false, endpointId: ep.id } satisfies WebhookAttemptResult;
        }

        // A later success (another delivery) outranks this failure.
        const succeededSince = ep.last_success_at !== null && ep.last_success_at >= at;
        const failingSince = succeededSince ? null : (ep.failing_since ?? at);
        if (!succeededSince && !ep.failing_since) await tx.endpoints.update(ep.id, { failing_since: at });
        const disabled = ep.enabled && failingSince !== null && at.getTime() - failingSince.getTime() >= a.disableAfterMs;
        const last = a.nextAttemptAt === null || disabled;
        await tx.deliveries.update(delivery.id, {
          ...common,
          ...(last ? { status: WEBHOOK_DELIVERY_STATUS.failed, failed_at: at, next_attempt_at: null } : { next_attempt_at: new Date(a.nextAttemptAt!) }),
        });
        if (disabled) {
          const reason = `Every delivery failed for ${hours(a.disableAfterMs)} hours (since ${failingSince.toISOString()}); last error: ${res.error ?? 'unknown'}`.slice(0, 500);
          await tx.endpoints.update(ep.id, { enabled: false, disabled_at: at, disabled_reason: reason });
          // Nothing more goes to it: every other delivery under way ends here too.
          await tx.deliveries.failPending(ep.id, at, 'The endpoint was disabled: every delivery failed for too long');
          await recordAudit(trx, {
            actorId: null,
            action: 'webhook_endpoint_disabled',
            resourceType: 'webhook_endpoint',
            resourceId: ep.id,
            details: { reason, failing_since: failingSince.toISOString(), delivery_id: delivery.id },
          });
        }
        return { outcome: last ? 'failed' : 'retrying', endpointDisabled: disabled, endpointId: ep.id } satisfies WebhookAttemptResult;
      });
      if (result.outcome !== 'gone') webhookAttempts.inc({ outcome: result.outcome });
      if (result.endpointDisabled) logger.warn({ endpointId: result.endpointId, deliveryId: delivery.id }, 'webhook endpoint disabled after failing for the whole window');
      return result;
    },

    /** Tells a disabled endpoint's owner, once per disabling (the ledger's key); nothing if it was enabled again or deleted. */
    async notifyWebhookEndpointDisabled(endpointId: number): Promise<void> {
      const endpoint = await webhooksRepository(knex).endpoints.find({}, endpointId);
      if (!endpoint || endpoint.enabled || !endpoint.disabled_at) return;
      const owner = await usersRepository(knex).findById(endpoint.owner_id);
      if (!owner || owner.deleted_at) return;
      const area = owner.role === 'admin' ? 'admin' : 'realtors';
      const refused = await permanentRefusal(
        deps.notifier.send({
          idempotencyKey: webhookDisabledNoticeKey(endpointId, endpoint.disabled_at),
          template: 'webhook-endpoint-disabled',
          to: owner.email,
          recipientUserId: owner.id,
          vars: {
            recipient_name: owner.full_name,
            endpoint_url: endpoint.url,
            disabled_reason: endpoint.disabled_reason ?? '',
            manage_url: `${deps.publicBaseUrl}/api/v1/${area}/webhooks/${endpoint.id}`,
          },
        }),
      );
      if (refused) logger.warn({ err: refused, endpointId }, 'webhook disabled notice refused by the email provider');
    },
  };
}
