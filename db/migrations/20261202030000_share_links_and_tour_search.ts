import type { Knex } from 'knex';

/**
 * Share links for a tour's recap, and full-text search over what was said and written in a
 * tour.
 *
 * share_links: a link's token is shown once and stored only as its SHA-256, so a database
 * leak yields no working link; the unique index on the hash is how a token is found (no
 * comparison of secrets in application code). Revocation keeps the row (who revoked, when)
 * so the owners still see the link's history and view count.
 *
 * Search: expression GIN indexes, not stored columns or a search table, so the writers of
 * transcripts, highlights and notes stay their only writers and the rows they read back are
 * unchanged; queries repeat these exact expressions (db/repositories/tour-search.repository.ts).
 * A transcript's segments live in one jsonb array, so its index finds the transcripts that
 * can match and the query then matches segment by segment, keeping each segment's time.
 */

// The text search configuration every search expression uses (the queries repeat it).
const SEARCH_CONFIG = 'english';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('share_links', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('tour_id').notNullable().references('id').inTable('tours').onDelete('CASCADE');
    t.bigInteger('created_by').notNullable().references('id').inTable('users').onDelete('RESTRICT');
    // base64url of a SHA-256 digest: 43 characters.
    t.string('token_hash', 43).notNullable();
    t.specificType('include', 'text[]').notNullable();
    t.string('label', 100);
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('revoked_at', { useTz: true });
    t.bigInteger('revoked_by').references('id').inTable('users').onDelete('RESTRICT');
    t.integer('view_count').notNullable().defaultTo(0);
    t.timestamp('last_viewed_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['token_hash'], { indexName: 'share_links_token_hash_unique' });
    t.index(['tour_id'], 'idx_share_links_tour_id');
    t.check(`cardinality(include) > 0 AND include <@ ARRAY['summary', 'highlights', 'transcript', 'recording']::text[]`, [], 'share_links_include_check');
    t.check(`expires_at > created_at AND expires_at <= created_at + interval '30 days'`, [], 'share_links_expiry_check');
    t.check('view_count >= 0', [], 'share_links_view_count_check');
    t.check('(revoked_at IS NULL) = (revoked_by IS NULL)', [], 'share_links_revoked_check');
  });
  await knex.raw(`COMMENT ON TABLE share_links IS 'Expiring, revocable public links to a tour recap. Tokens are stored as SHA-256 only (shown once at creation); revoked links are kept for their history and view count.'`);
  await knex.raw('CREATE TRIGGER share_links_set_updated_at BEFORE UPDATE ON share_links FOR EACH ROW EXECUTE FUNCTION set_updated_at()');

  await knex.raw(`CREATE INDEX idx_transcripts_search ON transcripts USING GIN (jsonb_to_tsvector('${SEARCH_CONFIG}', coalesce(segments, '[]'::jsonb), '["string"]'))`);
  await knex.raw(`CREATE INDEX idx_highlights_search ON highlights USING GIN (to_tsvector('${SEARCH_CONFIG}', coalesce(note, '')))`);
  await knex.raw(`CREATE INDEX idx_tour_notes_search ON tour_notes USING GIN (to_tsvector('${SEARCH_CONFIG}', content))`);
  await knex.raw(`COMMENT ON INDEX idx_transcripts_search IS 'Tour search: which transcripts can match; segments are then matched one by one (their times are the result).'`);
}

export async function down(knex: Knex): Promise<void> {
  for (const index of ['idx_tour_notes_search', 'idx_highlights_search', 'idx_transcripts_search']) {
    await knex.raw(`DROP INDEX IF EXISTS ${index}`);
  }
  await knex.schema.dropTableIfExists('share_links');
}
