import type { Knex } from 'knex';
import type { WebhookEventType } from '../../contracts/webhooks';

/**
 * The domain events outbox. A fact is recorded where it becomes true, in that activity's
 * (or request's) transaction when it has one, under a natural key: recording the same fact
 * again (a retried activity) changes nothing. The worker's dispatcher reads the rows not
 * dispatched yet and turns each into webhook deliveries.
 */

export interface NewDomainEvent {
  type: WebhookEventType;
  /** One row per fact: `contracts/webhooks.ts` domainEventKeys. */
  naturalKey: string;
  /** The realtor whose listing the fact is about (their endpoints receive it); null: admins' only. */
  realtorId: number | null;
  propertyId: number | null;
  /** The `data` of the webhook payload. */
  data: Record<string, unknown>;
  occurredAt?: Date;
}

export interface DomainEventRecord {
  id: number;
  public_id: string;
  type: WebhookEventType;
  natural_key: string;
  realtor_id: number | null;
  property_id: number | null;
  payload: Record<string, unknown>;
  occurred_at: Date;
  dispatched_at: Date | null;
}

/**
 * Records a fact once. Returns its row id and whether this call recorded it (false: it was
 * recorded before). Call it with the transaction that makes the fact true, where there is one;
 * H10's feedback route records `feedback.received` this way.
 */
export async function recordDomainEvent(db: Knex | Knex.Transaction, e: NewDomainEvent): Promise<{ id: number; recorded: boolean }> {
  const [inserted] = await db('domain_events')
    .insert({
      type: e.type,
      natural_key: e.naturalKey,
      realtor_id: e.realtorId,
      property_id: e.propertyId,
      payload: JSON.stringify(e.data),
      ...(e.occurredAt ? { occurred_at: e.occurredAt } : {}),
    })
    .onConflict('natural_key')
    .ignore()
    .returning<Array<{ id: number }>>('id');
  if (inserted) return { id: Number(inserted.id), recorded: true };
  const existing = await db('domain_events').where({ natural_key: e.naturalKey }).first<{ id: number }>('id');
  return { id: Number(existing!.id), recorded: false };
}

export function domainEventsRepository(db: Knex | Knex.Transaction) {
  return {
    record: (e: NewDomainEvent) => recordDomainEvent(db, e),

    async find(id: number): Promise<DomainEventRecord | undefined> {
      return db('domain_events').where({ id }).first<DomainEventRecord | undefined>();
    },

    async findByKey(naturalKey: string): Promise<DomainEventRecord | undefined> {
      return db('domain_events').where({ natural_key: naturalKey }).first<DomainEventRecord | undefined>();
    },

    /**
     * The oldest events not dispatched yet, locked for this transaction; rows another
     * dispatcher holds are skipped, so several workers share the queue without waiting.
     */
    async lockUndispatched(limit: number): Promise<DomainEventRecord[]> {
      return db('domain_events').whereNull('dispatched_at').orderBy('id').limit(limit).forUpdate().skipLocked().select<DomainEventRecord[]>('*');
    },

    async markDispatched(ids: number[]): Promise<void> {
      if (ids.length) await db('domain_events').whereIn('id', ids).update({ dispatched_at: db.fn.now() });
    },
  };
}
