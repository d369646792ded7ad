import { createHmac, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import https from 'node:https';
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminDisableUserCommand,
  AdminEnableUserCommand,
  AdminRemoveUserFromGroupCommand,
  AdminSetUserPasswordCommand,
  AdminUpdateUserAttributesCommand,
  AdminUserGlobalSignOutCommand,
  CodeMismatchException,
  CognitoIdentityProviderClient,
  ConfirmForgotPasswordCommand,
  ConfirmSignUpCommand,
  ExpiredCodeException,
  ForgotPasswordCommand,
  GetUserCommand,
  InitiateAuthCommand,
  InvalidPasswordException,
  LimitExceededException,
  NotAuthorizedException,
  ResourceNotFoundException,
  RevokeTokenCommand,
  SignUpCommand,
  TooManyRequestsException,
  UserNotConfirmedException,
  UserNotFoundException,
  UsernameExistsException,
} from '@aws-sdk/client-cognito-identity-provider';
import { mockClient } from 'aws-sdk-client-mock';
import type { Jwks } from 'aws-jwt-verify/jwk';
import { CognitoIdentityProvider, type CognitoAccessVerifier } from '../../adapters/identity/cognito';
import { AuthenticationError, IdentityInputError, InvalidTokenError } from '../../adapters/identity/port';

const REGION = 'eu-west-1';
const POOL_ID = 'eu-west-1_TestPool1';
const CLIENT_ID = '4example0client0id0abcdefg';
const CLIENT_SECRET = 'test-client-secret-0123456789';
const ISSUER = `https://cognito-idp.${REGION}.amazonaws.com/${POOL_ID}`;
const metadata = { $metadata: {} };

const cognito = mockClient(CognitoIdentityProviderClient);

