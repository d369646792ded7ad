import type { Knex } from 'knex';

/**
 * Signed outbound webhooks (issue 14, point 4).
 *
 * - `domain_events`: a transactional outbox. The activity where a fact becomes true writes
 *   one row per fact (a unique natural key, so a retried activity records it once); the
 *   worker's dispatcher turns each row into deliveries and marks it dispatched.
 * - `webhook_endpoints`: URLs realtors and admins registered, with the event types they
 *   want and the signing secret (needed to sign, so kept; shown to its owner only once).
 * - `webhook_deliveries`: one per event and endpoint (a redelivery is a new row pointing at
 *   the one it repeats); the log its owner reads. Each is sent by its own workflow.
 * - `webhook_delivery_attempts`: every attempt of a delivery, keyed by its number so a
 *   retried activity records its attempt once.
 */

/** COMMENT takes no bind parameters: the text is quoted here (the only quote to escape is '). */
function commentOn(knex: Knex, table: string, text: string) {
  return knex.raw(`COMMENT ON TABLE ${table} IS '${text.replace(/'/g, "''")}'`);
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('domain_events', (t) => {
    t.bigIncrements('id').primary();
    // The message id receivers see (webhook-id): not guessable, unlike the row id.
    t.uuid('public_id').notNullable().unique().defaultTo(knex.raw('gen_random_uuid()'));
    t.string('type', 64).notNullable();
    t.string('natural_key', 255).notNullable().unique();
    // Whose listings the fact is about: a realtor's endpoints receive only their own.
    t.bigInteger('realtor_id').references('id').inTable('users').onDelete('SET NULL');
    t.bigInteger('property_id').references('id').inTable('properties').onDelete('SET NULL');
    t.jsonb('payload').notNullable();
    t.timestamp('occurred_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('dispatched_at', { useTz: true });
  });
  // The dispatcher's queue: only the rows not dispatched yet.
  await knex.raw('CREATE INDEX idx_domain_events_undispatched ON domain_events (id) WHERE dispatched_at IS NULL');

  await knex.schema.createTable('webhook_endpoints', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('owner_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('url', 2048).notNullable();
    t.string('description', 500);
    t.specificType('event_types', 'text[]').notNullable();
    // Standard Webhooks secret (whsec_ + base64): the key every delivery is signed with.
    t.text('secret').notNullable();
    t.boolean('enabled').notNullable().defaultTo(true);
    t.timestamp('disabled_at', { useTz: true });
    t.string('disabled_reason', 500);
    // Since when every attempt has failed (cleared by a success or re-enabling).
    t.timestamp('failing_since', { useTz: true });
    t.timestamp('last_success_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['owner_id'], 'idx_webhook_endpoints_owner_id');
  });

  await knex.schema.createTable('webhook_deliveries', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('endpoint_id').notNullable().references('id').inTable('webhook_endpoints').onDelete('CASCADE');
    t.bigInteger('event_id').notNullable().references('id').inTable('domain_events').onDelete('CASCADE');
    t.bigInteger('redelivery_of').references('id').inTable('webhook_deliveries').onDelete('SET NULL');
    t.string('status', 16).notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.integer('last_status_code');
    t.string('last_error', 1000);
    t.timestamp('last_attempt_at', { useTz: true });
    t.timestamp('next_attempt_at', { useTz: true });
    t.timestamp('delivered_at', { useTz: true });
    t.timestamp('failed_at', { useTz: true });
    t.timestamp('workflow_started_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['endpoint_id', 'id'], 'idx_webhook_deliveries_endpoint');
    t.index(['event_id'], 'idx_webhook_deliveries_event_id');
  });
  await knex.raw("ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_status_check CHECK (status IN ('pending', 'delivered', 'failed'))");
  // One delivery per event and endpoint, however often the dispatcher runs; redeliveries aside.
  await knex.raw('CREATE UNIQUE INDEX webhook_deliveries_event_endpoint_unique ON webhook_deliveries (event_id, endpoint_id) WHERE redelivery_of IS NULL');
  // The dispatcher's sweep: deliveries whose workflow has not been started yet.
  await knex.raw("CREATE INDEX idx_webhook_deliveries_unstarted ON webhook_deliveries (id) WHERE workflow_started_at IS NULL AND status = 'pending'");

  for (const table of ['webhook_endpoints', 'webhook_deliveries']) {
    await knex.raw(`CREATE TRIGGER ${table}_set_updated_at BEFORE UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION set_updated_at()`);
  }

  await knex.schema.createTable('webhook_delivery_attempts', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('delivery_id').notNullable().references('id').inTable('webhook_deliveries').onDelete('CASCADE');
    t.integer('attempt').notNullable();
    t.timestamp('attempted_at', { useTz: true }).notNullable();
    t.integer('response_status');
    t.string('error', 1000);
    t.string('response_excerpt', 1000);
    t.integer('duration_ms').notNullable();
    t.unique(['delivery_id', 'attempt'], { indexName: 'webhook_delivery_attempts_unique' });
  });

  // Why each table exists, where operators look first (\d+ in psql).
  await commentOn(knex, 'domain_events', 'Transactional outbox of domain facts (booking.confirmed, tour.ended, ...): written once per fact by the activity where it became true (natural_key is unique), turned into webhook deliveries by the worker\'s dispatcher, which sets dispatched_at.');
  await commentOn(knex, 'webhook_endpoints', 'Outbound webhook endpoints registered by realtors (events of their own listings) and admins (all events); disabled by the system when every delivery has failed for WEBHOOKS_DISABLE_AFTER_HOURS.');
  await commentOn(knex, 'webhook_deliveries', 'One delivery of one domain event to one endpoint, sent by its own webhookDeliveryWorkflow (id from this row\'s id); the delivery log of the endpoint. A redelivery is a new row with redelivery_of set.');
  await commentOn(knex, 'webhook_delivery_attempts', 'Every HTTP attempt of a webhook delivery (its number is the workflow\'s, so a retried activity records it once).');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('webhook_delivery_attempts');
  await knex.schema.dropTableIfExists('webhook_deliveries');
  await knex.schema.dropTableIfExists('webhook_endpoints');
  await knex.schema.dropTableIfExists('domain_events');
}
