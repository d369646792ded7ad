import type { Knex } from 'knex';

/**
 * What a listing needs to be searched: location and type columns, listing-standard
 * statuses, a generated tsvector over address and description with a GIN index, and
 * indexes for the buyer search's filters and sorts over available listings.
 */
const PROPERTY_STATUSES = ['active', 'coming_soon', 'pending', 'active_under_contract', 'closed', 'withdrawn', 'expired'];

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('properties', (t) => {
    t.string('city', 120);
    t.string('state', 50);
    t.string('postal_code', 20);
    t.string('property_type', 50);
    t.decimal('latitude', 9, 6);
    t.decimal('longitude', 9, 6);
    // Kept when bookings refer to a deleted listing; such rows are invisible everywhere.
    t.timestamp('deleted_at', { useTz: true });
  });
  await knex.raw(`ALTER TABLE properties
    ADD CONSTRAINT properties_status_check CHECK (status IN (${PROPERTY_STATUSES.map((s) => `'${s}'`).join(', ')})),
    ADD CONSTRAINT properties_price_check CHECK (price IS NULL OR price >= 0),
    ADD CONSTRAINT properties_rooms_check CHECK ((bedrooms IS NULL OR bedrooms >= 0) AND (bathrooms IS NULL OR bathrooms >= 0) AND (sqft IS NULL OR sqft >= 0)),
    ADD CONSTRAINT properties_coordinates_check CHECK ((latitude IS NULL OR latitude BETWEEN -90 AND 90) AND (longitude IS NULL OR longitude BETWEEN -180 AND 180))`);
  await knex.raw(`ALTER TABLE properties ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('english', coalesce(address, '') || ' ' || coalesce(city, '') || ' ' || coalesce(description, ''))) STORED`);
  await knex.raw('CREATE INDEX idx_properties_search ON properties USING GIN (search)');

  // Buyer search reads only available, undeleted listings: partial indexes per sort.
  const available = `WHERE status IN ('active', 'coming_soon') AND deleted_at IS NULL`;
  await knex.raw(`CREATE INDEX idx_properties_available_price ON properties (price, id) ${available}`);
  await knex.raw(`CREATE INDEX idx_properties_available_newest ON properties (created_at DESC, id DESC) ${available}`);
  await knex.raw(`CREATE INDEX idx_properties_available_sqft ON properties (sqft, id) ${available}`);
  await knex.raw(`CREATE INDEX idx_properties_available_city ON properties (lower(city), price, id) ${available}`);
  await knex.raw(`CREATE INDEX idx_properties_available_postal_code ON properties (postal_code, price, id) ${available}`);
  await knex.raw('CREATE INDEX idx_properties_property_type ON properties (property_type)');
}

export async function down(knex: Knex): Promise<void> {
  for (const index of [
    'idx_properties_property_type',
    'idx_properties_available_postal_code',
    'idx_properties_available_city',
    'idx_properties_available_sqft',
    'idx_properties_available_newest',
    'idx_properties_available_price',
    'idx_properties_search',
  ]) {
    await knex.raw(`DROP INDEX IF EXISTS ${index}`);
  }
  await knex.raw(`ALTER TABLE properties
    DROP CONSTRAINT IF EXISTS properties_coordinates_check,
    DROP CONSTRAINT IF EXISTS properties_rooms_check,
    DROP CONSTRAINT IF EXISTS properties_price_check,
    DROP CONSTRAINT IF EXISTS properties_status_check`);
  await knex.schema.alterTable('properties', (t) => {
    t.dropColumn('search');
    t.dropColumn('deleted_at');
    t.dropColumn('longitude');
    t.dropColumn('latitude');
    t.dropColumn('property_type');
    t.dropColumn('postal_code');
    t.dropColumn('state');
    t.dropColumn('city');
  });
}
