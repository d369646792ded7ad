import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import request from 'supertest';
import { buildAdapters } from '../../adapters';
import { createApp } from '../../api/app';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { createTemporalClient, type TemporalHandle } from '../../lib/temporal';
import { parseSeedArgs, UsageError } from '../../scripts/seed/args';
import { planProperties, planUsers } from '../../scripts/seed/plan';
import { runScript, type ScriptRun } from '../support/scripts';
import { createTestDatabase, type TestDatabase } from '../support/db';

/** `npm run seed` without npm. */
function seed(args: string[], env: Record<string, string>): Promise<ScriptRun> {
  return runScript('scripts/seed.ts', args, env, 90_000);
}

const ARGS = ['--properties', '300', '--realtors', '5', '--buyers', '2', '--seed', '7'];
const PASSWORD = 'seed-pass-123';
const AVAILABLE = ['active', 'coming_soon'];

async function count(db: TestDatabase, table: string, where: Record<string, unknown> = {}): Promise<number> {
  return Number((await db.knex(table).where(where).count<{ n: string }[]>({ n: '*' }))[0]!.n);
}

function tempDataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'rfy-seed-'));
  chmodSync(dir, 0o755);
  return dir;
}

describe('scripts/seed.ts', () => {
  let db: TestDatabase;
  let twin: TestDatabase;
  let dataDir: string;
  let twinDataDir: string;
  let first: ScriptRun;
  let temporal: TemporalHandle | undefined;

  beforeAll(async () => {
    [db, twin] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    dataDir = tempDataDir();
    twinDataDir = tempDataDir();
    first = await seed(ARGS, { DATABASE_URL: db.url, DATA_DIR: dataDir });
  }, 120_000);

  afterAll(async () => {
    await temporal?.connection.close();
    for (const dir of [dataDir, twinDataDir]) if (dir) rmSync(dir, { recursive: true, force: true });
    await Promise.all([db?.destroy(), twin?.destroy()]);
  });

  it('when run with --properties 300 --realtors 5 --buyers 2, then it exits 0 and prints a summary with the password and sample logins', () => {
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
    expect(first.stdout).toMatch(/properties: 300\b/);
    expect(first.stdout).toMatch(/5 realtors, 2 buyers/);
    expect(first.stdout).toContain(PASSWORD);
    expect(first.stdout).toContain('seed1-realtor-0001@example.com');
    expect(first.stdout).toContain('seed1-buyer-0001@example.com');
  });

  it('then the users exist with their roles, each with an identity whose sub is the cognito_sub', async () => {
    const users = await db.knex('users').orderBy('id');
    expect(users.filter((u) => u.role === 'realtor')).toHaveLength(5);
    expect(users.filter((u) => u.role === 'buyer')).toHaveLength(2);
    const identities = await db.knex('local_identity_users');
    expect(identities.map((i) => String(i.sub)).sort()).toEqual(users.map((u) => u.cognito_sub).sort());
    for (const i of identities) expect(i.groups).toEqual([users.find((u) => u.cognito_sub === String(i.sub))!.role]);
  });

  it('then 300 plausible properties exist, owned by realtors, with statuses spread and mostly active', async () => {
    const rows = await db.knex('properties').join('users', 'users.id', 'properties.realtor_id').select('properties.*', 'users.role as owner_role');
    expect(rows).toHaveLength(300);
    expect(new Set(rows.map((r) => r.owner_role))).toEqual(new Set(['realtor']));

    const byStatus: Record<string, number> = {};
    for (const r of rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    expect(Object.keys(byStatus).length).toBeGreaterThanOrEqual(4);
    expect(byStatus.active!).toBeGreaterThan(150);
    expect(Object.entries(byStatus).sort((a, b) => b[1] - a[1])[0]![0]).toBe('active');
    expect(rows.filter((r) => !AVAILABLE.includes(r.status)).length).toBeGreaterThan(20);

    const yearAgo = Date.now() - 366 * 86_400_000;
    for (const r of rows) {
      expect(r.address).toMatch(/^\d+ \w+/);
      expect(r.city).toBeTruthy();
      expect(r.state).toMatch(/^[A-Z]{2}$/);
      expect(r.postal_code).toMatch(/^\d{5}$/);
      expect(Number(r.price)).toBeGreaterThan(0);
      expect(r.mls_id).toMatch(/^SEED1-\d{6}$/);
      expect(r.created_at.getTime()).toBeGreaterThan(yearAgo);
      expect(r.created_at.getTime()).toBeLessThanOrEqual(Date.now());
      if (r.property_type !== 'land') expect(r.sqft).toBeGreaterThan(200);
    }
    expect(new Set(rows.map((r) => r.property_type)).size).toBeGreaterThanOrEqual(4);
    expect(new Set(rows.map((r) => r.city)).size).toBeGreaterThanOrEqual(10);

    // Prices follow size: the bigger half of the houses in a city costs more on average.
    const houses = rows.filter((r) => r.property_type === 'single_family').sort((a, b) => a.sqft - b.sqft);
    const mean = (xs: Array<{ price: string; sqft: number }>) => xs.reduce((s, x) => s + Number(x.price) / 1, 0) / xs.length;
    expect(mean(houses.slice(houses.length / 2))).toBeGreaterThan(mean(houses.slice(0, houses.length / 2)));

    for (const word of ['granite', 'pool']) {
      const hits = await db.knex('properties').whereRaw(`search @@ websearch_to_tsquery('english', ?)`, [word]).count<{ n: string }[]>({ n: '*' });
      expect({ word, found: Number(hits[0]!.n) > 10 }).toEqual({ word, found: true });
    }
  });

  it('then every property has 3 ready images whose stored files exist and are real images', async () => {
    expect(await count(db, 'property_images')).toBe(900);
    expect(await count(db, 'property_images', { status: 'ready' })).toBe(900);
    const perProperty = await db.knex('property_images').select('property_id').count<{ n: string }[]>({ n: '*' }).groupBy('property_id');
    expect(new Set(perProperty.map((p) => Number(p.n)))).toEqual(new Set([3]));

    const files = await db.knex('property_images').distinct('original_key', 'processed_key', 'thumbnail_key', 'processed_width', 'thumbnail_width');
    expect(files.length).toBeGreaterThan(1);
    for (const f of files) {
      for (const key of [f.original_key, f.processed_key, f.thumbnail_key]) {
        expect({ key, exists: existsSync(path.join(dataDir, 'storage', key)) }).toEqual({ key, exists: true });
      }
      const large = await sharp(path.join(dataDir, 'storage', f.processed_key)).metadata();
      const thumb = await sharp(path.join(dataDir, 'storage', f.thumbnail_key)).metadata();
      expect({ format: large.format, width: large.width }).toEqual({ format: 'webp', width: f.processed_width });
      expect({ format: thumb.format, width: thumb.width }).toEqual({ format: 'webp', width: f.thumbnail_width });
    }
  });

  it('then a seeded buyer signs in with the printed password and finds listings by a description word, with image URLs', async () => {
    const config = loadConfig({ ...process.env, DATA_DIR: dataDir, AUTH_RATE_LIMIT_MAX: '100000' });
    const logger = createLogger(config, 'seed-test');
    const adapters = buildAdapters(config, db.knex, logger);
    // Search never reaches Temporal; the lazy client is never connected.
    temporal = createTemporalClient('127.0.0.1:1', config.temporal);
    const app = createApp({
      config, logger, knex: db.knex, temporal: temporal.client, adapters,
      temporalProbe: { check: () => Promise.reject(new Error('no Temporal here')), close: async () => undefined },
    }).callback();

    const login = await request(app).post('/api/v1/auth/login').send({ email: 'seed1-buyer-0001@example.com', password: PASSWORD });
    expect(login.status).toBe(200);
    const auth = { Authorization: `Bearer ${login.body.data.attributes.access_token}` };

    const res = await request(app).get('/api/v1/buyers/properties?q=granite&per_page=100').set(auth);
    expect(res.status).toBe(200);
    expect(res.body.meta.total_count).toBeGreaterThan(0);
    for (const p of res.body.data) {
      expect(p.attributes.description.toLowerCase()).toContain('granite');
      expect(AVAILABLE).toContain(p.attributes.status);
      expect(p.relationships.images.data).toHaveLength(3);
      expect(p.relationships.images.data[0].attributes.url).toMatch(/\/files\/seed\/images\/\d+\/large\.webp\?expires=/);
    }

    const realtor = await request(app).post('/api/v1/auth/login').send({ email: 'seed1-realtor-0001@example.com', password: PASSWORD });
    expect(realtor.status).toBe(200);
    const own = await request(app).get('/api/v1/realtors/properties').set({ Authorization: `Bearer ${realtor.body.data.attributes.access_token}` });
    const realtorId = (await db.knex('users').where({ email: 'seed1-realtor-0001@example.com' }).first()).id;
    expect(own.status).toBe(200);
    expect(own.body.meta.total_count).toBe(await count(db, 'properties', { realtor_id: realtorId }));
  });

  it('when the same seed runs on another fresh database, then the properties come out the same, in order', async () => {
    const again = await seed(ARGS, { DATABASE_URL: twin.url, DATA_DIR: twinDataDir });
    expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: '' });
    const columns = ['address', 'city', 'state', 'postal_code', 'property_type', 'price', 'bedrooms', 'bathrooms', 'sqft', 'status', 'description', 'mls_id'];
    const a = await db.knex('properties').orderBy('id').limit(300).select(columns);
    const b = await twin.knex('properties').orderBy('id').select(columns);
    expect(b.map((r) => r.address)).toEqual(a.map((r) => r.address));
    expect(b).toEqual(a);
  }, 120_000);

  it('when run again on the same database, then it adds a second run with new emails and MLS ids', async () => {
    const second = await seed(ARGS, { DATABASE_URL: db.url, DATA_DIR: dataDir });
    expect({ code: second.code, stderr: second.stderr }).toEqual({ code: 0, stderr: '' });
    expect(second.stdout).toContain('seed2-buyer-0001@example.com');
    expect(await count(db, 'properties')).toBe(600);
    expect(await count(db, 'users')).toBe(14);
    expect(await db.knex('properties').whereRaw(`mls_id LIKE 'SEED2-%'`).count<{ n: string }[]>({ n: '*' }).then((r) => Number(r[0]!.n))).toBe(300);
  }, 120_000);

  it('when run with --reset, then the listings are replaced, audit_logs is untouched, and only seeded users no audit entry names are removed', async () => {
    const auditBefore = await count(db, 'audit_logs');
    // The earlier sign-ins left audit entries naming two seed1 users: they must stay.
    const named = await db.knex('users').whereIn('id', db.knex('audit_logs').select('user_id').whereNotNull('user_id')).pluck('email');
    expect(named.length).toBeGreaterThan(0);

    const reset = await seed([...ARGS, '--reset'], { DATABASE_URL: db.url, DATA_DIR: dataDir });
    expect({ code: reset.code, stderr: reset.stderr }).toEqual({ code: 0, stderr: '' });
    expect(reset.stdout).toMatch(/removed 600 properties and \d+ seeded users/);
    expect(await count(db, 'properties')).toBe(300);
    expect(await count(db, 'property_images')).toBe(900);
    expect(await count(db, 'audit_logs')).toBe(auditBefore);
    const emails = await db.knex('users').pluck('email');
    for (const email of named) expect(emails).toContain(email);
    expect(emails.filter((e: string) => e.startsWith('seed2-'))).toEqual([]);
    expect(emails.filter((e: string) => e.startsWith('seed3-'))).toHaveLength(7);
    expect(reset.stdout).toContain('seed3-buyer-0001@example.com');
    expect(await count(db, 'users')).toBe(named.length + 7);
    // Identities follow their users.
    expect(await count(db, 'local_identity_users')).toBe(await count(db, 'users'));
  }, 120_000);

  it('when an argument is unknown or malformed, then exit 2 with the usage line and nothing written', async () => {
    const before = await count(twin, 'properties');
    for (const args of [['--properties', 'lots'], ['--bogus'], ['--properties', '10', '--realtors', '0'], ['--password', 'short']]) {
      const run = await seed(args, { DATABASE_URL: twin.url, DATA_DIR: twinDataDir });
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr).toMatch(/^usage: npm run seed -- --properties <n>/m);
      expect(run.stdout).toBe('');
    }
    expect(await count(twin, 'properties')).toBe(before);
  }, 120_000);
});

