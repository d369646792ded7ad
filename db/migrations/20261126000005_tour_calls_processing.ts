import type { Knex } from 'knex';

/**
 * Live calls and post-tour processing: the meeting as the provider returned it, capture
 * pipelines, who joined, and one row per processing step so a resumed pipeline knows what
 * is already done. One recording and one transcript per tour, so retried steps overwrite.
 */

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tours', (t) => {
    t.string('processing_step', 50);
    t.text('processing_error');
  });
  await knex.schema.alterTable('calls', (t) => {
    t.jsonb('meeting');
    t.jsonb('recording_pipelines').notNullable().defaultTo('[]');
    t.boolean('recording_active').notNullable().defaultTo(false);
  });
  await knex.schema.createTable('call_attendees', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('call_id').notNullable().references('id').inTable('calls').onDelete('CASCADE');
    t.bigInteger('user_id').notNullable().references('id').inTable('users').onDelete('RESTRICT');
    t.string('attendee_id', 255).notNullable();
    t.timestamp('joined_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('left_at', { useTz: true });
    t.unique(['call_id', 'user_id'], { indexName: 'call_attendees_call_user_unique' });
  });
  await knex.schema.createTable('tour_processing_steps', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('tour_id').notNullable().references('id').inTable('tours').onDelete('CASCADE');
    t.string('step', 50).notNullable();
    t.string('status', 20).notNullable();
    t.text('detail');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['tour_id', 'step'], { indexName: 'tour_processing_steps_tour_step_unique' });
    t.check(`status IN ('running', 'done', 'skipped', 'failed')`, [], 'tour_processing_steps_status_check');
  });
  await knex.schema.alterTable('recordings', (t) => {
    t.string('content_type', 100);
    t.string('source', 20);
    t.unique(['tour_id'], { indexName: 'recordings_tour_unique' });
  });
  await knex.schema.alterTable('transcripts', (t) => {
    t.string('language', 20);
    t.string('model', 100);
    t.unique(['tour_id'], { indexName: 'transcripts_tour_unique' });
  });
  await knex.schema.alterTable('highlights', (t) => {
    t.string('source', 20);
    t.index(['tour_id'], 'idx_highlights_tour_id');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('highlights', (t) => {
    t.dropIndex(['tour_id'], 'idx_highlights_tour_id');
    t.dropColumn('source');
  });
  await knex.schema.alterTable('transcripts', (t) => {
    t.dropUnique(['tour_id'], 'transcripts_tour_unique');
    t.dropColumn('model');
    t.dropColumn('language');
  });
  await knex.schema.alterTable('recordings', (t) => {
    t.dropUnique(['tour_id'], 'recordings_tour_unique');
    t.dropColumn('source');
    t.dropColumn('content_type');
  });
  await knex.schema.dropTableIfExists('tour_processing_steps');
  await knex.schema.dropTableIfExists('call_attendees');
  await knex.schema.alterTable('calls', (t) => {
    t.dropColumn('recording_active');
    t.dropColumn('recording_pipelines');
    t.dropColumn('meeting');
  });
  await knex.schema.alterTable('tours', (t) => {
    t.dropColumn('processing_error');
    t.dropColumn('processing_step');
  });
}
