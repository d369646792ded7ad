import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Webhook } from 'standardwebhooks';
import {
  WEBHOOK_EVENT,
  domainEventKeys,
  webhookAttemptOffsets,
  webhookDeliverySettings,
  webhookDeliveryWorkflowId,
  type WebhookAttemptResult,
  type WebhookEventType,
} from '../../contracts/webhooks';
import { recordDomainEvent } from '../../db/repositories/domain-events.repository';
import { createLogger } from '../../lib/logger';
import { dispatchWebhookEvents, startWebhookDispatcher } from '../../workers/webhook-dispatcher';
import type { TestApp } from '../support/app';
import type { TestDatabase } from '../support/db';
import { createActivities } from '../../activities';
import { confirmBooking, createAdmin, createBuyer, createProperty, createRealtor, createTour, requestBooking, type SignedIn } from '../support/factories';
import { readOutbox } from '../support/outbox';
import { startTestSystem, type TestSystem } from '../support/system';
import { eventually } from '../support/wait';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

/**
 * Webhook deliveries end to end on the time-skipping server: facts recorded by the real
 * booking activities, the worker's dispatcher, one webhookDeliveryWorkflow per delivery with
 * the real activities, POSTing to a local receiver (WEBHOOKS_ALLOW_PRIVATE, as in
 * development; the guard itself is tested in test/adapters/webhook-transport.test.ts).
 */

const HOUR = 3_600_000;