function makeProvider(opts: { secret?: boolean; verifier?: CognitoAccessVerifier } = {}) {
  return new CognitoIdentityProvider({
    region: REGION,
    userPoolId: POOL_ID,
    clientId: CLIENT_ID,
    ...(opts.secret ? { clientSecret: CLIENT_SECRET } : {}),
    client: new CognitoIdentityProviderClient({
      region: REGION,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
    ...(opts.verifier ? { verifier: opts.verifier } : {}),
  });
}

/** Computed here, from the documented formula, not with the adapter's helper. */
function expectedSecretHash(username: string): string {
  const mac = createHmac('sha256', Buffer.from(CLIENT_SECRET, 'utf8'));
  mac.update(Buffer.from(`${username}${CLIENT_ID}`, 'utf8'));
  return mac.digest().toString('base64');
}

/** Every command sent, in order, as [name, input]. */
function sent(): Array<[string, unknown]> {
  return cognito.calls().map((call) => {
    const command = call.args[0] as { constructor: { name: string }; input: unknown };
    return [command.constructor.name, command.input];
  });
}

const tokens = {
  AccessToken: 'access.jwt',
  IdToken: 'id.jwt',
  RefreshToken: 'refresh-token',
  ExpiresIn: 3600,
  TokenType: 'Bearer',
};

beforeEach(() => {
  cognito.reset();
});

afterAll(() => {
  cognito.restore();
});

describe('CognitoIdentityProvider commands', () => {
  describe('register', () => {
    const input = { email: 'rita@example.com', password: 'Secret-pass-1', fullName: 'Rita Realtor', role: 'realtor' as const };

    it('when a user signs up, then SignUp carries email, name and role, and the user joins the role group', async () => {
      cognito.on(SignUpCommand).resolves({ UserSub: 'sub-rita', UserConfirmed: false });
      cognito.on(AdminAddUserToGroupCommand).resolves({});

      await expect(makeProvider().register(input)).resolves.toEqual({ sub: 'sub-rita', confirmed: false });

      expect(sent()).toEqual([
        [
          'SignUpCommand',
          {
            ClientId: CLIENT_ID,
            Username: 'rita@example.com',
            Password: 'Secret-pass-1',
            UserAttributes: [
              { Name: 'email', Value: 'rita@example.com' },
              { Name: 'name', Value: 'Rita Realtor' },
              { Name: 'custom:role', Value: 'realtor' },
            ],
          },
        ],
        ['AdminAddUserToGroupCommand', { UserPoolId: POOL_ID, Username: 'rita@example.com', GroupName: 'realtor' }],
      ]);
    });

    it('when the app client has a secret, then SignUp carries the SecretHash of email + client id', async () => {
      cognito.on(SignUpCommand).resolves({ UserSub: 'sub-rita', UserConfirmed: true });
      cognito.on(AdminAddUserToGroupCommand).resolves({});

      await expect(makeProvider({ secret: true }).register(input)).resolves.toEqual({ sub: 'sub-rita', confirmed: true });

      const [signUp] = cognito.commandCalls(SignUpCommand);
      expect(signUp?.args[0].input.SecretHash).toBe(expectedSecretHash('rita@example.com'));
      expect(cognito.commandCalls(AdminAddUserToGroupCommand)).toHaveLength(1);
    });

    it('when the email is taken, then an IdentityInputError conflict on email and no group call', async () => {
      cognito.on(SignUpCommand).rejects(new UsernameExistsException({ message: 'User already exists', ...metadata }));

      const err = await makeProvider().register(input).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(IdentityInputError);
      expect(err).toMatchObject({ field: 'email', kind: 'conflict', message: 'An account with this email already exists' });
      expect(cognito.commandCalls(AdminAddUserToGroupCommand)).toHaveLength(0);
    });

    it('when the password breaks the pool policy, then an IdentityInputError on password', async () => {
      cognito
        .on(SignUpCommand)
        .rejects(new InvalidPasswordException({ message: 'Password did not conform with policy', ...metadata }));

      const err = await makeProvider().register(input).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(IdentityInputError);
      expect(err).toMatchObject({ field: 'password', kind: 'invalid', message: 'Password did not conform with policy' });
    });

    it('when joining the group fails, then the new user is deleted and the error propagates', async () => {
      const failure = new ResourceNotFoundException({ message: 'Group not found', ...metadata });
      cognito.on(SignUpCommand).resolves({ UserSub: 'sub-rita', UserConfirmed: false });
      cognito.on(AdminAddUserToGroupCommand).rejects(failure);
      cognito.on(AdminDeleteUserCommand).resolves({});

      await expect(makeProvider().register(input)).rejects.toBe(failure);

      expect(cognito.commandCalls(AdminDeleteUserCommand).map((c) => c.args[0].input)).toEqual([
        { UserPoolId: POOL_ID, Username: 'rita@example.com' },
      ]);
    });
  });

  describe('confirmSignUp', () => {
    it('when a code is confirmed with a secret, then ConfirmSignUp carries username, code and SecretHash', async () => {
      cognito.on(ConfirmSignUpCommand).resolves({});

      await makeProvider({ secret: true }).confirmSignUp('bob@example.com', '123456');

      expect(sent()).toEqual([
        [
          'ConfirmSignUpCommand',
          {
            ClientId: CLIENT_ID,
            SecretHash: expectedSecretHash('bob@example.com'),
            Username: 'bob@example.com',
            ConfirmationCode: '123456',
          },
        ],
      ]);
    });

    it('when the code is wrong, then an IdentityInputError on code', async () => {
      cognito.on(ConfirmSignUpCommand).rejects(new CodeMismatchException({ message: 'Invalid code', ...metadata }));

      const err = await makeProvider().confirmSignUp('bob@example.com', '000000').catch((e: unknown) => e);

      expect(err).toBeInstanceOf(IdentityInputError);
      expect(err).toMatchObject({ field: 'code' });
    });
  });

  describe('login', () => {
    it('when the password is right, then InitiateAuth USER_PASSWORD_AUTH and a Bearer session', async () => {
      cognito.on(InitiateAuthCommand).resolves({ AuthenticationResult: tokens });

      await expect(makeProvider().login('bob@example.com', 'pw-1')).resolves.toEqual({
        accessToken: 'access.jwt',
        idToken: 'id.jwt',
        refreshToken: 'refresh-token',
        expiresIn: 3600,
        tokenType: 'Bearer',
      });
      expect(sent()).toEqual([
        [
          'InitiateAuthCommand',
          { AuthFlow: 'USER_PASSWORD_AUTH', ClientId: CLIENT_ID, AuthParameters: { USERNAME: 'bob@example.com', PASSWORD: 'pw-1' } },
        ],
      ]);
    });

    it('when the app client has a secret, then AuthParameters carry SECRET_HASH', async () => {
      cognito.on(InitiateAuthCommand).resolves({ AuthenticationResult: tokens });

      await makeProvider({ secret: true }).login('bob@example.com', 'pw-1');

      const [call] = cognito.commandCalls(InitiateAuthCommand);
      expect(call?.args[0].input.AuthParameters).toEqual({
        USERNAME: 'bob@example.com',
        PASSWORD: 'pw-1',
        SECRET_HASH: expectedSecretHash('bob@example.com'),
      });
    });

    it('when the password is wrong, then an AuthenticationError for credentials', async () => {
      cognito
        .on(InitiateAuthCommand)
        .rejects(new NotAuthorizedException({ message: 'Incorrect username or password.', ...metadata }));

      const err = await makeProvider().login('bob@example.com', 'nope').catch((e: unknown) => e);

      expect(err).toBeInstanceOf(AuthenticationError);
      expect(err).toMatchObject({ reason: 'credentials', message: 'Incorrect email or password' });
    });

    it('when the user does not exist, then the same AuthenticationError as a wrong password', async () => {
      cognito.on(InitiateAuthCommand).rejects(new UserNotFoundException({ message: 'User does not exist.', ...metadata }));

      const err = await makeProvider().login('ghost@example.com', 'nope').catch((e: unknown) => e);

      expect(err).toBeInstanceOf(AuthenticationError);
      expect(err).toMatchObject({ reason: 'credentials', message: 'Incorrect email or password' });
    });

    it('when the user is not confirmed, then an AuthenticationError with reason not_confirmed', async () => {
      cognito
        .on(InitiateAuthCommand)
        .rejects(new UserNotConfirmedException({ message: 'User is not confirmed.', ...metadata }));

      await expect(makeProvider().login('bob@example.com', 'pw-1')).rejects.toMatchObject({
        name: 'AuthenticationError',
        reason: 'not_confirmed',
      });
    });

    it('when the user is disabled, then an AuthenticationError with reason disabled', async () => {
      cognito.on(InitiateAuthCommand).rejects(new NotAuthorizedException({ message: 'User is disabled.', ...metadata }));

      await expect(makeProvider().login('bob@example.com', 'pw-1')).rejects.toMatchObject({
        name: 'AuthenticationError',
        reason: 'disabled',
      });
    });

    it('when Cognito answers with a NEW_PASSWORD_REQUIRED challenge, then an AuthenticationError says so', async () => {
      cognito.on(InitiateAuthCommand).resolves({ ChallengeName: 'NEW_PASSWORD_REQUIRED', Session: 'sess' });

      const err = await makeProvider().login('bob@example.com', 'pw-1').catch((e: unknown) => e);

      expect(err).toBeInstanceOf(AuthenticationError);
      expect((err as Error).message).toMatch(/new password/i);
    });

    it('when Cognito throttles, then the SDK error is rethrown as-is', async () => {
      const throttled = new TooManyRequestsException({ message: 'Rate exceeded', ...metadata });
      cognito.on(InitiateAuthCommand).rejects(throttled);

      await expect(makeProvider().login('bob@example.com', 'pw-1')).rejects.toBe(throttled);
    });
  });

  describe('refresh', () => {
    it('when a refresh token is exchanged, then InitiateAuth REFRESH_TOKEN_AUTH and no new refresh token', async () => {
      cognito.on(InitiateAuthCommand).resolves({
        AuthenticationResult: { AccessToken: 'access.2', IdToken: 'id.2', ExpiresIn: 900, TokenType: 'Bearer' },
      });

      const session = await makeProvider().refresh('refresh-token');

      expect(session).toEqual({ accessToken: 'access.2', idToken: 'id.2', expiresIn: 900, tokenType: 'Bearer' });
      expect(session).not.toHaveProperty('refreshToken');
      expect(sent()).toEqual([
        ['InitiateAuthCommand', { AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: CLIENT_ID, AuthParameters: { REFRESH_TOKEN: 'refresh-token' } }],
      ]);
    });

    it('when the app client has a secret, then SECRET_HASH is computed over the given username', async () => {
      cognito.on(InitiateAuthCommand).resolves({ AuthenticationResult: tokens });

      await makeProvider({ secret: true }).refresh('refresh-token', 'bob@example.com');

      const [call] = cognito.commandCalls(InitiateAuthCommand);
      expect(call?.args[0].input.AuthParameters).toEqual({
        REFRESH_TOKEN: 'refresh-token',
        SECRET_HASH: expectedSecretHash('bob@example.com'),
      });
    });

    it('when the app client has a secret and no username is given, then an IdentityInputError and no call', async () => {
      const err = await makeProvider({ secret: true }).refresh('refresh-token').catch((e: unknown) => e);

      expect(err).toBeInstanceOf(IdentityInputError);
      expect(err).toMatchObject({ field: 'email' });
      expect(cognito.calls()).toHaveLength(0);
    });

    it('when the refresh token is revoked or expired, then an AuthenticationError invalid_refresh_token', async () => {
      cognito.on(InitiateAuthCommand).rejects(new NotAuthorizedException({ message: 'Refresh Token has expired', ...metadata }));

      const err = await makeProvider().refresh('stale').catch((e: unknown) => e);

      expect(err).toBeInstanceOf(AuthenticationError);
      expect(err).toMatchObject({ reason: 'invalid_refresh_token' });
    });
  });

  describe('logout', () => {
    it('when a user logs out, then RevokeToken revokes the refresh token', async () => {
      cognito.on(RevokeTokenCommand).resolves({});

      await makeProvider().logout('refresh-token');

      expect(sent()).toEqual([['RevokeTokenCommand', { Token: 'refresh-token', ClientId: CLIENT_ID }]]);
    });

    it('when the app client has a secret, then RevokeToken carries the client secret', async () => {
      cognito.on(RevokeTokenCommand).resolves({});

      await makeProvider({ secret: true }).logout('refresh-token');

      expect(sent()).toEqual([
        ['RevokeTokenCommand', { Token: 'refresh-token', ClientId: CLIENT_ID, ClientSecret: CLIENT_SECRET }],
      ]);
    });
  });

  describe('password reset', () => {
    it('when a reset is requested, then ForgotPassword is sent for the email', async () => {
      cognito.on(ForgotPasswordCommand).resolves({ CodeDeliveryDetails: { DeliveryMedium: 'EMAIL' } });

      await makeProvider({ secret: true }).requestPasswordReset('bob@example.com');

      expect(sent()).toEqual([
        [
          'ForgotPasswordCommand',
          { ClientId: CLIENT_ID, SecretHash: expectedSecretHash('bob@example.com'), Username: 'bob@example.com' },
        ],
      ]);
    });

    it('when the email is unknown, then the request still resolves (no enumeration)', async () => {
      cognito.on(ForgotPasswordCommand).rejects(new UserNotFoundException({ message: 'Username/client id combination not found.', ...metadata }));

      await expect(makeProvider().requestPasswordReset('ghost@example.com')).resolves.toBeUndefined();
      expect(cognito.commandCalls(ForgotPasswordCommand)).toHaveLength(1);
    });

    it('when Cognito limits resets, then the SDK error is rethrown as-is', async () => {
      const limited = new LimitExceededException({ message: 'Attempt limit exceeded', ...metadata });
      cognito.on(ForgotPasswordCommand).rejects(limited);

      await expect(makeProvider().requestPasswordReset('bob@example.com')).rejects.toBe(limited);
    });

    it('when a reset is confirmed, then ConfirmForgotPassword carries username, code and new password', async () => {
      cognito.on(ConfirmForgotPasswordCommand).resolves({});

      await makeProvider().confirmPasswordReset('bob@example.com', '654321', 'New-pass-2');

      expect(sent()).toEqual([
        [
          'ConfirmForgotPasswordCommand',
          { ClientId: CLIENT_ID, Username: 'bob@example.com', ConfirmationCode: '654321', Password: 'New-pass-2' },
        ],
      ]);
    });

    it('when the reset code has expired, then an IdentityInputError on code', async () => {
      cognito.on(ConfirmForgotPasswordCommand).rejects(new ExpiredCodeException({ message: 'Expired', ...metadata }));

      const err = await makeProvider().confirmPasswordReset('bob@example.com', '654321', 'New-pass-2').catch((e: unknown) => e);

      expect(err).toBeInstanceOf(IdentityInputError);
      expect(err).toMatchObject({ field: 'code', kind: 'invalid' });
    });

    it('when the new password is too weak, then an IdentityInputError on password', async () => {
      cognito
        .on(ConfirmForgotPasswordCommand)
        .rejects(new InvalidPasswordException({ message: 'Password not long enough', ...metadata }));

      await expect(makeProvider().confirmPasswordReset('bob@example.com', '654321', 'x')).rejects.toMatchObject({
        name: 'IdentityInputError',
        field: 'password',
      });
    });
  });

  describe('getUserAttributes', () => {
    it('when the access token is valid, then GetUser attributes map to sub, email and full name', async () => {
      cognito.on(GetUserCommand).resolves({
        Username: 'sub-bob',
        UserAttributes: [
          { Name: 'sub', Value: 'sub-bob' },
          { Name: 'email', Value: 'bob@example.com' },
          { Name: 'name', Value: 'Bob Buyer' },
        ],
      });

      await expect(makeProvider().getUserAttributes('access.jwt')).resolves.toEqual({
        sub: 'sub-bob',
        email: 'bob@example.com',
        fullName: 'Bob Buyer',
      });
      expect(sent()).toEqual([['GetUserCommand', { AccessToken: 'access.jwt' }]]);
    });

    it('when the user has no name, then the full name falls back to the email', async () => {
      cognito.on(GetUserCommand).resolves({
        Username: 'sub-bob',
        UserAttributes: [
          { Name: 'sub', Value: 'sub-bob' },
          { Name: 'email', Value: 'bob@example.com' },
        ],
      });

      await expect(makeProvider().getUserAttributes('access.jwt')).resolves.toMatchObject({ fullName: 'bob@example.com' });
    });

    it('when Cognito refuses the access token, then an InvalidTokenError', async () => {
      cognito.on(GetUserCommand).rejects(new NotAuthorizedException({ message: 'Access Token has been revoked', ...metadata }));

      await expect(makeProvider().getUserAttributes('access.jwt')).rejects.toBeInstanceOf(InvalidTokenError);
    });
  });

  describe('adminCreateUser', () => {
    const input = { email: 'ann@example.com', password: 'Admin-pass-1', fullName: 'Ann Admin', role: 'admin' as const };

    it('when an admin creates a user, then the user is created silently, given a permanent password and a group', async () => {
      cognito.on(AdminCreateUserCommand).resolves({
        User: { Username: 'sub-ann', Attributes: [{ Name: 'email', Value: 'ann@example.com' }, { Name: 'sub', Value: 'sub-ann' }] },
      });
      cognito.on(AdminSetUserPasswordCommand).resolves({});
      cognito.on(AdminAddUserToGroupCommand).resolves({});

      await expect(makeProvider().adminCreateUser(input)).resolves.toEqual({ sub: 'sub-ann' });

      expect(sent()).toEqual([
        [
          'AdminCreateUserCommand',
          {
            UserPoolId: POOL_ID,
            Username: 'ann@example.com',
            TemporaryPassword: 'Admin-pass-1',
            MessageAction: 'SUPPRESS',
            UserAttributes: [
              { Name: 'email', Value: 'ann@example.com' },
              { Name: 'email_verified', Value: 'true' },
              { Name: 'name', Value: 'Ann Admin' },
              { Name: 'custom:role', Value: 'admin' },
            ],
          },
        ],
        [
          'AdminSetUserPasswordCommand',
          { UserPoolId: POOL_ID, Username: 'ann@example.com', Password: 'Admin-pass-1', Permanent: true },
        ],
        ['AdminAddUserToGroupCommand', { UserPoolId: POOL_ID, Username: 'ann@example.com', GroupName: 'admin' }],
      ]);
    });

    it('when the email is taken, then an IdentityInputError conflict and nothing else is sent', async () => {
      cognito.on(AdminCreateUserCommand).rejects(new UsernameExistsException({ message: 'exists', ...metadata }));

      await expect(makeProvider().adminCreateUser(input)).rejects.toMatchObject({
        name: 'IdentityInputError',
        field: 'email',
        kind: 'conflict',
      });
      expect(sent().map(([name]) => name)).toEqual(['AdminCreateUserCommand']);
    });

    it('when a later step fails, then the half-made user is deleted', async () => {
      const failure = new TooManyRequestsException({ message: 'Rate exceeded', ...metadata });
      cognito.on(AdminCreateUserCommand).resolves({ User: { Username: 'sub-ann', Attributes: [{ Name: 'sub', Value: 'sub-ann' }] } });
      cognito.on(AdminSetUserPasswordCommand).rejects(failure);
      cognito.on(AdminDeleteUserCommand).resolves({});

      await expect(makeProvider().adminCreateUser(input)).rejects.toBe(failure);

      expect(sent().map(([name]) => name)).toEqual([
        'AdminCreateUserCommand',
        'AdminSetUserPasswordCommand',
        'AdminDeleteUserCommand',
      ]);
    });
  });

  describe('adminSetRole', () => {
    const customRole = (role: string) => ['AdminUpdateUserAttributesCommand', { UserPoolId: POOL_ID, Username: 'sub-bob', UserAttributes: [{ Name: 'custom:role', Value: role }] }];

    it('when a role changes, then the user leaves the previous group, joins the new one, and custom:role follows', async () => {
      cognito.on(AdminRemoveUserFromGroupCommand).resolves({});
      cognito.on(AdminAddUserToGroupCommand).resolves({});
      cognito.on(AdminUpdateUserAttributesCommand).resolves({});

      await makeProvider().adminSetRole('sub-bob', 'realtor', 'buyer');

      expect(sent()).toEqual([
        ['AdminRemoveUserFromGroupCommand', { UserPoolId: POOL_ID, Username: 'sub-bob', GroupName: 'buyer' }],
        ['AdminAddUserToGroupCommand', { UserPoolId: POOL_ID, Username: 'sub-bob', GroupName: 'realtor' }],
        customRole('realtor'),
      ]);
    });

    it('when the role is unchanged, then the user is only (re)added to its group and custom:role (re)set', async () => {
      cognito.on(AdminAddUserToGroupCommand).resolves({});
      cognito.on(AdminUpdateUserAttributesCommand).resolves({});

      await makeProvider().adminSetRole('sub-bob', 'buyer', 'buyer');

      expect(sent()).toEqual([
        ['AdminAddUserToGroupCommand', { UserPoolId: POOL_ID, Username: 'sub-bob', GroupName: 'buyer' }],
        customRole('buyer'),
      ]);
    });

    it('when joining the new group fails, then custom:role is left alone (fewer rights, never more)', async () => {
      cognito.on(AdminRemoveUserFromGroupCommand).resolves({});
      cognito.on(AdminAddUserToGroupCommand).rejects(new Error('throttled'));

      await expect(makeProvider().adminSetRole('sub-bob', 'admin', 'realtor')).rejects.toThrow('throttled');

      expect(sent().map(([name]) => name)).toEqual(['AdminRemoveUserFromGroupCommand', 'AdminAddUserToGroupCommand']);
    });
  });

  describe('adminSetEnabled', () => {
    it('when a user is enabled, then AdminEnableUser is sent', async () => {
      cognito.on(AdminEnableUserCommand).resolves({});

      await makeProvider().adminSetEnabled('sub-bob', true);

      expect(sent()).toEqual([['AdminEnableUserCommand', { UserPoolId: POOL_ID, Username: 'sub-bob' }]]);
    });

    it('when a user is disabled, then AdminDisableUser and a global sign-out are sent', async () => {
      cognito.on(AdminDisableUserCommand).resolves({});
      cognito.on(AdminUserGlobalSignOutCommand).resolves({});

      await makeProvider().adminSetEnabled('sub-bob', false);

      expect(sent()).toEqual([
        ['AdminDisableUserCommand', { UserPoolId: POOL_ID, Username: 'sub-bob' }],
        ['AdminUserGlobalSignOutCommand', { UserPoolId: POOL_ID, Username: 'sub-bob' }],
      ]);
    });
  });

  describe('init', () => {
    it('when the provider starts, then the verifier loads the pool JWKS', async () => {
      const verifier = { verify: jest.fn(), hydrate: jest.fn().mockResolvedValue(undefined), cacheJwks: jest.fn() };

      await makeProvider({ verifier }).init();

      expect(verifier.hydrate).toHaveBeenCalledTimes(1);
    });
  });
});

describe('CognitoIdentityProvider access token verification', () => {
  const KID = 'test-key-1';
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwks = {
    keys: [{ ...publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' }],
  } as unknown as Jwks;

  let networkGuard: jest.SpyInstance;

  beforeAll(() => {
    // aws-jwt-verify fetches JWKS through https.request; a test must never reach it.
    networkGuard = jest.spyOn(https, 'request').mockImplementation(() => {
      throw new Error('network access in a unit test');
    });
  });

  afterAll(() => {
    expect(networkGuard).not.toHaveBeenCalled();
    networkGuard.mockRestore();
  });

  function b64url(value: object): string {
    return Buffer.from(JSON.stringify(value)).toString('base64url');
  }

  function signJwt(payload: Record<string, unknown>, key: KeyObject = privateKey): string {
    const signingInput = `${b64url({ kid: KID, alg: 'RS256' })}.${b64url(payload)}`;
    return `${signingInput}.${sign('sha256', Buffer.from(signingInput), key).toString('base64url')}`;
  }

  function accessClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    return {
      sub: 'sub-rita',
      'cognito:groups': ['realtor'],
      iss: ISSUER,
      client_id: CLIENT_ID,
      origin_jti: randomUUID(),
      event_id: randomUUID(),
      token_use: 'access',
      scope: 'aws.cognito.signin.user.admin',
      auth_time: now - 10,
      exp: now + 3600,
      iat: now - 10,
      jti: 'jti-1',
      username: 'sub-rita',
      ...overrides,
    };
  }

  function provider(): CognitoIdentityProvider {
    const p = makeProvider();
    p.verifier.cacheJwks(jwks);
    return p;
  }

  it('when a Cognito access token for this pool and client is presented, then its sub, groups and client id come back', async () => {
    await expect(provider().verifyAccessToken(signJwt(accessClaims()))).resolves.toEqual({
      sub: 'sub-rita',
      groups: ['realtor'],
      username: 'sub-rita',
      clientId: CLIENT_ID,
      jti: 'jti-1',
    });
  });

  it('when an id token is presented, then an InvalidTokenError', async () => {
    const { client_id: _clientId, scope: _scope, ...rest } = accessClaims();
    const idToken = signJwt({ ...rest, token_use: 'id', aud: CLIENT_ID, email: 'rita@example.com' });

    const err = await provider().verifyAccessToken(idToken).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(InvalidTokenError);
    expect((err as Error).message).toMatch(/token use/i);
  });

  it('when the token was issued to another app client, then an InvalidTokenError', async () => {
    const err = await provider()
      .verifyAccessToken(signJwt(accessClaims({ client_id: 'someotherclient' })))
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(InvalidTokenError);
    expect((err as Error).message).toMatch(/client id/i);
  });

  it('when the token has expired, then an InvalidTokenError', async () => {
    const past = Math.floor(Date.now() / 1000) - 7200;
    const err = await provider()
      .verifyAccessToken(signJwt(accessClaims({ iat: past, auth_time: past, exp: past + 3600 })))
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(InvalidTokenError);
    expect((err as Error).message).toMatch(/expired/i);
  });

  it('when the token comes from another user pool, then an InvalidTokenError', async () => {
    const otherIssuer = `https://cognito-idp.${REGION}.amazonaws.com/${REGION}_OtherPool9`;
    const err = await provider()
      .verifyAccessToken(signJwt(accessClaims({ iss: otherIssuer })))
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(InvalidTokenError);
    expect((err as Error).message).toMatch(/issuer/i);
  });

  function idClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const { client_id: _clientId, scope: _scope, username: _username, ...rest } = accessClaims();
    return { ...rest, token_use: 'id', aud: CLIENT_ID, email: 'rita@example.com', 'cognito:username': 'sub-rita', 'custom:role': 'realtor', ...overrides };
  }

  it('when a sign-in id token is verified, then its groups and custom:role come back', async () => {
    await expect(provider().verifyIdToken(signJwt(idClaims({ 'cognito:groups': ['realtor', 'buyer'] })))).resolves.toEqual({
      sub: 'sub-rita',
      groups: ['realtor', 'buyer'],
      customRole: 'realtor',
    });
    await expect(provider().verifyIdToken(signJwt(idClaims({ 'cognito:groups': undefined, 'custom:role': undefined })))).resolves.toEqual({
      sub: 'sub-rita',
      groups: [],
      customRole: undefined,
    });
  });

  it('when an access token, another client\'s id token or a forged one is given as the id token, then an InvalidTokenError', async () => {
    for (const token of [signJwt(accessClaims()), signJwt(idClaims({ aud: 'someotherclient' })), signJwt(idClaims(), generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey)]) {
      await expect(provider().verifyIdToken(token)).rejects.toBeInstanceOf(InvalidTokenError);
    }
  });

  it('when the token is signed by another key under the same kid, then an InvalidTokenError', async () => {
    const { privateKey: otherKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const err = await provider()
      .verifyAccessToken(signJwt(accessClaims(), otherKey))
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(InvalidTokenError);
    expect((err as Error).message).toMatch(/signature/i);
  });
});
