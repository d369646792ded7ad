import { createTestDatabase, type TestDatabase } from '../support/db';
import { migrateLatest, migrationConfig } from '../../db/knex';

// The seed schema's tables and columns (issue appendix), plus the additions.
const EXPECTED_COLUMNS: Record<string, string[]> = {
  users: ['id', 'full_name', 'email', 'role', 'cognito_sub', 'created_at', 'updated_at'],
  properties: ['id', 'realtor_id', 'address', 'mls_id', 'description', 'price', 'bedrooms', 'bathrooms', 'sqft', 'status', 'created_at', 'updated_at'],
  bookings: ['id', 'buyer_id', 'property_id', 'scheduled_at', 'status', 'duration_minutes', 'notes', 'created_at', 'updated_at'],
  tours: ['id', 'property_id', 'realtor_id', 'buyer_id', 'booking_id', 'status', 'scheduled_at', 'started_at', 'ended_at', 'summary', 'created_at', 'updated_at'],
  calls: ['id', 'tour_id', 'chime_meeting_id', 'status', 'started_at', 'ended_at', 'created_at', 'updated_at'],
  tour_notes: ['id', 'tour_id', 'user_id', 'content', 'tag', 'timestamp_ms', 'created_at', 'updated_at'],
  transcripts: ['id', 'tour_id', 'full_text', 'segments', 'confidence_score', 'created_at', 'updated_at'],
  highlights: ['id', 'tour_id', 'timestamp_ms', 'note', 'image_url', 'highlight_type', 'created_at', 'updated_at'],
  recordings: ['id', 'tour_id', 'mux_asset_id', 'storage_key', 'playback_url', 'duration_seconds', 'file_size_bytes', 'recorded_at', 'created_at', 'updated_at'],
  audit_logs: ['id', 'user_id', 'action', 'resource_type', 'resource_id', 'details', 'created_at'],
  property_images: ['id', 'property_id', 'original_key', 'processed_key', 'thumbnail_key', 'status', 'width', 'height', 'position'],
  notifications: ['id', 'idempotency_key', 'template', 'recipient', 'status', 'sent_at'],
};

// table → the indexed column lists the seed names.
const EXPECTED_INDEXES: Array<[string, string]> = [
  ['users', 'email'],
  ['properties', 'realtor_id'],
  ['properties', 'status'],
  ['bookings', 'buyer_id'],
  ['bookings', 'property_id'],
  ['bookings', 'scheduled_at'],
  ['tours', 'property_id'],
  ['tours', 'realtor_id'],
  ['tours', 'buyer_id'],
  ['tours', 'scheduled_at'],
  ['calls', 'tour_id'],
  ['tour_notes', 'tour_id'],
  ['audit_logs', 'user_id'],
  ['audit_logs', 'created_at'],
];

const EXPECTED_UNIQUE: Array<[string, string]> = [
  ['users', 'email'],
  ['users', 'cognito_sub'],
  ['properties', 'mls_id'],
  ['calls', 'chime_meeting_id'],
  ['recordings', 'mux_asset_id'],
  ['notifications', 'idempotency_key'],
];

const EXPECTED_FKS: Array<[string, string, string]> = [
  ['properties', 'realtor_id', 'users'],
  ['bookings', 'buyer_id', 'users'],
  ['bookings', 'property_id', 'properties'],
  ['tours', 'property_id', 'properties'],
  ['tours', 'realtor_id', 'users'],
  ['tours', 'buyer_id', 'users'],
  ['tours', 'booking_id', 'bookings'],
  ['calls', 'tour_id', 'tours'],
  ['tour_notes', 'tour_id', 'tours'],
  ['tour_notes', 'user_id', 'users'],
  ['transcripts', 'tour_id', 'tours'],
  ['highlights', 'tour_id', 'tours'],
  ['recordings', 'tour_id', 'tours'],
  ['audit_logs', 'user_id', 'users'],
  ['property_images', 'property_id', 'properties'],
];

async function indexedColumns(db: TestDatabase): Promise<Array<{ table: string; columns: string; unique: boolean }>> {
  const { rows } = await db.knex.raw(`
    SELECT t.relname AS table, ix.indisunique AS unique,
           string_agg(a.attname, ',' ORDER BY array_position(ix.indkey, a.attnum)) AS columns
      FROM pg_index ix
      JOIN pg_class t ON t.oid = ix.indrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(ix.indkey)
     GROUP BY t.relname, ix.indexrelid, ix.indisunique`);
  return rows;
}

