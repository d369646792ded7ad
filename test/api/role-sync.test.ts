import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AdminAddUserToGroupCommand,
  AdminRemoveUserFromGroupCommand,
  AdminUpdateUserAttributesCommand,
  CognitoIdentityProviderClient,
  InitiateAuthCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { mockClient } from 'aws-sdk-client-mock';
import type { Jwks } from 'aws-jwt-verify/jwk';
import { LocalEmailSender } from '../../adapters/email/local';
import { Notifier } from '../../adapters/email/notifier';
import { CognitoIdentityProvider } from '../../adapters/identity/cognito';
import type { Role } from '../../adapters/identity/port';
import { LocalObjectStorage } from '../../adapters/storage/local';
import { reconcileRole } from '../../api/auth/role-sync';
import { AuthService } from '../../api/auth/service';
import { UserService } from '../../api/users/service';
import { usersRepository, type UserRecord as User } from '../../db/repositories/users.repository';
import { createLogger } from '../../lib/logger';
import { createTestDatabase, type TestDatabase } from '../support/db';

const REGION = 'eu-west-1';
const POOL_ID = 'eu-west-1_RoleSync1';
const CLIENT_ID = 'rolesync0client0id0abcdefg';
const ISSUER = `https://cognito-idp.${REGION}.amazonaws.com/${POOL_ID}`;
const KID = 'role-sync-key';

describe('the role rule', () => {
  it.each<[Role, string[], string | undefined, Role, boolean]>([
    // users.role, token groups, custom:role → users.role after, Cognito rewritten
    ['buyer', ['buyer'], 'buyer', 'buyer', false],
    ['realtor', ['realtor'], 'buyer', 'realtor', true], // attribute drift: custom:role repaired
    ['admin', ['buyer'], 'buyer', 'buyer', false], // admin taken away in Cognito: lowered here
    ['admin', ['realtor'], 'admin', 'realtor', true], // lowered, and custom:role follows the group
    ['buyer', ['admin'], 'admin', 'buyer', true], // granted only in Cognito: put back
    ['buyer', [], 'admin', 'buyer', true], // custom:role alone never raises rights
    ['realtor', [], 'buyer', 'buyer', true], // ...but, with no role group, may lower them
    ['realtor', [], undefined, 'realtor', true], // no role in Cognito at all: repaired
    ['realtor', ['realtor', 'buyer', 'staff'], 'realtor', 'realtor', false], // the highest role group counts
  ])('when users.role is %s and the token has groups %j and custom:role %s, then users.role is %s (Cognito updated: %s)', (usersRole, groups, customRole, role, updateIdentity) => {
    expect(reconcileRole(usersRole, { groups, customRole })).toMatchObject({ role, updateIdentity });
  });
});

