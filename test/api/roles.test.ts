import request from 'supertest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ACCESS_TABLE, type Access } from '../../api/access-table';
import type { Role } from '../../db/repositories/users.repository';
import { buildTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { createTimeSkippingEnv } from '../support/temporal';
import { signUp, signUpAdmin, type SignedIn } from '../support/users';

/**
 * Generated from the access table: every route outside a role is 403 for that role, every
 * non-public route is 401 without a token, and a role the table allows gets past the guard.
 */
const ROLES: Role[] = ['buyer', 'realtor', 'admin'];
const roleList = (access: Access): readonly Role[] | null => (typeof access === 'string' ? null : access);
const entries = Object.entries(ACCESS_TABLE).map(([key, access]) => {
  const [method, path] = key.split(' ') as [string, string];
  // Any id will do: the guard answers before the route looks anything up.
  return { key, method: method.toLowerCase() as 'get' | 'post' | 'put' | 'delete', path: path.replace(/:[a-z_]+/g, '999999'), access };
});

const forbidden = entries.flatMap((e) => {
  const roles = roleList(e.access);
  return roles ? ROLES.filter((r) => !roles.includes(r)).map((role) => [e.key, role, e] as const) : [];
});
const allowed = entries.flatMap((e) => {
  const roles = roleList(e.access) ?? (e.access === 'authenticated' ? ROLES : []);
  return roles.map((role) => [e.key, role, e] as const);
});
const protectedRoutes = entries.filter((e) => e.access !== 'public').map((e) => [e.key, e] as const);

describe('role × route matrix from the access table', () => {
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  let t: TestApp;
  const users = {} as Record<Role, SignedIn>;

  beforeAll(async () => {
    [db, env] = await Promise.all([createTestDatabase(), createTimeSkippingEnv()]);
    t = await buildTestApp({ knex: db.knex, env });
    [users.buyer, users.realtor, users.admin] = await Promise.all([signUp(t, 'buyer'), signUp(t, 'realtor'), signUpAdmin(t, db.knex)]);
  });

  afterAll(async () => {
    t?.cleanup();
    await Promise.all([db?.destroy(), env?.teardown()]);
  });

  it('when the table is read, then it restricts at least one route per role area', () => {
    expect(forbidden.length).toBeGreaterThan(0);
    expect(protectedRoutes.length).toBeGreaterThan(0);
  });

  it.each(forbidden)('when %s is called by a %s, then 403 FORBIDDEN', async (_key, role, e) => {
    const res = await request(t.callback)[e.method](e.path).set(users[role].auth).send({});
    expect(res.status).toBe(403);
    expect(res.body.errors[0].code).toBe('FORBIDDEN');
  });

  it.each(protectedRoutes)('when %s is called without a token, then 401', async (_key, e) => {
    const res = await request(t.callback)[e.method](e.path).send({});
    expect(res.status).toBe(401);
    expect(res.body.errors[0].code).toBe('UNAUTHORIZED');
  });

  it.each(allowed)('when %s is called by a %s, then the guard lets it through', async (_key, role, e) => {
    const res = await request(t.callback)[e.method](e.path).set(users[role].auth).send({});
    expect([401, 403]).not.toContain(res.status);
  });
});
