import type { Knex } from 'knex';

/**
 * The seed schema, plus what the seed's code used but its schema forgot:
 * property_images, tours.summary, recordings.storage_key and the notifications ledger.
 * Timestamps are TIMESTAMPTZ so every stored instant is unambiguous UTC.
 */

const TABLES_WITH_UPDATED_AT = [
  'users',
  'properties',
  'property_images',
  'bookings',
  'tours',
  'calls',
  'tour_notes',
  'transcripts',
  'highlights',
  'recordings',
  'notifications',
];

function timestamps(knex: Knex, t: Knex.CreateTableBuilder): void {
  t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
}

function fk(t: Knex.CreateTableBuilder, column: string, table: string, onDelete: 'CASCADE' | 'RESTRICT' | 'SET NULL') {
  return t.bigInteger(column).references('id').inTable(table).onDelete(onDelete);
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.bigIncrements('id').primary();
    t.string('full_name', 255).notNullable();
    t.string('email', 255).notNullable().unique();
    t.string('role', 50).defaultTo('buyer');
    t.string('cognito_sub', 255).notNullable().unique();
    timestamps(knex, t);
    t.index(['email'], 'idx_users_email');
    t.check("role IN ('buyer', 'realtor', 'admin')", [], 'users_role_check');
  });

  await knex.schema.createTable('properties', (t) => {
    t.bigIncrements('id').primary();
    fk(t, 'realtor_id', 'users', 'RESTRICT');
    t.text('address').notNullable();
    t.string('mls_id', 255).unique();
    t.text('description');
    t.decimal('price', 12, 2);
    t.integer('bedrooms');
    t.integer('bathrooms');
    t.integer('sqft');
    t.string('status', 50).defaultTo('active');
    timestamps(knex, t);
    t.index(['realtor_id'], 'idx_properties_realtor_id');
    t.index(['status'], 'idx_properties_status');
  });

  await knex.schema.createTable('property_images', (t) => {
    t.bigIncrements('id').primary();
    fk(t, 'property_id', 'properties', 'CASCADE').notNullable();
    t.string('original_key', 1024).notNullable();
    t.string('processed_key', 1024);
    t.string('thumbnail_key', 1024);
    t.string('status', 50).notNullable().defaultTo('pending');
    t.text('failure_reason');
    t.string('content_type', 100);
    t.bigInteger('byte_size');
    t.integer('width');
    t.integer('height');
    t.integer('processed_width');
    t.integer('processed_height');
    t.integer('thumbnail_width');
    t.integer('thumbnail_height');
    t.integer('position').notNullable().defaultTo(0);
    timestamps(knex, t);
    t.index(['property_id', 'position'], 'idx_property_images_property_id_position');
    t.check("status IN ('pending', 'processing', 'ready', 'failed')", [], 'property_images_status_check');
  });

  await knex.schema.createTable('bookings', (t) => {
    t.bigIncrements('id').primary();
    fk(t, 'buyer_id', 'users', 'RESTRICT');
    fk(t, 'property_id', 'properties', 'RESTRICT');
    t.timestamp('scheduled_at', { useTz: true }).notNullable();
    t.string('status', 50).defaultTo('pending');
    t.integer('duration_minutes').defaultTo(30);
    t.text('notes');
    timestamps(knex, t);
    t.index(['buyer_id'], 'idx_bookings_buyer_id');
    t.index(['property_id'], 'idx_bookings_property_id');
    t.index(['scheduled_at'], 'idx_bookings_scheduled_at');
  });

  await knex.schema.createTable('tours', (t) => {
    t.bigIncrements('id').primary();
    fk(t, 'property_id', 'properties', 'RESTRICT');
    fk(t, 'realtor_id', 'users', 'RESTRICT');
    fk(t, 'buyer_id', 'users', 'RESTRICT');
    // One tour per booking: a retried confirmation finds the tour it already made.
    fk(t, 'booking_id', 'bookings', 'RESTRICT').unique();
    t.string('status', 50).defaultTo('scheduled');
    t.timestamp('scheduled_at', { useTz: true }).notNullable();
    t.timestamp('started_at', { useTz: true });
    t.timestamp('ended_at', { useTz: true });
    t.jsonb('summary');
    timestamps(knex, t);
    t.index(['property_id'], 'idx_tours_property_id');
    t.index(['realtor_id'], 'idx_tours_realtor_id');
    t.index(['buyer_id'], 'idx_tours_buyer_id');
    t.index(['scheduled_at'], 'idx_tours_scheduled_at');
  });

  await knex.schema.createTable('calls', (t) => {
    t.bigIncrements('id').primary();
    fk(t, 'tour_id', 'tours', 'CASCADE');
    t.string('chime_meeting_id', 255).notNullable().unique();
    t.string('status', 50).defaultTo('created');
    t.timestamp('started_at', { useTz: true });
    t.timestamp('ended_at', { useTz: true });
    timestamps(knex, t);
    t.index(['tour_id'], 'idx_calls_tour_id');
  });

  await knex.schema.createTable('tour_notes', (t) => {
    t.bigIncrements('id').primary();
    fk(t, 'tour_id', 'tours', 'CASCADE');
    fk(t, 'user_id', 'users', 'RESTRICT');
    t.text('content').notNullable();
    t.string('tag', 100);
    t.bigInteger('timestamp_ms');
    timestamps(knex, t);
    t.index(['tour_id'], 'idx_tour_notes_tour_id');
  });

  await knex.schema.createTable('transcripts', (t) => {
    t.bigIncrements('id').primary();
    fk(t, 'tour_id', 'tours', 'CASCADE');
    t.text('full_text');
    t.jsonb('segments');
    t.decimal('confidence_score', 3, 2);
    timestamps(knex, t);
  });

  await knex.schema.createTable('highlights', (t) => {
    t.bigIncrements('id').primary();
    fk(t, 'tour_id', 'tours', 'CASCADE');
    t.bigInteger('timestamp_ms').notNullable();
    t.text('note');
    t.string('image_url', 500);
    t.string('highlight_type', 50);
    timestamps(knex, t);
  });

  await knex.schema.createTable('recordings', (t) => {
    t.bigIncrements('id').primary();
    fk(t, 'tour_id', 'tours', 'CASCADE');
    t.string('mux_asset_id', 255).unique();
    // Where the media lives in the storage port (S3 key or local path key).
    t.string('storage_key', 1024);
    t.string('playback_url', 500);
    t.integer('duration_seconds');
    t.bigInteger('file_size_bytes');
    t.timestamp('recorded_at', { useTz: true });
    timestamps(knex, t);
  });

  await knex.schema.createTable('audit_logs', (t) => {
    t.bigIncrements('id').primary();
    fk(t, 'user_id', 'users', 'RESTRICT');
    t.string('action', 100).notNullable();
    t.string('resource_type', 50);
    t.bigInteger('resource_id');
    t.text('details');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['user_id'], 'idx_audit_logs_user_id');
    t.index(['created_at'], 'idx_audit_logs_created_at');
  });

  // Every outbound message is recorded here before the provider is called; the unique
  // idempotency key is what stops a retried activity from sending twice.
  await knex.schema.createTable('notifications', (t) => {
    t.bigIncrements('id').primary();
    t.string('idempotency_key', 255).notNullable().unique();
    t.string('channel', 20).notNullable().defaultTo('email');
    t.string('template', 100).notNullable();
    fk(t, 'recipient_user_id', 'users', 'SET NULL');
    t.string('recipient', 255).notNullable();
    t.string('subject', 500);
    t.string('status', 20).notNullable().defaultTo('pending');
    t.string('provider_message_id', 255);
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('last_error');
    t.jsonb('payload');
    t.timestamp('sent_at', { useTz: true });
    timestamps(knex, t);
    t.index(['recipient_user_id'], 'idx_notifications_recipient_user_id');
    t.index(['status'], 'idx_notifications_status');
    t.check("status IN ('pending', 'sent', 'failed')", [], 'notifications_status_check');
  });

  await knex.raw(`
    CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger AS $$
    BEGIN
      NEW.updated_at = now();
      RETURN NEW;
    END;
    $$ LANGUAGE plpgsql;
  `);
  for (const table of TABLES_WITH_UPDATED_AT) {
    await knex.raw(
      `CREATE TRIGGER ${table}_set_updated_at BEFORE UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION set_updated_at()`,
    );
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'notifications',
    'audit_logs',
    'recordings',
    'highlights',
    'transcripts',
    'tour_notes',
    'calls',
    'tours',
    'bookings',
    'property_images',
    'properties',
    'users',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
  await knex.raw('DROP FUNCTION IF EXISTS set_updated_at()');
}