describe('seed planning, without a database', () => {
  it('when no options are given, then the documented defaults apply', () => {
    expect(parseSeedArgs([])).toEqual({ properties: 1000, realtors: 200, buyers: 50, imagesPerProperty: 3, seed: 42, password: PASSWORD, reset: false });
    expect(() => parseSeedArgs(['--images-per-property', '21'])).toThrow(UsageError);
  });

  it('when planned twice with the same arguments, then the plans are equal; another run gets its own MLS ids and emails', () => {
    const args = { count: 40, seed: 7, run: 1, realtors: 5 };
    expect(planProperties(args)).toEqual(planProperties(args));
    expect(planProperties({ ...args, run: 2 })[0]!.mls_id).toBe('SEED2-000001');
    expect(planUsers({ realtors: 1, buyers: 1, seed: 7, run: 3 }).map((u) => [u.role, u.email])).toEqual([
      ['realtor', 'seed3-realtor-0001@example.com'],
      ['buyer', 'seed3-buyer-0001@example.com'],
    ]);
  });

  it('when the realtor count changes, then the listings stay the same and only their owners move', () => {
    const few = planProperties({ count: 60, seed: 7, run: 1, realtors: 2 });
    const many = planProperties({ count: 60, seed: 7, run: 1, realtors: 50 });
    const listing = ({ realtorIndex: _r, ...p }: (typeof few)[number]) => p;
    expect(many.map(listing)).toEqual(few.map(listing));
    expect(new Set(few.map((p) => p.realtorIndex))).toEqual(new Set([0, 1]));
    expect(Math.max(...many.map((p) => p.realtorIndex))).toBeGreaterThan(1);
  });
});
