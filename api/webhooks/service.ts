import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { forbiddenHostReason } from '../../adapters/webhooks/address-policy';
import { generateWebhookSecret } from '../../adapters/webhooks/signing';
import {
  FINAL_WEBHOOK_DELIVERY_STATUSES,
  WEBHOOK_MAX_ENDPOINTS_PER_OWNER,
  startWebhookDeliveryWorkflow,
  type WebhookDeliverySettings,
} from '../../contracts/webhooks';
import { changedValues, recordAudit } from '../../db/audit';
import {
  webhooksRepository,
  type WebhookAttemptRecord,
  type WebhookDeliveryView,
  type WebhookEndpointPatch,
  type WebhookEndpointRecord,
} from '../../db/repositories/webhooks.repository';
import { ConflictError, NotFoundError, ValidationError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { pageMeta, type PageRequest } from '../pagination';
import type { Actor } from '../routing';
import { webhookPolicy } from './policy';
import type { CreateWebhookInput, DeliveryListQuery, UpdateWebhookInput } from './schemas';

export interface WebhookServiceDeps {
  knex: Knex;
  temporal: Client;
  taskQueue: string;
  settings: WebhookDeliverySettings;
  /** WEBHOOKS_ALLOW_PRIVATE: plain http and private hosts may be registered (development). */
  allowPrivate: boolean;
  logger: Logger;
}

/** Audit details of an endpoint: never its secret. */
const described = (e: Pick<WebhookEndpointRecord, 'url' | 'event_types' | 'description'>) => ({ url: e.url, event_types: e.event_types, description: e.description });

export class WebhookService {
  constructor(private readonly deps: WebhookServiceDeps) {}

  async list(actor: Actor, q: PageRequest & { owner_id?: number }) {
    webhookPolicy.assertCanManage(actor);
    const { items, total } = await webhooksRepository(this.deps.knex).endpoints.list(webhookPolicy.scope(actor), { owner_id: q.owner_id }, q);
    return { items, meta: pageMeta(q, total) };
  }

  async get(actor: Actor, id: number): Promise<WebhookEndpointRecord> {
    webhookPolicy.assertCanManage(actor);
    const endpoint = await webhooksRepository(this.deps.knex).endpoints.find(webhookPolicy.scope(actor), id);
    if (!endpoint) throw new NotFoundError('Webhook endpoint');
    return endpoint;
  }

  /** Refuses what can be known before any lookup; every delivery checks the resolved addresses again. */
  private checkUrl(url: string): void {
    if (this.deps.allowPrivate) return;
    const u = new URL(url);
    if (u.protocol !== 'https:') throw new ValidationError([{ field: 'url', message: 'must be an https:// URL' }]);
    const reason = forbiddenHostReason(u.hostname);
    if (reason) throw new ValidationError([{ field: 'url', message: `must not point at this machine or a private network (${reason})` }]);
  }

  /** Registers an endpoint owned by the caller; the answer carries its secret, shown this once. */
  async create(actor: Actor, body: CreateWebhookInput): Promise<{ endpoint: WebhookEndpointRecord; secret: string }> {
    webhookPolicy.assertCanManage(actor);
    this.checkUrl(body.url);
    const secret = generateWebhookSecret();
    const id = await this.deps.knex.transaction(async (trx) => {
      // One creation per owner at a time, so the limit holds under concurrent requests.
      await trx('users').where({ id: actor.user.id }).forUpdate().first('id');
      const repo = webhooksRepository(trx);
      if ((await repo.endpoints.countOwned(actor.user.id)) >= WEBHOOK_MAX_ENDPOINTS_PER_OWNER) {
        throw new ConflictError(`You already have ${WEBHOOK_MAX_ENDPOINTS_PER_OWNER} webhook endpoints; delete one first`);
      }
      const fields = { url: body.url, event_types: body.event_types, description: body.description ?? null };
      const endpointId = await repo.endpoints.insert({ owner_id: actor.user.id, secret, ...fields });
      await recordAudit(trx, { actorId: actor.user.id, action: 'webhook_endpoint_created', resourceType: 'webhook_endpoint', resourceId: endpointId, details: described(fields), requestId: actor.requestId });
      return endpointId;
    });
    return { endpoint: await this.get(actor, id), secret };
  }

  async update(actor: Actor, id: number, body: UpdateWebhookInput): Promise<WebhookEndpointRecord> {
    await this.get(actor, id);
    if (body.url !== undefined) this.checkUrl(body.url);
    await this.deps.knex.transaction(async (trx) => {
      const repo = webhooksRepository(trx);
      const current = await repo.endpoints.find({}, id, { forUpdate: true });
      if (!current) throw new NotFoundError('Webhook endpoint');
      const asked: WebhookEndpointPatch = {};
      if (body.url !== undefined) asked.url = body.url;
      if (body.event_types !== undefined) asked.event_types = body.event_types;
      if (body.description !== undefined) asked.description = body.description;
      if (body.enabled !== undefined) asked.enabled = body.enabled;
      const changes = changedValues(current, asked);
      if (!Object.keys(changes).length) return;
      const patch = Object.fromEntries(Object.keys(changes).map((k) => [k, asked[k as keyof WebhookEndpointPatch]])) as WebhookEndpointPatch;
      // A fresh start: a new destination, or its owner vouching for it again.
      if (patch.enabled === true || patch.url !== undefined) patch.failing_since = null;
      if (patch.enabled === true) Object.assign(patch, { disabled_at: null, disabled_reason: null });
      if (patch.enabled === false) {
        Object.assign(patch, { disabled_at: new Date(), disabled_reason: actor.user.id === current.owner_id ? 'Disabled by its owner' : 'Disabled by an admin' });
      }
      await repo.endpoints.update(id, patch);
      // Deliveries still retrying stop (failed; each can be redelivered once it is enabled again).
      if (patch.enabled === false) await repo.deliveries.failPending(id, patch.disabled_at!, `The endpoint was disabled (${patch.disabled_reason})`);
      await recordAudit(trx, { actorId: actor.user.id, action: 'webhook_endpoint_updated', resourceType: 'webhook_endpoint', resourceId: id, details: { changes }, requestId: actor.requestId });
    });
    return this.get(actor, id);
  }

  /** Deletes the endpoint and its delivery log; deliveries under way stop at their next attempt. */
  async remove(actor: Actor, id: number): Promise<void> {
    const endpoint = await this.get(actor, id);
    await this.deps.knex.transaction(async (trx) => {
      if (!(await webhooksRepository(trx).endpoints.remove(id))) throw new NotFoundError('Webhook endpoint');
      await recordAudit(trx, {
        actorId: actor.user.id,
        action: 'webhook_endpoint_deleted',
        resourceType: 'webhook_endpoint',
        resourceId: id,
        details: { ...described(endpoint), owner_id: endpoint.owner_id },
        requestId: actor.requestId,
      });
    });
  }

  async deliveries(actor: Actor, id: number, q: DeliveryListQuery) {
    await this.get(actor, id);
    const { items, total } = await webhooksRepository(this.deps.knex).deliveries.list(id, { status: q.status, event_type: q.event_type }, q);
    return { items, meta: pageMeta(q, total) };
  }

  async delivery(actor: Actor, id: number, deliveryId: number): Promise<{ delivery: WebhookDeliveryView; attempts: WebhookAttemptRecord[] }> {
    await this.get(actor, id);
    const repo = webhooksRepository(this.deps.knex);
    const delivery = await repo.deliveries.view(id, deliveryId);
    if (!delivery) throw new NotFoundError('Webhook delivery');
    return { delivery, attempts: await repo.attempts.of(deliveryId) };
  }

  /**
   * Sends a finished delivery's event to the endpoint again, as a new delivery (the same
   * webhook-id, so a receiver that has it can tell). If its workflow cannot be started now,
   * the worker's dispatcher starts it on its next pass.
   */
  async redeliver(actor: Actor, id: number, deliveryId: number): Promise<WebhookDeliveryView> {
    const endpoint = await this.get(actor, id);
    const newId = await this.deps.knex.transaction(async (trx) => {
      const repo = webhooksRepository(trx);
      const original = await repo.deliveries.find(deliveryId, { forUpdate: true });
      if (!original || original.endpoint_id !== id) throw new NotFoundError('Webhook delivery');
      if (!endpoint.enabled) throw new ConflictError('The endpoint is disabled; enable it before redelivering');
      if (!FINAL_WEBHOOK_DELIVERY_STATUSES.includes(original.status)) {
        throw new ConflictError(`This delivery is still ${original.status} (attempt ${original.attempts} so far); redeliver it once it has finished`);
      }
      const created = await repo.deliveries.createRedelivery(original);
      await recordAudit(trx, {
        actorId: actor.user.id,
        action: 'webhook_redelivery_requested',
        resourceType: 'webhook_delivery',
        resourceId: created,
        details: { endpoint_id: id, redelivery_of: deliveryId },
        requestId: actor.requestId,
      });
      return created;
    });
    try {
      await startWebhookDeliveryWorkflow(this.deps.temporal, this.deps.taskQueue, newId, this.deps.settings);
      await webhooksRepository(this.deps.knex).deliveries.markStarted([newId]);
    } catch (err) {
      this.deps.logger.warn({ err, deliveryId: newId }, 'redelivery workflow not started; the dispatcher will start it');
    }
    return (await webhooksRepository(this.deps.knex).deliveries.view(id, newId))!;
  }
}
