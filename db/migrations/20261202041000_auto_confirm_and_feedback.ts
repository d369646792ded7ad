import type { Knex } from 'knex';

/**
 * Auto-confirm and buyer feedback (issue 14, points 2 and 3).
 *
 * - `property_availability.auto_confirm`: the listing's realtor lets a request that fits its
 *   availability be confirmed at once (ShowingTime's "auto-approve"). It sits with the other
 *   per-listing availability settings, and goes with them when the realtor clears them.
 * - `bookings.auto_confirm`: this request was made to such a listing, so the API confirms it as
 *   the listing's realtor on creation (and again on an idempotent retry, until it is).
 * - `tour_feedback`: what the buyer of a tour thought of it, one row per tour, editable for a
 *   while after it was given (the window is the contract's, checked by the API).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('property_availability', (t) => {
    t.boolean('auto_confirm').notNullable().defaultTo(false);
  });
  await knex.raw(
    "COMMENT ON COLUMN property_availability.auto_confirm IS 'A request that fits the availability of the listing is confirmed at once, as its realtor, by the booking workflow (same tour, call and emails as a confirmation by hand).'",
  );

  await knex.schema.alterTable('bookings', (t) => {
    t.boolean('auto_confirm').notNullable().defaultTo(false);
  });
  await knex.raw(
    "COMMENT ON COLUMN bookings.auto_confirm IS 'Requested of an auto-confirm listing: the API confirms it as the realtor when it is made, and again on a retry with the same Idempotency-Key while it is still pending.'",
  );

  await knex.schema.createTable('tour_feedback', (t) => {
    t.comment(
      'What the buyer of a tour thought of the showing (ShowingTime-style feedback): one row per tour, given once after the tour ended and editable for a window after that. property_id and realtor_id are copied from the tour for the per-listing aggregates.',
    );
    t.bigIncrements('id').primary();
    t.bigInteger('tour_id').notNullable().references('id').inTable('tours').onDelete('CASCADE');
    t.bigInteger('buyer_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.bigInteger('property_id').notNullable().references('id').inTable('properties').onDelete('CASCADE');
    t.bigInteger('realtor_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.smallint('rating').notNullable();
    t.string('interest_level', 30).notNullable();
    t.string('price_opinion', 30).notNullable();
    t.text('comments');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['tour_id'], { indexName: 'tour_feedback_tour_unique' });
    t.index(['property_id', 'created_at'], 'idx_tour_feedback_property_created');
    t.check('rating BETWEEN 1 AND 5', [], 'tour_feedback_rating_check');
    t.check("interest_level IN ('not_interested', 'somewhat_interested', 'very_interested')", [], 'tour_feedback_interest_check');
    t.check("price_opinion IN ('too_low', 'about_right', 'too_high')", [], 'tour_feedback_price_check');
    t.check('comments IS NULL OR char_length(comments) <= 2000', [], 'tour_feedback_comments_check');
  });
  await knex.raw('CREATE TRIGGER tour_feedback_set_updated_at BEFORE UPDATE ON tour_feedback FOR EACH ROW EXECUTE FUNCTION set_updated_at()');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('tour_feedback');
  await knex.schema.alterTable('bookings', (t) => {
    t.dropColumn('auto_confirm');
  });
  await knex.schema.alterTable('property_availability', (t) => {
    t.dropColumn('auto_confirm');
  });
}
