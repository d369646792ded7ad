import type { Knex } from 'knex';

/**
 * A booking's realtor is `bookings.realtor_id` (its listing's realtor when it was
 * requested): access checks, emails and the tour read it. Every booking has one, so the
 * column is required; a row written before it was filled gets its listing's realtor.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('UPDATE bookings b SET realtor_id = p.realtor_id FROM properties p WHERE p.id = b.property_id AND b.realtor_id IS NULL');
  await knex.raw('ALTER TABLE bookings ALTER COLUMN realtor_id SET NOT NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE bookings ALTER COLUMN realtor_id DROP NOT NULL');
}
