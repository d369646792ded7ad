import type { Knex } from 'knex';

/**
 * Availability (issue 14, point 1): when tours of a listing can be booked.
 *
 * - `realtor_availability`: a realtor's weekly hours in an IANA zone, buffer and notice.
 * - `property_availability`: a listing's overrides of those, and its default tour length.
 * - `availability_exceptions`: dated days off and extra hours, the realtor's or a listing's.
 * - `bookings.buffer_minutes` / `busy_until`: the buffer a booking was made with, and the end
 *   of its time plus that buffer (kept by trigger). An exclusion constraint over
 *   [scheduled_at, busy_until) per realtor makes the database refuse two live bookings
 *   closer than the buffer, as it already refuses overlapping tours. Bookings made where no
 *   hours are set keep a NULL buffer and stay outside the constraint (any time requestable).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('realtor_availability', (t) => {
    t.comment(
      "Bookable hours of a realtor: weekly windows (jsonb {mon:[{start,end}],...}, wall-clock HH:MM) in time_zone, the buffer kept between tours and the minimum notice. No row: the listings of the realtor take requests at any time, as before availability existed.",
    );
    t.bigInteger('realtor_id').primary().references('id').inTable('users').onDelete('CASCADE');
    t.string('time_zone', 64).notNullable();
    t.jsonb('weekly_hours').notNullable();
    t.integer('buffer_minutes').notNullable().defaultTo(0);
    // NULL: BOOKING_MIN_NOTICE_MINUTES.
    t.integer('min_notice_minutes');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check('buffer_minutes BETWEEN 0 AND 240', [], 'realtor_availability_buffer_check');
    t.check('min_notice_minutes BETWEEN 0 AND 43200', [], 'realtor_availability_notice_check');
  });

  await knex.schema.createTable('property_availability', (t) => {
    t.comment(
      "Overrides by one listing of the availability of its realtor (a NULL column falls back to the realtor value; hours without a zone of their own are read in the zone of the realtor, else UTC) and its default tour length, the length of the free slots buyers are offered.",
    );
    t.bigInteger('property_id').primary().references('id').inTable('properties').onDelete('CASCADE');
    t.string('time_zone', 64);
    t.jsonb('weekly_hours');
    t.integer('buffer_minutes');
    t.integer('min_notice_minutes');
    t.integer('duration_minutes').notNullable().defaultTo(30);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check('buffer_minutes BETWEEN 0 AND 240', [], 'property_availability_buffer_check');
    t.check('min_notice_minutes BETWEEN 0 AND 43200', [], 'property_availability_notice_check');
    t.check('duration_minutes BETWEEN 15 AND 240', [], 'property_availability_duration_check');
  });

  await knex.schema.createTable('availability_exceptions', (t) => {
    t.comment(
      "Dated exceptions to weekly hours, in the time zone of the listing: day_off closes start_time-end_time of the date, extra_hours opens it (no times: the whole date; an end at or before the start is on the next day). Owned by a realtor (all their listings) or by one listing (applied after those of the realtor).",
    );
    t.bigIncrements('id').primary();
    t.bigInteger('realtor_id').references('id').inTable('users').onDelete('CASCADE');
    t.bigInteger('property_id').references('id').inTable('properties').onDelete('CASCADE');
    t.date('date').notNullable();
    t.string('kind', 20).notNullable();
    t.specificType('start_time', 'time');
    t.specificType('end_time', 'time');
    t.string('note', 500);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check('(realtor_id IS NULL) <> (property_id IS NULL)', [], 'availability_exceptions_owner_check');
    t.check("kind IN ('day_off', 'extra_hours')", [], 'availability_exceptions_kind_check');
    t.check('(start_time IS NULL) = (end_time IS NULL)', [], 'availability_exceptions_times_check');
    // 24:00 ends a date; it starts none.
    t.check("start_time IS NULL OR start_time < time '24:00'", [], 'availability_exceptions_start_check');
    t.index(['realtor_id', 'date'], 'idx_availability_exceptions_realtor_date');
    t.index(['property_id', 'date'], 'idx_availability_exceptions_property_date');
  });

  for (const table of ['realtor_availability', 'property_availability']) {
    await knex.raw(`CREATE TRIGGER ${table}_set_updated_at BEFORE UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION set_updated_at()`);
  }

  await knex.schema.alterTable('bookings', (t) => {
    t.integer('buffer_minutes');
    t.timestamp('busy_until', { useTz: true });
  });
  // Whoever writes the row: busy_until follows the time, the length and the buffer. A
  // function of its own (not set_ends_at), so the two triggers need no order between them.
  await knex.raw(`
    CREATE FUNCTION set_busy_until() RETURNS trigger AS $$
    BEGIN
      NEW.busy_until = CASE WHEN NEW.buffer_minutes IS NULL THEN NULL
        ELSE NEW.scheduled_at + make_interval(mins => COALESCE(NEW.duration_minutes, 30) + NEW.buffer_minutes) END;
      RETURN NEW;
    END;
    $$ LANGUAGE plpgsql;
  `);
  await knex.raw(`CREATE TRIGGER bookings_set_busy_until BEFORE INSERT OR UPDATE OF scheduled_at, duration_minutes, buffer_minutes ON bookings
                  FOR EACH ROW EXECUTE FUNCTION set_busy_until()`);
  await knex.raw(`ALTER TABLE bookings
    ADD CONSTRAINT bookings_buffer_check CHECK (buffer_minutes BETWEEN 0 AND 240),
    ADD CONSTRAINT bookings_realtor_buffer_no_overlap EXCLUDE USING gist (realtor_id WITH =, tstzrange(scheduled_at, busy_until) WITH &&)
      WHERE (status IN ('pending', 'confirmed') AND busy_until IS NOT NULL)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE bookings
    DROP CONSTRAINT IF EXISTS bookings_realtor_buffer_no_overlap,
    DROP CONSTRAINT IF EXISTS bookings_buffer_check`);
  await knex.raw('DROP TRIGGER IF EXISTS bookings_set_busy_until ON bookings');
  await knex.raw('DROP FUNCTION IF EXISTS set_busy_until()');
  await knex.schema.alterTable('bookings', (t) => {
    t.dropColumn('busy_until');
    t.dropColumn('buffer_minutes');
  });
  await knex.schema.dropTableIfExists('availability_exceptions');
  await knex.schema.dropTableIfExists('property_availability');
  await knex.schema.dropTableIfExists('realtor_availability');
}