describe('role sync at sign-in with Cognito', () => {
  const cognito = mockClient(CognitoIdentityProviderClient);
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' }] } as unknown as Jwks;
  const logger = createLogger({ logLevel: 'silent', env: 'test' });
  let db: TestDatabase;
  let dir: string;
  let identity: CognitoIdentityProvider;
  let auth: AuthService;
  let networkGuard: jest.SpyInstance;

  function signJwt(payload: Record<string, unknown>): string {
    const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const input = `${b64({ kid: KID, alg: 'RS256' })}.${b64(payload)}`;
    return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
  }

  /** InitiateAuth answers with tokens whose claims Cognito would put there. */
  function cognitoSignsIn(sub: string, groups: string[], customRole: string | undefined) {
    const now = Math.floor(Date.now() / 1000);
    const common = { sub, iss: ISSUER, 'cognito:groups': groups, origin_jti: randomUUID(), event_id: randomUUID(), auth_time: now, iat: now, exp: now + 3600, jti: randomUUID() };
    cognito.on(InitiateAuthCommand).resolves({
      AuthenticationResult: {
        AccessToken: signJwt({ ...common, token_use: 'access', client_id: CLIENT_ID, scope: 'aws.cognito.signin.user.admin', username: sub }),
        IdToken: signJwt({ ...common, token_use: 'id', aud: CLIENT_ID, email: `${sub}@example.com`, ...(customRole ? { 'custom:role': customRole } : {}) }),
        RefreshToken: 'refresh',
        ExpiresIn: 3600,
        TokenType: 'Bearer',
      },
    });
    cognito.on(AdminRemoveUserFromGroupCommand).resolves({});
    cognito.on(AdminAddUserToGroupCommand).resolves({});
    cognito.on(AdminUpdateUserAttributesCommand).resolves({});
  }

  const adminCalls = () =>
    cognito.calls().map((c) => c.args[0] as unknown as { constructor: { name: string }; input: Record<string, unknown> })
      .filter((c) => c.constructor.name !== 'InitiateAuthCommand')
      .map((c) => [c.constructor.name, c.input.GroupName ?? c.input.UserAttributes]);

  async function userWith(role: Role): Promise<User> {
    const sub = `sub-${randomUUID()}`;
    return usersRepository(db.knex).insert({ cognito_sub: sub, email: `${sub}@example.com`, full_name: 'Sync Test', role });
  }

  beforeAll(async () => {
    networkGuard = jest.spyOn(https, 'request').mockImplementation(() => {
      throw new Error('network access in a unit test');
    });
    db = await createTestDatabase();
    dir = mkdtempSync(path.join(tmpdir(), 'rfy-role-sync-'));
    identity = new CognitoIdentityProvider({
      region: REGION,
      userPoolId: POOL_ID,
      clientId: CLIENT_ID,
      client: new CognitoIdentityProviderClient({ region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
    });
    identity.verifier.cacheJwks(jwks);
    const notifier = new Notifier({ knex: db.knex, sender: new LocalEmailSender({ outboxDir: dir, logger }), from: 'test@example.com', logger });
    auth = new AuthService({ knex: db.knex, identity, notifier, logger });
  });

  beforeEach(() => cognito.reset());

  afterAll(async () => {
    cognito.restore();
    networkGuard.mockRestore();
    await db?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('when the token agrees with users.role, then nothing is written anywhere', async () => {
    const user = await userWith('realtor');
    cognitoSignsIn(user.cognito_sub, ['realtor'], 'realtor');
    const { user: signedIn } = await auth.login(user.email, 'pw', 'req-1');
    expect(signedIn.role).toBe('realtor');
    expect(adminCalls()).toEqual([]);
    expect(await db.knex('audit_logs').where({ resource_id: user.id, action: 'role_synced' })).toEqual([]);
  });

  it('when an admin was removed from the admin group in Cognito, then the sign-in lowers users.role and records it', async () => {
    const user = await userWith('admin');
    cognitoSignsIn(user.cognito_sub, ['buyer'], 'buyer');
    const { user: signedIn } = await auth.login(user.email, 'pw', 'req-2');
    expect(signedIn.role).toBe('buyer');
    expect((await usersRepository(db.knex).findById(user.id))!.role).toBe('buyer');
    expect(adminCalls()).toEqual([]);
    const [entry] = await db.knex('audit_logs').where({ resource_id: user.id, action: 'role_synced' });
    expect(entry).toMatchObject({ request_id: 'req-2' });
    expect(JSON.parse(entry.details as string)).toMatchObject({ users_role: { from: 'admin', to: 'buyer' }, identity_updated: false });
  });

  it('when a buyer was put in the admin group only in Cognito, then users.role stays buyer and Cognito is put back: groups and custom:role', async () => {
    const user = await userWith('buyer');
    cognitoSignsIn(user.cognito_sub, ['admin'], 'admin');
    const { user: signedIn } = await auth.login(user.email, 'pw', 'req-3');
    expect(signedIn.role).toBe('buyer');
    expect(adminCalls()).toEqual([
      ['AdminRemoveUserFromGroupCommand', 'admin'],
      ['AdminAddUserToGroupCommand', 'buyer'],
      ['AdminUpdateUserAttributesCommand', [{ Name: 'custom:role', Value: 'buyer' }]],
    ]);
  });

  it('when only custom:role drifted, then it is set back to users.role at sign-in', async () => {
    const user = await userWith('realtor');
    cognitoSignsIn(user.cognito_sub, ['realtor'], 'buyer');
    await auth.login(user.email, 'pw', 'req-4');
    expect(adminCalls()).toEqual([
      ['AdminAddUserToGroupCommand', 'realtor'],
      ['AdminUpdateUserAttributesCommand', [{ Name: 'custom:role', Value: 'realtor' }]],
    ]);
  });

  it('when a session is refreshed, then the same rule applies', async () => {
    const user = await userWith('realtor');
    cognitoSignsIn(user.cognito_sub, ['buyer'], 'buyer');
    const { user: refreshed } = await auth.refresh('refresh', undefined, 'req-5');
    expect(refreshed.role).toBe('buyer');
  });

  it('when an admin changes a role through the API, then the groups and custom:role change in Cognito', async () => {
    const [admin, target] = [await userWith('admin'), await userWith('buyer')];
    cognitoSignsIn(target.cognito_sub, ['buyer'], 'buyer');
    const storage = new LocalObjectStorage({ dir, baseUrl: 'http://localhost', secret: 'role-sync-test-secret', defaultTtlSeconds: 60 });
    const users = new UserService({ knex: db.knex, identity, storage, logger });
    const updated = await users.update({ user: admin, requestId: 'req-6' }, target.id, { role: 'realtor' });
    expect(updated.role).toBe('realtor');
    expect(adminCalls()).toEqual([
      ['AdminRemoveUserFromGroupCommand', 'buyer'],
      ['AdminAddUserToGroupCommand', 'realtor'],
      ['AdminUpdateUserAttributesCommand', [{ Name: 'custom:role', Value: 'realtor' }]],
    ]);
    expect(cognito.commandCalls(AdminUpdateUserAttributesCommand)[0]!.args[0].input).toMatchObject({ UserPoolId: POOL_ID, Username: target.cognito_sub });
  });
});