describe('webhook deliveries (workflow, dispatcher, activities)', () => {
  let sys: TestSystem;
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  let t: TestApp;
  let receiver: WebhookReceiver;
  let realtor: SignedIn;
  let otherRealtor: SignedIn;
  let buyer: SignedIn;
  let admin: SignedIn;
  let propertyId: number;
  let event = 0;

  beforeAll(async () => {
    sys = await startTestSystem({ worker: true, config: { WEBHOOKS_ALLOW_PRIVATE: 'true' } });
    ({ db, env, t } = sys);
    receiver = await startWebhookReceiver();
    sys.onStop(() => receiver.close());
    [realtor, otherRealtor, buyer, admin] = await Promise.all([createRealtor(t, 'Rita Realtor'), createRealtor(t, 'Rob Realtor'), createBuyer(t, 'Bea Buyer'), createAdmin(t, db.knex)]);
    propertyId = await createProperty(t, realtor, { address: '12 Oak Street' });
  });

  afterAll(() => sys?.stop());

  beforeEach(async () => {
    // Facts an earlier test left undispatched go now, while no endpoint wants them.
    await dispatch();
    receiver.requests.length = 0;
    receiver.respond(() => ({ status: 200, body: 'thanks' }));
  });

  const dispatch = () =>
    dispatchWebhookEvents({ knex: db.knex, client: env.client, taskQueue: t.config.temporal.taskQueue, settings: webhookDeliverySettings(t.config), logger: createLogger(t.config, 'test-dispatcher') });

  /** Registers an endpoint through the API; returns its id and secret. */
  async function register(owner: SignedIn, path: string, types: WebhookEventType[], area: 'realtors' | 'admin' = 'realtors'): Promise<{ id: number; secret: string }> {
    const res = await sys.http().post(`/api/v1/${area}/webhooks`).set(owner.auth).send({ url: `${receiver.origin}${path}`, event_types: types });
    expect(res.status).toBe(201);
    return { id: Number(res.body.data.id), secret: res.body.data.attributes.secret };
  }

  /** A fact about `realtorId`'s listing, recorded as the activities record them. */
  async function fact(type: WebhookEventType, realtorId: number): Promise<number> {
    event += 1;
    const { id } = await recordDomainEvent(db.knex, { type, naturalKey: `test:${event}`, realtorId, propertyId, data: { n: event } });
    return id;
  }

  const deliveriesOf = (eventId: number) => db.knex('webhook_deliveries').where({ event_id: eventId }).orderBy('id');
  const result = (deliveryId: number) => env.client.workflow.getHandle(webhookDeliveryWorkflowId(deliveryId)).result() as Promise<WebhookAttemptResult>;
  const forPath = (path: string) => receiver.requests.filter((r) => r.path === path);

  it('when a buyer requests a tour and the realtor confirms, then the realtor\'s endpoint receives booking.requested and booking.confirmed, each signed so the standardwebhooks library verifies it', async () => {
    const hook = await register(realtor, '/crm', [WEBHOOK_EVENT.bookingRequested, WEBHOOK_EVENT.bookingConfirmed]);
    const booking = await requestBooking(t, buyer, propertyId);
    // The BookingWorkflow's notices record the facts, once each.
    const requested = await eventually('booking.requested recorded', () => db.knex('domain_events').where({ natural_key: domainEventKeys.booking(booking.id, 'request', 'once') }).first());
    expect(requested).toMatchObject({ type: WEBHOOK_EVENT.bookingRequested, realtor_id: realtor.id, property_id: propertyId });
    const { tourId } = await confirmBooking(t, realtor, booking.id);
    const confirmed = await eventually('booking.confirmed recorded', () =>
      db.knex('domain_events').where({ type: WEBHOOK_EVENT.bookingConfirmed }).whereRaw("payload->'booking'->>'id' = ?", [String(booking.id)]).first(),
    );

    await dispatch();
    const deliveries = [...(await deliveriesOf(requested.id)), ...(await deliveriesOf(confirmed.id))];
    expect(deliveries.map((d) => d.endpoint_id)).toEqual([hook.id, hook.id]);
    // Polled rather than awaited: awaiting a workflow lets the test server skip time, and the booking would expire.
    await eventually('both delivered', async () => (await db.knex('webhook_deliveries').whereIn('id', deliveries.map((d) => d.id)).where({ status: 'delivered' })).length === 2);

    const got = forPath('/crm');
    expect(got).toHaveLength(2);
    const bodies = got.map((r) => new Webhook(hook.secret).verify(r.body, r.headers) as { type: string; timestamp: string; data: Record<string, unknown> });
    const byType = Object.fromEntries(bodies.map((b) => [b.type, b]));
    expect(byType['booking.requested']).toMatchObject({
      data: {
        booking: { id: booking.id, scheduled_at: booking.scheduledAt, duration_minutes: 30 },
        property: { id: propertyId, address: '12 Oak Street' },
        buyer: { id: buyer.id, name: 'Bea Buyer', email: buyer.email },
        realtor: { id: realtor.id, name: 'Rita Realtor' },
      },
    });
    expect(new Date(byType['booking.requested']!.timestamp).getTime()).toBe(new Date(requested.occurred_at).getTime());
    expect(byType['booking.confirmed']).toMatchObject({ data: { booking: { id: booking.id }, tour_id: tourId } });
    for (const r of got) expect(r.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(2);
    await sys.http().delete(`/api/v1/realtors/webhooks/${hook.id}`).set(realtor.auth).expect(204);
  });

  it('when the tour activities run (its start notice twice, the pipeline steps), then tour.started and summary.ready are recorded once each and a skipped step records nothing', async () => {
    const activities = createActivities({ config: t.config, logger: createLogger(t.config, 'test-activities'), knex: db.knex, ...t.adapters });
    const { tourId } = await createTour(t, { realtor, buyer }, { propertyId });
    const eventsOf = () => db.knex('domain_events').where('natural_key', 'like', `tour:${tourId}:%`).orderBy('id');

    await activities.sendTourNotice(tourId, 'tour_start');
    await activities.sendTourNotice(tourId, 'tour_start');
    // No recording: the transcription step is skipped, which is no event.
    await expect(activities.processTranscription(tourId)).resolves.toMatchObject({ status: 'skipped' });
    await activities.processSummary(tourId);
    await activities.processSummary(tourId);

    const rows = await eventsOf();
    expect(rows.map((e) => e.type)).toEqual(['tour.started', 'summary.ready']);
    expect(rows[0]).toMatchObject({ realtor_id: realtor.id, property_id: propertyId, payload: { tour: { id: tourId }, property: { id: propertyId, address: '12 Oak Street' }, buyer: { id: buyer.id } } });
    expect(rows[1].payload.summary).toEqual((await db.knex('tours').where({ id: tourId }).first()).summary);
  });

  it('when an event is about one realtor\'s listing, then only that realtor\'s subscribed endpoints and admins\' endpoints get a delivery, once however often the dispatcher runs', async () => {
    const own = await register(realtor, '/own', [WEBHOOK_EVENT.tourEnded]);
    const notSubscribed = await register(realtor, '/other-type', [WEBHOOK_EVENT.tourStarted]);
    const someoneElse = await register(otherRealtor, '/someone-else', [WEBHOOK_EVENT.tourEnded]);
    const adminHook = await register(admin, '/admin', [WEBHOOK_EVENT.tourEnded], 'admin');
    const eventId = await fact(WEBHOOK_EVENT.tourEnded, realtor.id);

    const first = await dispatch();
    expect(first.events).toBeGreaterThanOrEqual(1);
    const again = await dispatch();
    expect(again).toMatchObject({ events: 0, deliveries: 0 });
    const rows = await deliveriesOf(eventId);
    expect(rows.map((d) => d.endpoint_id).sort()).toEqual([own.id, adminHook.id].sort());
    expect(rows.map((d) => d.endpoint_id)).not.toContain(notSubscribed.id);
    expect(rows.map((d) => d.endpoint_id)).not.toContain(someoneElse.id);
    for (const d of rows) await expect(result(d.id)).resolves.toMatchObject({ outcome: 'delivered' });
    expect(forPath('/own')).toHaveLength(1);
    expect(forPath('/admin')).toHaveLength(1);
    expect(forPath('/someone-else')).toHaveLength(0);
    for (const h of [own, notSubscribed]) await sys.http().delete(`/api/v1/realtors/webhooks/${h.id}`).set(realtor.auth).expect(204);
    await sys.http().delete(`/api/v1/realtors/webhooks/${someoneElse.id}`).set(otherRealtor.auth).expect(204);
    await sys.http().delete(`/api/v1/admin/webhooks/${adminHook.id}`).set(admin.auth).expect(204);
  });

  it('when the endpoint answers 500 twice and then 200, then the event is delivered once, after 3 attempts with the same webhook-id, and the log shows them', async () => {
    const hook = await register(realtor, '/flaky', [WEBHOOK_EVENT.summaryReady]);
    receiver.respond((_req, n) => (n < 2 ? { status: 500, body: 'try later' } : { status: 200, body: 'ok' }));
    const eventId = await fact(WEBHOOK_EVENT.summaryReady, realtor.id);
    await dispatch();
    const [delivery] = await deliveriesOf(eventId);
    await expect(result(delivery.id)).resolves.toEqual({ outcome: 'delivered', endpointDisabled: false, endpointId: hook.id });

    const got = forPath('/flaky');
    expect(got).toHaveLength(3);
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(1);
    for (const r of got) expect(() => new Webhook(hook.secret).verify(r.body, r.headers)).not.toThrow();
    expect(await deliveriesOf(eventId)).toHaveLength(1);

    const log = await sys.http().get(`/api/v1/realtors/webhooks/${hook.id}/deliveries`).set(realtor.auth);
    expect(log.status).toBe(200);
    expect(log.body.data).toHaveLength(1);
    expect(log.body.data[0].attributes).toMatchObject({ status: 'delivered', attempts: 3, last_status_code: 200, last_error: null, event_type: 'summary.ready', next_attempt_at: null });
    const detail = await sys.http().get(`/api/v1/realtors/webhooks/${hook.id}/deliveries/${delivery.id}`).set(realtor.auth);
    expect(detail.status).toBe(200);
    expect(detail.body.data.attributes.attempt_log.map((a: { attempt: number; response_status: number }) => [a.attempt, a.response_status])).toEqual([[1, 500], [2, 500], [3, 200]]);
    expect(detail.body.data.attributes.attempt_log[0]).toMatchObject({ error: 'HTTP 500', response_excerpt: 'try later' });
    // The retries waited as scheduled (workflow time): 5 s, then 5 minutes.
    const at = detail.body.data.attributes.attempt_log.map((a: { attempted_at: string }) => Date.parse(a.attempted_at));
    const offsets = webhookAttemptOffsets(t.config.webhooks.retryWindowMs);
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(offsets[1]!);
    expect(at[2] - at[0]).toBeGreaterThanOrEqual(offsets[2]!);
    expect(detail.body.data.attributes.payload).toMatchObject({ type: 'summary.ready', data: { n: event } });
    await sys.http().delete(`/api/v1/realtors/webhooks/${hook.id}`).set(realtor.auth).expect(204);
  });

  it('when an endpoint fails for the whole window, then its delivery is failed, the endpoint is disabled and its owner emailed; redelivery waits for it to be enabled and then delivers the same message', async () => {
    const hook = await register(realtor, '/down', [WEBHOOK_EVENT.recordingReady]);
    receiver.respond(() => ({ status: 503, body: 'maintenance' }));
    const eventId = await fact(WEBHOOK_EVENT.recordingReady, realtor.id);
    const startedAt = await env.currentTimeMs();
    await dispatch();
    const [delivery] = await deliveriesOf(eventId);

    // While it retries, it cannot be redelivered.
    await eventually('first attempt', () => forPath('/down').length > 0);
    const early = await sys.http().post(`/api/v1/realtors/webhooks/${hook.id}/deliveries/${delivery.id}/redeliver`).set(realtor.auth);
    expect(early.status).toBe(409);
    expect(early.body.errors[0].message).toMatch(/still pending/);

    await expect(result(delivery.id)).resolves.toEqual({ outcome: 'failed', endpointDisabled: true, endpointId: hook.id });
    expect(await env.currentTimeMs()).toBeGreaterThanOrEqual(startedAt + 24 * HOUR);
    const offsets = webhookAttemptOffsets(t.config.webhooks.retryWindowMs);
    expect(forPath('/down')).toHaveLength(offsets.length);
    const row = await db.knex('webhook_deliveries').where({ id: delivery.id }).first();
    expect(row).toMatchObject({ status: 'failed', attempts: offsets.length, last_status_code: 503, last_error: 'HTTP 503', next_attempt_at: null });

    const endpoint = await sys.http().get(`/api/v1/realtors/webhooks/${hook.id}`).set(realtor.auth);
    expect(endpoint.body.data.attributes).toMatchObject({ enabled: false, disabled_reason: expect.stringMatching(/^Every delivery failed for 24 hours/) });
    const audit = await db.knex('audit_logs').where({ action: 'webhook_endpoint_disabled', resource_type: 'webhook_endpoint', resource_id: hook.id });
    expect(audit).toHaveLength(1);
    const mail = await eventually('disabled notice', async () =>
      (await readOutbox(t.config.email.outboxDir)).find((m) => m.idempotencyKey.startsWith(`webhook-disabled:${hook.id}:`)),
    );
    expect(mail.to).toContain(realtor.email);
    expect(mail.subject).toBe('Your webhook endpoint was disabled: deliveries kept failing');
    expect(mail.text).toContain(`${receiver.origin}/down`);

    // A disabled endpoint gets no new deliveries.
    const later = await fact(WEBHOOK_EVENT.recordingReady, realtor.id);
    await dispatch();
    expect(await deliveriesOf(later)).toHaveLength(0);

    const refused = await sys.http().post(`/api/v1/realtors/webhooks/${hook.id}/deliveries/${delivery.id}/redeliver`).set(realtor.auth);
    expect(refused.status).toBe(409);
    expect(refused.body.errors[0].message).toMatch(/disabled/);

    receiver.respond(() => ({ status: 200, body: 'back' }));
    const enabled = await sys.http().put(`/api/v1/realtors/webhooks/${hook.id}`).set(realtor.auth).send({ enabled: true });
    expect(enabled.status).toBe(200);
    expect(enabled.body.data.attributes).toMatchObject({ enabled: true, disabled_at: null, disabled_reason: null, failing_since: null });

    const before = forPath('/down').length;
    const redelivered = await sys.http().post(`/api/v1/realtors/webhooks/${hook.id}/deliveries/${delivery.id}/redeliver`).set(realtor.auth);
    expect(redelivered.status).toBe(202);
    // Usually still pending when the answer is read back; the worker may have delivered it already.
    expect(redelivered.body.data.attributes).toMatchObject({ status: expect.stringMatching(/^(pending|delivered)$/), redelivery_of: delivery.id, event_type: 'recording.ready' });
    const newId = Number(redelivered.body.data.id);
    await expect(result(newId)).resolves.toMatchObject({ outcome: 'delivered' });
    const resent = forPath('/down').slice(before);
    expect(resent).toHaveLength(1);
    expect(resent[0]!.headers['webhook-id']).toBe(forPath('/down')[0]!.headers['webhook-id']);
    expect(() => new Webhook(hook.secret).verify(resent[0]!.body, resent[0]!.headers)).not.toThrow();
    expect(await db.knex('audit_logs').where({ action: 'webhook_redelivery_requested', resource_id: newId })).toHaveLength(1);
    // The original stays as it was in the log.
    expect(await db.knex('webhook_deliveries').where({ id: delivery.id }).first()).toMatchObject({ status: 'failed' });
    await sys.http().delete(`/api/v1/realtors/webhooks/${hook.id}`).set(realtor.auth).expect(204);
  });

  it('when the owner pauses an endpoint while a delivery is retrying, then the delivery ends failed at once and its workflow makes no further attempt', async () => {
    const hook = await register(realtor, '/paused', [WEBHOOK_EVENT.transcriptReady]);
    receiver.respond(() => ({ status: 500 }));
    const eventId = await fact(WEBHOOK_EVENT.transcriptReady, realtor.id);
    await dispatch();
    const [delivery] = await deliveriesOf(eventId);
    await eventually('first attempt recorded', async () => (await db.knex('webhook_deliveries').where({ id: delivery.id }).first()).attempts === 1);

    const paused = await sys.http().put(`/api/v1/realtors/webhooks/${hook.id}`).set(realtor.auth).send({ enabled: false });
    expect(paused.status).toBe(200);
    expect(await db.knex('webhook_deliveries').where({ id: delivery.id }).first()).toMatchObject({ status: 'failed', next_attempt_at: null, last_error: 'The endpoint was disabled (Disabled by its owner)' });
    await expect(result(delivery.id)).resolves.toMatchObject({ outcome: 'failed', endpointDisabled: false });
    expect(forPath('/paused')).toHaveLength(1);
    await sys.http().delete(`/api/v1/realtors/webhooks/${hook.id}`).set(realtor.auth).expect(204);
  });

  it('when the dispatcher runs on its own, then a new fact reaches the endpoint with nobody calling it, and stopping it waits for its pass', async () => {
    const hook = await register(realtor, '/loop', [WEBHOOK_EVENT.bookingExpired]);
    const loop = startWebhookDispatcher({
      knex: db.knex,
      client: env.client,
      taskQueue: t.config.temporal.taskQueue,
      settings: webhookDeliverySettings(t.config),
      logger: createLogger(t.config, 'test-dispatcher'),
      intervalMs: 100,
    });
    try {
      await fact(WEBHOOK_EVENT.bookingExpired, realtor.id);
      await eventually('delivered by the loop', () => forPath('/loop').length === 1);
    } finally {
      await loop.stop();
    }
    await sys.http().delete(`/api/v1/realtors/webhooks/${hook.id}`).set(realtor.auth).expect(204);
  });

  it('when another realtor asks to redeliver someone else\'s delivery, then 404 and nothing is sent', async () => {
    const hook = await register(realtor, '/bola', [WEBHOOK_EVENT.tourStarted]);
    const eventId = await fact(WEBHOOK_EVENT.tourStarted, realtor.id);
    await dispatch();
    const [delivery] = await deliveriesOf(eventId);
    await result(delivery.id);
    const res = await sys.http().post(`/api/v1/realtors/webhooks/${hook.id}/deliveries/${delivery.id}/redeliver`).set(otherRealtor.auth);
    expect(res.status).toBe(404);
    const otherHook = await register(otherRealtor, '/bola-other', [WEBHOOK_EVENT.tourStarted]);
    // Their own endpoint id with someone else's delivery: 404 as well.
    const crossed = await sys.http().post(`/api/v1/realtors/webhooks/${otherHook.id}/deliveries/${delivery.id}/redeliver`).set(otherRealtor.auth);
    expect(crossed.status).toBe(404);
    expect(await db.knex('webhook_deliveries').where({ event_id: eventId })).toHaveLength(1);
  });
});
