import type { Knex } from 'knex';

/**
 * Identity and audit: account state on users, the local identity provider's own tables
 * (credentials never live in `users`), and an append-only audit log.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.timestamp('disabled_at', { useTz: true });
    t.timestamp('deleted_at', { useTz: true });
    t.string('avatar_key', 1024);
  });

  await knex.schema.alterTable('audit_logs', (t) => {
    t.string('request_id', 128);
    t.index(['action'], 'idx_audit_logs_action');
    t.index(['resource_type', 'resource_id'], 'idx_audit_logs_resource');
  });
  await knex.raw(`
    CREATE FUNCTION audit_logs_append_only() RETURNS trigger AS $$
    BEGIN
      RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql;
  `);
  // Statement-level, so even an UPDATE or DELETE that matches no row is refused.
  await knex.raw(`CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_logs
                  FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_append_only()`);

  // The local identity provider: what Cognito keeps for a user pool.
  await knex.schema.createTable('local_identity_users', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('sub').notNullable().unique();
    t.string('email', 255).notNullable();
    t.string('full_name', 255).notNullable();
    t.text('password_hash').notNullable();
    t.specificType('groups', 'text[]').notNullable().defaultTo('{}');
    t.boolean('confirmed').notNullable().defaultTo(true);
    t.boolean('enabled').notNullable().defaultTo(true);
    t.timestamp('password_changed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('CREATE UNIQUE INDEX local_identity_users_email_lower ON local_identity_users (lower(email))');

  await knex.schema.createTable('local_refresh_tokens', (t) => {
    t.bigIncrements('id').primary();
    t.string('token_hash', 64).notNullable().unique();
    t.uuid('sub').notNullable().references('sub').inTable('local_identity_users').onDelete('CASCADE');
    // The origin_jti of every token issued from this refresh token.
    t.uuid('origin_jti').notNullable().unique();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('revoked_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['sub'], 'idx_local_refresh_tokens_sub');
  });

  await knex.schema.createTable('local_password_resets', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('sub').notNullable().references('sub').inTable('local_identity_users').onDelete('CASCADE');
    t.string('code_hash', 64).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['sub'], 'idx_local_password_resets_sub');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('local_password_resets');
  await knex.schema.dropTableIfExists('local_refresh_tokens');
  await knex.schema.dropTableIfExists('local_identity_users');
  await knex.raw('DROP TRIGGER IF EXISTS audit_logs_append_only ON audit_logs');
  await knex.raw('DROP FUNCTION IF EXISTS audit_logs_append_only()');
  await knex.schema.alterTable('audit_logs', (t) => {
    t.dropIndex(['resource_type', 'resource_id'], 'idx_audit_logs_resource');
    t.dropIndex(['action'], 'idx_audit_logs_action');
    t.dropColumn('request_id');
  });
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('avatar_key');
    t.dropColumn('deleted_at');
    t.dropColumn('disabled_at');
  });
}
