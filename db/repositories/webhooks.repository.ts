import type { Knex } from 'knex';
import { WEBHOOK_DELIVERY_STATUS, type WebhookDeliveryStatus, type WebhookEventType } from '../../contracts/webhooks';
import { pageOf, type Page, type PageRequest } from './page';

/**
 * The webhooks aggregate: endpoints, their deliveries and each delivery's attempts. Plain
 * records, shared by the webhooks API, the delivery activities and the worker's dispatcher.
 * Takes the knex instance or the caller's transaction.
 */

export interface WebhookEndpointRecord {
  id: number;
  owner_id: number;
  url: string;
  description: string | null;
  event_types: WebhookEventType[];
  /** The signing secret: never shown after creation. */
  secret: string;
  enabled: boolean;
  disabled_at: Date | null;
  disabled_reason: string | null;
  failing_since: Date | null;
  last_success_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface NewWebhookEndpoint {
  owner_id: number;
  url: string;
  description: string | null;
  event_types: WebhookEventType[];
  secret: string;
}

export type WebhookEndpointPatch = Partial<Pick<WebhookEndpointRecord, 'url' | 'description' | 'event_types' | 'enabled' | 'disabled_at' | 'disabled_reason' | 'failing_since' | 'last_success_at'>>;

/** Whose endpoints a query may see: one owner's, or (empty) all. */
export interface WebhookEndpointScope {
  ownerId?: number;
}

export interface WebhookDeliveryRecord {
  id: number;
  endpoint_id: number;
  event_id: number;
  redelivery_of: number | null;
  status: WebhookDeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  last_attempt_at: Date | null;
  next_attempt_at: Date | null;
  delivered_at: Date | null;
  failed_at: Date | null;
  workflow_started_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** A delivery as its log shows it: the row and its event. */
export interface WebhookDeliveryView extends WebhookDeliveryRecord {
  event_type: WebhookEventType;
  event_public_id: string;
  event_occurred_at: Date;
  event_payload: Record<string, unknown>;
}

export interface WebhookAttemptRecord {
  attempt: number;
  attempted_at: Date;
  response_status: number | null;
  error: string | null;
  response_excerpt: string | null;
  duration_ms: number;
}

export interface WebhookDeliveryFilter {
  status?: WebhookDeliveryStatus;
  event_type?: WebhookEventType;
}

const DELIVERY_VIEW_COLUMNS = [
  'd.*',
  'ev.type as event_type',
  'ev.public_id as event_public_id',
  'ev.occurred_at as event_occurred_at',
  'ev.payload as event_payload',
];

export function webhooksRepository(db: Knex | Knex.Transaction) {
  const scopedEndpoints = (scope: WebhookEndpointScope) => {
    const q = db('webhook_endpoints as e');
    if (scope.ownerId !== undefined) q.where('e.owner_id', scope.ownerId);
    return q;
  };

  const endpoints = {
    async list(scope: WebhookEndpointScope, filter: { owner_id?: number }, page: PageRequest): Promise<Page<WebhookEndpointRecord>> {
      const matches = scopedEndpoints(scope);
      if (filter.owner_id !== undefined) matches.where('e.owner_id', filter.owner_id);
      return pageOf<WebhookEndpointRecord>(matches, (q) => q.select('e.*').orderBy('e.id', 'desc'), page);
    },

    async find(scope: WebhookEndpointScope, id: number, opts: { forUpdate?: boolean } = {}): Promise<WebhookEndpointRecord | undefined> {
      const q = scopedEndpoints(scope).where('e.id', id).first<WebhookEndpointRecord | undefined>('e.*');
      return opts.forUpdate ? q.forUpdate() : q;
    },

    async countOwned(ownerId: number): Promise<number> {
      const [row] = await db('webhook_endpoints').where({ owner_id: ownerId }).count<Array<{ count: string | number }>>({ count: '*' });
      return Number(row?.count ?? 0);
    },

    async insert(e: NewWebhookEndpoint): Promise<number> {
      const [row] = await db('webhook_endpoints').insert(e).returning<Array<{ id: number }>>('id');
      return Number(row!.id);
    },

    async update(id: number, patch: WebhookEndpointPatch): Promise<void> {
      await db('webhook_endpoints').where({ id }).update(patch);
    },

    async remove(id: number): Promise<boolean> {
      return (await db('webhook_endpoints').where({ id }).delete()) > 0;
    },

    /**
     * The enabled endpoints that receive an event of `type` about `realtorId`'s listing: the
     * realtor's own, and every admin's. An owner who was deleted, disabled or is no longer a
     * realtor or admin receives nothing.
     */
    async matching(type: WebhookEventType, realtorId: number | null): Promise<number[]> {
      const q = db('webhook_endpoints as e')
        .join('users as u', 'u.id', 'e.owner_id')
        .where('e.enabled', true)
        .whereRaw('? = ANY(e.event_types)', [type])
        .whereNull('u.deleted_at')
        .whereNull('u.disabled_at')
        .where((w) => {
          w.where('u.role', 'admin');
          if (realtorId !== null) w.orWhere((r) => r.where('u.role', 'realtor').where('e.owner_id', realtorId));
        })
        .orderBy('e.id');
      return (await q.pluck<number[]>('e.id')).map(Number);
    },
  };

  const deliveries = {
    /** One delivery per endpoint for the event; an existing one (a second dispatch) is kept. Returns the new ids. */
    async createForEvent(eventId: number, endpointIds: number[]): Promise<number[]> {
      if (!endpointIds.length) return [];
      const rows = await db('webhook_deliveries')
        .insert(endpointIds.map((endpoint_id) => ({ endpoint_id, event_id: eventId })))
        .onConflict(db.raw('(event_id, endpoint_id) WHERE redelivery_of IS NULL'))
        .ignore()
        .returning<Array<{ id: number }>>('id');
      return rows.map((r) => Number(r.id));
    },

    /** A new delivery of the same event to the same endpoint. */
    async createRedelivery(of: WebhookDeliveryRecord): Promise<number> {
      const [row] = await db('webhook_deliveries')
        .insert({ endpoint_id: of.endpoint_id, event_id: of.event_id, redelivery_of: of.id })
        .returning<Array<{ id: number }>>('id');
      return Number(row!.id);
    },

    async find(id: number, opts: { forUpdate?: boolean } = {}): Promise<WebhookDeliveryRecord | undefined> {
      const q = db('webhook_deliveries').where({ id }).first<WebhookDeliveryRecord | undefined>();
      return opts.forUpdate ? q.forUpdate() : q;
    },

    /** A delivery of this endpoint, with its event. */
    async view(endpointId: number, deliveryId: number): Promise<WebhookDeliveryView | undefined> {
      return db('webhook_deliveries as d')
        .join('domain_events as ev', 'ev.id', 'd.event_id')
        .where({ 'd.id': deliveryId, 'd.endpoint_id': endpointId })
        .first<WebhookDeliveryView | undefined>(DELIVERY_VIEW_COLUMNS);
    },

    /** The endpoint's delivery log, newest first. */
    async list(endpointId: number, filter: WebhookDeliveryFilter, page: PageRequest): Promise<Page<WebhookDeliveryView>> {
      const matches = db('webhook_deliveries as d').join('domain_events as ev', 'ev.id', 'd.event_id').where('d.endpoint_id', endpointId);
      if (filter.status) matches.where('d.status', filter.status);
      if (filter.event_type) matches.where('ev.type', filter.event_type);
      return pageOf<WebhookDeliveryView>(matches, (q) => q.select(DELIVERY_VIEW_COLUMNS).orderBy('d.id', 'desc'), page);
    },

    /** Deliveries whose workflow has not been started (the dispatcher's sweep). */
    async unstarted(limit: number): Promise<number[]> {
      const ids = await db('webhook_deliveries')
        .whereNull('workflow_started_at')
        .where('status', WEBHOOK_DELIVERY_STATUS.pending)
        .orderBy('id')
        .limit(limit)
        .pluck<number[]>('id');
      return ids.map(Number);
    },

    async markStarted(ids: number[]): Promise<void> {
      if (ids.length) await db('webhook_deliveries').whereIn('id', ids).whereNull('workflow_started_at').update({ workflow_started_at: db.fn.now() });
    },

    /** Ends every delivery of the endpoint still under way (it was disabled); their workflows stop at their next attempt. */
    async failPending(endpointId: number, at: Date, reason: string): Promise<number> {
      return db('webhook_deliveries')
        .where({ endpoint_id: endpointId, status: WEBHOOK_DELIVERY_STATUS.pending })
        .update({ status: WEBHOOK_DELIVERY_STATUS.failed, failed_at: at, next_attempt_at: null, last_error: reason });
    },

    async update(id: number, patch: Partial<Omit<WebhookDeliveryRecord, 'id' | 'endpoint_id' | 'event_id' | 'redelivery_of' | 'created_at' | 'updated_at'>>): Promise<void> {
      await db('webhook_deliveries').where({ id }).update(patch);
    },
  };

  const attempts = {
    /** Records attempt `n`; a retried activity's second record of it replaces the first. */
    async record(deliveryId: number, a: WebhookAttemptRecord): Promise<void> {
      await db('webhook_delivery_attempts')
        .insert({ delivery_id: deliveryId, ...a })
        .onConflict(['delivery_id', 'attempt'])
        .merge(['attempted_at', 'response_status', 'error', 'response_excerpt', 'duration_ms']);
    },

    async of(deliveryId: number): Promise<WebhookAttemptRecord[]> {
      return db('webhook_delivery_attempts')
        .where({ delivery_id: deliveryId })
        .orderBy('attempt')
        .select<WebhookAttemptRecord[]>('attempt', 'attempted_at', 'response_status', 'error', 'response_excerpt', 'duration_ms');
    },
  };

  return { endpoints, deliveries, attempts };
}

export type WebhooksRepository = ReturnType<typeof webhooksRepository>;