describe('migrations', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: false });
    await migrateLatest(db.knex);
  });

  afterAll(async () => {
    await db?.destroy();
  });

  it('when run on an empty database, then every seed table has its columns', async () => {
    for (const [table, columns] of Object.entries(EXPECTED_COLUMNS)) {
      const info = await db.knex(table).columnInfo();
      expect({ table, missing: columns.filter((c) => !(c in info)) }).toEqual({ table, missing: [] });
    }
  });

  it('when run, then the seed defaults hold', async () => {
    const [user] = await db.knex('users').insert({ full_name: 'Ann', email: 'ann@example.com', cognito_sub: 'sub-ann' }).returning('*');
    expect(user.role).toBe('buyer');
    expect(user.created_at).toBeInstanceOf(Date);
    const [property] = await db.knex('properties').insert({ realtor_id: user.id, address: '1 Main St' }).returning('*');
    expect(property.status).toBe('active');
    const [booking] = await db.knex('bookings')
      .insert({ buyer_id: user.id, realtor_id: user.id, property_id: property.id, scheduled_at: new Date() })
      .returning('*');
    expect(booking).toMatchObject({ status: 'pending', duration_minutes: 30 });
    expect(typeof booking.id).toBe('number');
  });

  it('when run, then every index the seed lists exists', async () => {
    const indexes = await indexedColumns(db);
    for (const [table, column] of EXPECTED_INDEXES) {
      expect({ table, column, found: indexes.some((i) => i.table === table && i.columns === column) }).toEqual({ table, column, found: true });
    }
    for (const [table, column] of EXPECTED_UNIQUE) {
      expect({ table, column, unique: indexes.some((i) => i.table === table && i.columns === column && i.unique) }).toEqual({ table, column, unique: true });
    }
  });

  it('when run, then every foreign key points at its table', async () => {
    const { rows } = await db.knex.raw(`
      SELECT cl.relname AS table, att.attname AS column, ref.relname AS ref
        FROM pg_constraint c
        JOIN pg_class cl ON cl.oid = c.conrelid
        JOIN pg_class ref ON ref.oid = c.confrelid
        JOIN pg_attribute att ON att.attrelid = c.conrelid AND att.attnum = c.conkey[1]
       WHERE c.contype = 'f'`);
    for (const [table, column, ref] of EXPECTED_FKS) {
      expect(rows).toContainEqual({ table, column, ref });
    }
  });

  it('when a row is updated, then updated_at moves and created_at stays', async () => {
    const [u] = await db.knex('users').insert({ full_name: 'Bo', email: 'bo@example.com', cognito_sub: 'sub-bo' }).returning('*');
    await new Promise((r) => setTimeout(r, 20));
    const [after] = await db.knex('users').where({ id: u.id }).update({ full_name: 'Bob' }).returning('*');
    expect(after.updated_at.getTime()).toBeGreaterThan(u.updated_at.getTime());
    expect(after.created_at.getTime()).toBe(u.created_at.getTime());
  });

  it('when a user has an unknown role, then the database refuses it', async () => {
    await expect(
      db.knex('users').insert({ full_name: 'X', email: 'x@example.com', cognito_sub: 'sub-x', role: 'superuser' }),
    ).rejects.toMatchObject({ code: '23514' });
  });

  it('when a notification key repeats, then the second insert is refused', async () => {
    const row = { idempotency_key: 'reminder:1:2026-01-01T00:00:00Z', template: 'reminder', recipient: 'a@example.com' };
    await db.knex('notifications').insert(row);
    await expect(db.knex('notifications').insert(row)).rejects.toMatchObject({ code: '23505' });
  });

  it('when rolled back with --all, then no table is left, and it migrates forward again', async () => {
    await db.knex.migrate.rollback(migrationConfig(), true);
    const { rows } = await db.knex.raw(
      `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'knex_migrations%'`,
    );
    expect(rows).toEqual([]);
    const { rows: fns } = await db.knex.raw(`SELECT 1 FROM pg_proc WHERE proname = 'set_updated_at'`);
    expect(fns).toEqual([]);
    await migrateLatest(db.knex);
    expect(await db.knex.schema.hasTable('notifications')).toBe(true);
  });
});
