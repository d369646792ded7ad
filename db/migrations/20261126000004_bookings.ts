import type { Knex } from 'knex';

/**
 * Bookings and tours as the BookingWorkflow drives them: statuses, reasons, an end time
 * kept by trigger, and the database's own guarantees against double-booking:
 * - two live tours (not cancelled) of one property, or of one realtor, never overlap;
 * - a buyer never holds two pending/confirmed bookings that overlap.
 * Plus the Idempotency-Key ledger for POST requests.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE EXTENSION IF NOT EXISTS btree_gist');

  await knex.schema.alterTable('bookings', (t) => {
    t.timestamp('ends_at', { useTz: true });
    t.bigInteger('realtor_id').references('id').inTable('users').onDelete('RESTRICT');
    t.text('cancellation_reason');
    t.text('decline_reason');
    t.bigInteger('cancelled_by').references('id').inTable('users').onDelete('RESTRICT');
    t.integer('ics_sequence').notNullable().defaultTo(0);
    t.timestamp('workflow_started_at', { useTz: true });
    t.timestamp('status_changed_at', { useTz: true });
    t.index(['realtor_id'], 'idx_bookings_realtor_id');
    t.index(['status'], 'idx_bookings_status');
  });
  await knex.schema.alterTable('tours', (t) => {
    t.integer('duration_minutes').notNullable().defaultTo(30);
    t.timestamp('ends_at', { useTz: true });
  });

  // ends_at follows scheduled_at and duration_minutes, whoever writes the row.
  await knex.raw(`
    CREATE FUNCTION set_ends_at() RETURNS trigger AS $$
    BEGIN
      NEW.ends_at = NEW.scheduled_at + make_interval(mins => COALESCE(NEW.duration_minutes, 30));
      RETURN NEW;
    END;
    $$ LANGUAGE plpgsql;
  `);
  for (const table of ['bookings', 'tours']) {
    await knex.raw(`CREATE TRIGGER ${table}_set_ends_at BEFORE INSERT OR UPDATE OF scheduled_at, duration_minutes ON ${table}
                    FOR EACH ROW EXECUTE FUNCTION set_ends_at()`);
    await knex.raw(`UPDATE ${table} SET scheduled_at = scheduled_at`);
    await knex.raw(`ALTER TABLE ${table} ALTER COLUMN ends_at SET NOT NULL`);
  }
  // The realtor of a booking is its property's realtor when it was requested.
  await knex.raw('UPDATE bookings b SET realtor_id = p.realtor_id FROM properties p WHERE p.id = b.property_id AND b.realtor_id IS NULL');

  await knex.raw(`ALTER TABLE bookings
    ADD CONSTRAINT bookings_status_check CHECK (status IN ('pending', 'confirmed', 'declined', 'cancelled', 'expired', 'completed')),
    ADD CONSTRAINT bookings_duration_check CHECK (duration_minutes BETWEEN 15 AND 240),
    ADD CONSTRAINT bookings_buyer_no_overlap EXCLUDE USING gist (buyer_id WITH =, tstzrange(scheduled_at, ends_at) WITH &&)
      WHERE (status IN ('pending', 'confirmed'))`);
  await knex.raw(`ALTER TABLE tours
    ADD CONSTRAINT tours_status_check CHECK (status IN ('scheduled', 'in_progress', 'processing', 'completed', 'cancelled', 'processing_failed')),
    ADD CONSTRAINT tours_property_no_overlap EXCLUDE USING gist (property_id WITH =, tstzrange(scheduled_at, ends_at) WITH &&)
      WHERE (status <> 'cancelled'),
    ADD CONSTRAINT tours_realtor_no_overlap EXCLUDE USING gist (realtor_id WITH =, tstzrange(scheduled_at, ends_at) WITH &&)
      WHERE (status <> 'cancelled')`);

  await knex.schema.createTable('idempotency_keys', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('key', 255).notNullable();
    t.string('request_hash', 64).notNullable();
    t.string('resource_type', 50).notNullable();
    t.bigInteger('resource_id').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['user_id', 'key'], { indexName: 'idempotency_keys_user_key_unique' });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('idempotency_keys');
  await knex.raw(`ALTER TABLE tours
    DROP CONSTRAINT IF EXISTS tours_realtor_no_overlap,
    DROP CONSTRAINT IF EXISTS tours_property_no_overlap,
    DROP CONSTRAINT IF EXISTS tours_status_check`);
  await knex.raw(`ALTER TABLE bookings
    DROP CONSTRAINT IF EXISTS bookings_buyer_no_overlap,
    DROP CONSTRAINT IF EXISTS bookings_duration_check,
    DROP CONSTRAINT IF EXISTS bookings_status_check`);
  for (const table of ['bookings', 'tours']) await knex.raw(`DROP TRIGGER IF EXISTS ${table}_set_ends_at ON ${table}`);
  await knex.raw('DROP FUNCTION IF EXISTS set_ends_at()');
  await knex.schema.alterTable('tours', (t) => {
    t.dropColumn('ends_at');
    t.dropColumn('duration_minutes');
  });
  await knex.schema.alterTable('bookings', (t) => {
    t.dropIndex(['status'], 'idx_bookings_status');
    t.dropIndex(['realtor_id'], 'idx_bookings_realtor_id');
    t.dropColumn('status_changed_at');
    t.dropColumn('workflow_started_at');
    t.dropColumn('ics_sequence');
    t.dropColumn('cancelled_by');
    t.dropColumn('decline_reason');
    t.dropColumn('cancellation_reason');
    t.dropColumn('realtor_id');
    t.dropColumn('ends_at');
  });
  // The extension may be shared with other schemas; it is left installed.
}
