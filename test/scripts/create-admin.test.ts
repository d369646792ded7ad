import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { buildTestApp, type TestApp } from '../support/app';
import { runScript, type ScriptRun } from '../support/scripts';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { createTimeSkippingEnv } from '../support/temporal';
import { login, uniqueEmail } from '../support/users';

/** `npm run create-admin` without npm. */
function createAdmin(args: string[], env: Record<string, string>): Promise<ScriptRun> {
  return runScript('scripts/create-admin.ts', args, env, 50_000);
}

const USAGE = /^usage: npm run create-admin -- --email <email> --password <password> --name/m;

describe('scripts/create-admin.ts', () => {
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  let dataDir: string;
  let scriptEnv: Record<string, string>;
  let t: TestApp | undefined;

  beforeAll(async () => {
    [db, env] = await Promise.all([createTestDatabase(), createTimeSkippingEnv()]);
    dataDir = mkdtempSync(path.join(tmpdir(), 'rfy-create-admin-'));
    chmodSync(dataDir, 0o755);
    scriptEnv = { DATABASE_URL: db.url, DATA_DIR: dataDir };
  });

  afterAll(async () => {
    t?.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
    await Promise.all([db?.destroy(), env?.teardown()]);
  });

  it('when run with email, password and name, then exit 0, an admin row and an admin_created audit entry exist, and the admin can use admin routes', async () => {
    const email = uniqueEmail('script-admin');
    const password = 'script-admin-pass-1';
    const run = await createAdmin(['--email', email.toUpperCase(), '--password', password, '--name', 'Scripted Admin'], scriptEnv);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/admin created: id \d+/);
    expect(run.stdout).toContain(email);
    expect(run.stdout).not.toContain(password);

    const user = await db.knex('users').where({ email }).first();
    expect(user).toMatchObject({ email, full_name: 'Scripted Admin', role: 'admin', disabled_at: null, deleted_at: null });
    expect(run.stdout).toContain(`id ${user.id}`);
    const audit = await db.knex('audit_logs').where({ action: 'admin_created', resource_type: 'user', resource_id: user.id });
    expect(audit).toHaveLength(1);

    // Same data folder, so the app signs and verifies with the key the script created.
    t = await buildTestApp({ knex: db.knex, env, config: { DATA_DIR: dataDir } });
    const admin = await login(t, email, password);
    expect(admin.id).toBe(user.id);
    const claims = JSON.parse(Buffer.from(admin.accessToken.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims['cognito:groups']).toEqual(['admin']);

    const list = await request(t.callback).get('/api/v1/admin/users').set(admin.auth);
    expect(list.status).toBe(200);
    expect(list.body.data.map((u: { attributes: { email: string } }) => u.attributes.email)).toContain(email);
  });

  it('when run again with the same email (in any letter case), then it exits non-zero saying the email exists, and nothing is added', async () => {
    const email = uniqueEmail('script-twice');
    const first = await createAdmin(['--email', email, '--password', 'script-twice-pass-1', '--name', 'Twice'], scriptEnv);
    expect(first.code).toBe(0);
    const before = {
      users: Number((await db.knex('users').count({ n: '*' }))[0]!.n),
      audit: Number((await db.knex('audit_logs').count({ n: '*' }))[0]!.n),
    };

    for (const again of [email, email.toUpperCase()]) {
      const run = await createAdmin(['--email', again, '--password', 'other-pass-123', '--name', 'Twice Again'], scriptEnv);
      expect(run.code).not.toBe(0);
      expect(run.code).not.toBeNull();
      expect(run.stderr).toMatch(new RegExp(`create-admin failed: .*${email.replace(/[.+]/g, '\\$&')}.*already exists`, 'i'));
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
    expect({
      users: Number((await db.knex('users').count({ n: '*' }))[0]!.n),
      audit: Number((await db.knex('audit_logs').count({ n: '*' }))[0]!.n),
    }).toEqual(before);
  });

  it('when an argument is missing or unknown, then exit 2 with the usage line and no database work', async () => {
    const before = Number((await db.knex('users').count({ n: '*' }))[0]!.n);
    const cases = [
      [],
      ['--email', 'missing-name@example.com', '--password', 'missing-name-1'],
      ['--email', 'missing-pass@example.com', '--name', 'No Password'],
      ['--password', 'missing-email-1', '--name', 'No Email'],
      ['--email', 'extra@example.com', '--password', 'extra-pass-1', '--name', 'Extra', '--role', 'admin'],
    ];
    for (const args of cases) {
      const run = await createAdmin(args, scriptEnv);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr).toMatch(USAGE);
      expect(run.stdout).toBe('');
    }
    expect(Number((await db.knex('users').count({ n: '*' }))[0]!.n)).toBe(before);
  });
  it('when a value breaks the sign-up rules (bad email, blank or over-long name, short password), then exit 2 naming the option, and nothing is created', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--email', 'not-an-email', '--password', 'valid-pass-123', '--name', 'Bad Email'], /^--email: must be a valid email address$/m],
      [['--email', uniqueEmail('blank'), '--password', 'valid-pass-123', '--name', '   '], /^--name: must not be empty$/m],
      [['--email', uniqueEmail('long'), '--password', 'valid-pass-123', '--name', 'n'.repeat(300)], /^--name: /m],
      [['--email', uniqueEmail('short'), '--password', 'short', '--name', 'Short Password'], /^--password: must be at least 8 characters$/m],
    ];
    for (const [args, message] of cases) {
      const run = await createAdmin(args, scriptEnv);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toMatch(USAGE);
      expect(run.stderr).not.toMatch(/\n\s+at |insert into/i);
      const email = args[1]!.toLowerCase();
      expect(await db.knex('users').where({ email }).first()).toBeUndefined();
      expect(await db.knex('local_identity_users').where({ email }).first()).toBeUndefined();
    }
  });

  it('when the configuration is invalid, then exit 1 listing the bad key, without a stack trace', async () => {
    const run = await createAdmin(['--email', uniqueEmail('config'), '--password', 'valid-pass-123', '--name', 'Config'], { ...scriptEnv, DATABASE_URL: 'mysql://localhost/db' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
