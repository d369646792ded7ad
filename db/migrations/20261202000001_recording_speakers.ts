import type { Knex } from 'knex';

/**
 * Who spoke when, as the meeting provider reported it (Chime's active-speaker events),
 * relative to the start of the joined recording: transcript segments are labelled from it.
 * Null where the provider gives none (uploads, local meetings).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('recordings', (t) => {
    t.jsonb('speaker_turns');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('recordings', (t) => {
    t.dropColumn('speaker_turns');
  });
}
