import type { Knex } from 'knex';

/**
 * Workflow commands safe to retry (issue 15, point 5): an Idempotency-Key sent with a command
 * (confirm, decline, cancel, reschedule, start, end) is kept in `idempotency_keys` as booking
 * creation's are, its `resource_type` naming the command (`booking_confirm`, `tour_end`, …).
 * `completed_at` marks a command whose answer was given: a retry is then answered from the
 * database alone, without Temporal. Until then a retry sends the command again under the same
 * update id, which Temporal answers with the first attempt's outcome.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idempotency_keys', (t) => {
    t.timestamp('completed_at', { useTz: true }).nullable();
  });
  await knex.raw(
    "COMMENT ON COLUMN idempotency_keys.completed_at IS 'A workflow command sent with this key has been answered: a retry with the key is answered from the database. Null while it may still be at work (or for a booking creation, whose retries do not read it).'",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idempotency_keys', (t) => {
    t.dropColumn('completed_at');
  });
}
