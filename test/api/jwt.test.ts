import { createHmac, generateKeyPairSync, createPublicKey } from 'node:crypto';
import request from 'supertest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { loadOrCreateSigningKey, signJwt } from '../../adapters/identity/local';
import { buildTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { createTimeSkippingEnv } from '../support/temporal';
import { signUp, signUpAdmin, type SignedIn } from '../support/users';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

function decode(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h, p] = token.split('.');
  return { header: JSON.parse(Buffer.from(h!, 'base64url').toString()), payload: JSON.parse(Buffer.from(p!, 'base64url').toString()) };
}

describe('access-token verification on a protected route (GET /api/v1/auth/me)', () => {
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  let t: TestApp;
  let user: SignedIn;
  let idToken: string;
  let key: ReturnType<typeof loadOrCreateSigningKey>;
  let validClaims: Record<string, unknown>;

  const me = (authorization?: string) => {
    const req = request(t.callback).get('/api/v1/auth/me');
    return authorization === undefined ? req : req.set('Authorization', authorization);
  };
  const now = () => Math.floor(Date.now() / 1000);
  const signed = (claims: Record<string, unknown>) => signJwt(key.privateKey, key.jwk.kid, claims);

  beforeAll(async () => {
    [db, env] = await Promise.all([createTestDatabase(), createTimeSkippingEnv()]);
    t = await buildTestApp({ knex: db.knex, env });
    user = await signUp(t, 'buyer');
    const res = await request(t.callback).post('/api/v1/auth/login').send({ email: user.email, password: user.password });
    idToken = res.body.data.attributes.id_token;
    key = loadOrCreateSigningKey(t.config.identity.local.keyDir);
    validClaims = decode(user.accessToken).payload;
  });

  afterAll(async () => {
    t?.cleanup();
    await Promise.all([db?.destroy(), env?.teardown()]);
  });

  it('when the token is a well-formed access token signed by the pool key, then 200 (control for every case below)', async () => {
    expect((await me(`Bearer ${user.accessToken}`)).status).toBe(200);
    expect((await me(`Bearer ${signed({ ...validClaims, jti: 'crafted-jti', iat: now(), exp: now() + 600 })}`)).status).toBe(200);
  });

  const cases: Array<[string, () => string | undefined]> = [
    ['no Authorization header', () => undefined],
    ['a non-Bearer scheme', () => `Basic ${Buffer.from('a:b').toString('base64')}`],
    ['a malformed token', () => 'Bearer not-a-jwt'],
    ['three garbage segments', () => 'Bearer aaa.bbb.ccc'],
    ['alg: none', () => `Bearer ${b64({ alg: 'none', typ: 'JWT', kid: key.jwk.kid })}.${b64(validClaims)}.`],
    [
      'HS256 signed with the public key',
      () => {
        const pem = createPublicKey(key.privateKey).export({ type: 'spki', format: 'pem' });
        const head = `${b64({ alg: 'HS256', typ: 'JWT', kid: key.jwk.kid })}.${b64(validClaims)}`;
        return `Bearer ${head}.${createHmac('sha256', pem).update(head).digest('base64url')}`;
      },
    ],
    ['a valid signature but the wrong issuer', () => `Bearer ${signed({ ...validClaims, iss: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Evil' })}`],
    ['the wrong client id', () => `Bearer ${signed({ ...validClaims, client_id: 'someone-elses-client' })}`],
    ['an id token where an access token is required', () => `Bearer ${idToken}`],
    ['an expired token', () => `Bearer ${signed({ ...validClaims, iat: now() - 7200, exp: now() - 3600 })}`],
    ['nbf in the future', () => `Bearer ${signed({ ...validClaims, nbf: now() + 3600 })}`],
    [
      'an unknown kid',
      () => {
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        return `Bearer ${signJwt(privateKey, 'unknown-kid', validClaims)}`;
      },
    ],
    [
      'another key using the pool key id',
      () => {
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        return `Bearer ${signJwt(privateKey, key.jwk.kid, validClaims)}`;
      },
    ],
    [
      'a payload altered after signing',
      () => {
        const [h, , s] = user.accessToken.split('.');
        return `Bearer ${h}.${b64({ ...validClaims, 'cognito:groups': ['admin'] })}.${s}`;
      },
    ],
  ];

  it.each(cases)('when the request has %s, then 401 with the one UNAUTHORIZED body', async (_name, token) => {
    const res = await me(token());
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.body.success).toBe(false);
    expect(res.body.errors).toEqual([{ code: 'UNAUTHORIZED', message: 'Authentication required', field: null }]);
  });

  it('when an admin has disabled the user, then their still-valid token is refused with the same body', async () => {
    const victim = await signUp(t, 'realtor');
    expect((await me(`Bearer ${victim.accessToken}`)).status).toBe(200);
    // Through the admin API: the guard caches signed-in users briefly and the admin service invalidates them.
    const admin = await signUpAdmin(t, db.knex);
    expect((await request(t.callback).put(`/api/v1/admin/users/${victim.id}`).set(admin.auth).send({ disabled: true })).status).toBe(200);
    const res = await me(`Bearer ${victim.accessToken}`);
    expect(res.status).toBe(401);
    expect(res.body.errors).toEqual([{ code: 'UNAUTHORIZED', message: 'Authentication required', field: null }]);
  });

  it('when a deleted user presents a valid token, then 401 and the users row is not recreated', async () => {
    const victim = await signUp(t, 'buyer');
    await db.knex('users').where({ id: victim.id }).update({ deleted_at: new Date() });
    expect((await me(`Bearer ${victim.accessToken}`)).status).toBe(401);
    expect(await db.knex('users').where({ email: victim.email }).count<{ count: string }[]>('* as count')).toEqual([{ count: 1 }]);
  });

  it('when a valid token belongs to an account with no users row yet, then the row is created from the provider on first use', async () => {
    // An account made outside the API (e.g. in the Cognito console): the identity exists, the users row does not.
    const email = `outside-${Date.now()}@example.com`;
    const { sub } = await t.adapters.identity.register({ email, password: 'outside-pass-1', fullName: 'First Sight', role: 'realtor' });
    expect(await db.knex('users').where({ cognito_sub: sub }).first()).toBeUndefined();
    const session = await t.adapters.identity.login(email, 'outside-pass-1');
    const res = await me(`Bearer ${session.accessToken}`);
    expect(res.status).toBe(200);
    expect(res.body.data.attributes).toMatchObject({ email, full_name: 'First Sight', role: 'realtor' });
    const row = await db.knex('users').where({ cognito_sub: sub }).first();
    expect(row).toMatchObject({ email, role: 'realtor' });
    expect(await db.knex('audit_logs').where({ action: 'user_created', resource_id: row.id }).first()).toMatchObject({ user_id: row.id });
  });
});
