import type { Knex } from 'knex';

/**
 * Rate-limit counters shared by every API instance (rate-limiter-flexible's
 * RateLimiterPostgres layout: key, points, expire in epoch ms). Created here rather than
 * by the library at start, so a read-only runtime role works and rollbacks remove it.
 */

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('rate_limits', (t) => {
    t.string('key', 255).primary();
    t.integer('points').notNullable().defaultTo(0);
    t.bigInteger('expire');
    // The limiter sweeps expired rows by this column.
    t.index(['expire'], 'rate_limits_expire_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('rate_limits');
}
