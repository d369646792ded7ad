import { createHmac } from 'node:crypto';
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
  CognitoIdentityProviderClient,
  ConfirmForgotPasswordCommand,
  ConfirmSignUpCommand,
  ForgotPasswordCommand,
  GetUserCommand,
  InitiateAuthCommand,
  RevokeTokenCommand,
  SignUpCommand,
  type AttributeType,
  type InitiateAuthCommandOutput,
} from '@aws-sdk/client-cognito-identity-provider';
import { CognitoJwtVerifier } from 'aws-jwt-verify';
import type { Jwks } from 'aws-jwt-verify/jwk';
import type { JwtPayload } from 'aws-jwt-verify/jwt-model';
import {
  AuthenticationError,
  IdentityInputError,
  InvalidTokenError,
  type IdTokenClaims,
  type IdentityProvider,
  type RegisterInput,
  type Role,
  type Session,
  type UserAttributes,
  type VerifiedAccessToken,
} from './port';
import { VerifiedTokenCache, verifyAccessToken, verifyIdToken, type AccessTokenVerifier } from './verify';

/**
 * Identity on an AWS Cognito user pool. Assumes a pool where users sign in with their
 * email (email as username, or as an alias), one group per role (`buyer`, `realtor`,
 * `admin`), a `custom:role` attribute, and an app client with USER_PASSWORD_AUTH enabled.
 * Admin calls need IAM credentials from the default provider chain.
 */

/** The aws-jwt-verify verifier the provider checks access tokens with. */
export interface CognitoAccessVerifier extends AccessTokenVerifier {
  /** With `props`, verifies another kind of token of the same pool (one JWKS for both). */
  verify(token: string, props?: { tokenUse: 'id'; clientId: string }): Promise<JwtPayload>;
  /** Fetch the pool's JWKS now rather than on the first request. */
  hydrate(): Promise<void>;
  /** Load a JWKS without fetching it (tests, or hosts without internet access). */
  cacheJwks(jwks: Jwks): void;
}

export function createCognitoAccessVerifier(opts: { userPoolId: string; clientId: string }): CognitoAccessVerifier {
  return CognitoJwtVerifier.create({ userPoolId: opts.userPoolId, tokenUse: 'access', clientId: opts.clientId });
}

export interface CognitoIdentityProviderOptions {
  region: string;
  userPoolId: string;
  clientId: string;
  clientSecret?: string | undefined;
  /** A non-AWS endpoint, e.g. a Cognito emulator. */
  endpoint?: string | undefined;
  client?: CognitoIdentityProviderClient;
  verifier?: CognitoAccessVerifier;
}

/** Which call failed decides what a Cognito exception means to the caller. */
type Operation =
  | 'signUp'
  | 'confirmSignUp'
  | 'login'
  | 'refresh'
  | 'logout'
  | 'confirmPasswordReset'
  | 'getUser'
  | 'adminCreateUser';

const INVALID_CODE = 'Invalid or expired verification code';

function errorName(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}

/**
 * Translates the Cognito exceptions a caller can act on into the port's errors; anything
 * else (throttling, misconfiguration, outages) is returned unchanged and becomes a 500.
 */
function mapCognitoError(err: unknown, op: Operation): unknown {
  const message = err instanceof Error ? err.message : String(err);
  switch (errorName(err)) {
    case 'UsernameExistsException':
      return new IdentityInputError('An account with this email already exists', 'email', 'conflict');
    case 'InvalidPasswordException':
      return new IdentityInputError(message, 'password');
    case 'CodeMismatchException':
    case 'ExpiredCodeException':
      return new IdentityInputError(INVALID_CODE, 'code');
    case 'UserNotConfirmedException':
      return new AuthenticationError('Email address is not confirmed', 'not_confirmed');
    case 'PasswordResetRequiredException':
      if (op === 'login') return new AuthenticationError('A password reset is required for this account');
      return err;
    case 'UserNotFoundException':
      // Same answers as for a wrong password or code: no user enumeration.
      if (op === 'login') return new AuthenticationError();
      if (op === 'confirmSignUp' || op === 'confirmPasswordReset') return new IdentityInputError(INVALID_CODE, 'code');
      if (op === 'getUser') return new InvalidTokenError('user no longer exists', { cause: err });
      return err;
    case 'NotAuthorizedException':
      if (op === 'login') {
        // Cognito reports a disabled user as NotAuthorized "User is disabled."
        if (/disabled/i.test(message)) return new AuthenticationError('This account is disabled', 'disabled');
        return new AuthenticationError();
      }
      if (op === 'refresh' || op === 'logout') {
        return new AuthenticationError('Invalid or expired refresh token', 'invalid_refresh_token');
      }
      if (op === 'getUser') return new InvalidTokenError(message, { cause: err });
      if (op === 'confirmSignUp') return new IdentityInputError('This account cannot be confirmed', 'code');
      return err;
    default:
      return err;
  }
}

function attribute(attributes: readonly AttributeType[] | undefined, name: string): string | undefined {
  return attributes?.find((a) => a.Name === name)?.Value;
}

export class CognitoIdentityProvider implements IdentityProvider {
  readonly name = 'cognito' as const;
  readonly verifier: CognitoAccessVerifier;
  private readonly client: CognitoIdentityProviderClient;
  private readonly userPoolId: string;
  private readonly clientId: string;
  private readonly clientSecret: string | undefined;
  private readonly verified = new VerifiedTokenCache();

  constructor(opts: CognitoIdentityProviderOptions) {
    this.userPoolId = opts.userPoolId;
    this.clientId = opts.clientId;
    this.clientSecret = opts.clientSecret || undefined;
    this.client =
      opts.client ??
      new CognitoIdentityProviderClient({ region: opts.region, ...(opts.endpoint ? { endpoint: opts.endpoint } : {}) });
    this.verifier = opts.verifier ?? createCognitoAccessVerifier({ userPoolId: opts.userPoolId, clientId: opts.clientId });
  }

  async init(): Promise<void> {
    await this.verifier.hydrate();
  }

  /** Cognito's SECRET_HASH for app clients with a secret: base64 HMAC-SHA256(username + clientId). */
  private secretHash(username: string): string | undefined {
    if (!this.clientSecret) return undefined;
    return createHmac('sha256', this.clientSecret).update(username + this.clientId).digest('base64');
  }

  private withSecretHash(username: string): { SecretHash?: string } {
    const hash = this.secretHash(username);
    return hash ? { SecretHash: hash } : {};
  }

  private async call<T>(op: Operation, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw mapCognitoError(err, op);
    }
  }

  /** Undo a half-made account so the same email can try again; the original error wins. */
  private async deleteQuietly(username: string): Promise<void> {
    try {
      await this.client.send(new AdminDeleteUserCommand({ UserPoolId: this.userPoolId, Username: username }));
    } catch {
      // Best effort: the caller is already failing with the error that matters.
    }
  }

  private addToGroup(username: string, role: Role) {
    return this.client.send(
      new AdminAddUserToGroupCommand({ UserPoolId: this.userPoolId, Username: username, GroupName: role }),
    );
  }

  async register(input: RegisterInput): Promise<{ sub: string; confirmed: boolean }> {
    const out = await this.call('signUp', () =>
      this.client.send(
        new SignUpCommand({
          ClientId: this.clientId,
          ...this.withSecretHash(input.email),
          Username: input.email,
          Password: input.password,
          UserAttributes: [
            { Name: 'email', Value: input.email },
            { Name: 'name', Value: input.fullName },
            { Name: 'custom:role', Value: input.role },
          ],
        }),
      ),
    );
    if (!out.UserSub) throw new Error('Cognito SignUp returned no UserSub');
    // By email: in email-as-username and email-alias pools the admin APIs accept it.
    try {
      await this.addToGroup(input.email, input.role);
    } catch (err) {
      await this.deleteQuietly(input.email);
      throw err;
    }
    return { sub: out.UserSub, confirmed: out.UserConfirmed === true };
  }

  async confirmSignUp(email: string, code: string): Promise<void> {
    await this.call('confirmSignUp', () =>
      this.client.send(
        new ConfirmSignUpCommand({
          ClientId: this.clientId,
          ...this.withSecretHash(email),
          Username: email,
          ConfirmationCode: code,
        }),
      ),
    );
  }

  async login(email: string, password: string): Promise<Session> {
    const hash = this.secretHash(email);
    const out = await this.call('login', () =>
      this.client.send(
        new InitiateAuthCommand({
          AuthFlow: 'USER_PASSWORD_AUTH',
          ClientId: this.clientId,
          AuthParameters: { USERNAME: email, PASSWORD: password, ...(hash ? { SECRET_HASH: hash } : {}) },
        }),
      ),
    );
    return this.toSession(out);
  }

  /**
   * With a client secret Cognito wants SECRET_HASH here too, keyed on the user's *internal*
   * username. In pools with email as an alias that is not the email (Cognito answers
   * "SecretHash does not match"); there, pass the `sub` / username as `email`.
   */
  async refresh(refreshToken: string, email?: string): Promise<Session> {
    let hash: string | undefined;
    if (this.clientSecret) {
      if (!email) throw new IdentityInputError('email is required to refresh a session', 'email');
      hash = this.secretHash(email);
    }
    const out = await this.call('refresh', () =>
      this.client.send(
        new InitiateAuthCommand({
          AuthFlow: 'REFRESH_TOKEN_AUTH',
          ClientId: this.clientId,
          AuthParameters: { REFRESH_TOKEN: refreshToken, ...(hash ? { SECRET_HASH: hash } : {}) },
        }),
      ),
    );
    return this.toSession(out);
  }

  async logout(refreshToken: string): Promise<void> {
    await this.call('logout', () =>
      this.client.send(
        new RevokeTokenCommand({
          Token: refreshToken,
          ClientId: this.clientId,
          ...(this.clientSecret ? { ClientSecret: this.clientSecret } : {}),
        }),
      ),
    );
  }

  async requestPasswordReset(email: string): Promise<void> {
    try {
      await this.client.send(
        new ForgotPasswordCommand({ ClientId: this.clientId, ...this.withSecretHash(email), Username: email }),
      );
    } catch (err) {
      // An unknown email looks exactly like a known one: no user enumeration.
      if (errorName(err) === 'UserNotFoundException') return;
      throw err;
    }
  }

  async confirmPasswordReset(email: string, code: string, newPassword: string): Promise<void> {
    await this.call('confirmPasswordReset', () =>
      this.client.send(
        new ConfirmForgotPasswordCommand({
          ClientId: this.clientId,
          ...this.withSecretHash(email),
          Username: email,
          ConfirmationCode: code,
          Password: newPassword,
        }),
      ),
    );
  }

  verifyAccessToken(token: string): Promise<VerifiedAccessToken> {
    return verifyAccessToken(this.verifier, token, this.verified);
  }

  forgetVerifiedTokens(sub: string): void {
    this.verified.forgetSubject(sub);
  }

  verifyIdToken(token: string): Promise<IdTokenClaims> {
    return verifyIdToken((t) => this.verifier.verify(t, { tokenUse: 'id', clientId: this.clientId }), token);
  }

  async getUserAttributes(accessToken: string): Promise<UserAttributes> {
    const out = await this.call('getUser', () => this.client.send(new GetUserCommand({ AccessToken: accessToken })));
    const sub = attribute(out.UserAttributes, 'sub') ?? out.Username;
    const email = attribute(out.UserAttributes, 'email');
    if (!sub) throw new Error('Cognito GetUser returned no sub');
    if (!email) throw new Error('Cognito user has no email attribute');
    return { sub, email, fullName: attribute(out.UserAttributes, 'name') || email };
  }

  async adminCreateUser(input: RegisterInput): Promise<{ sub: string }> {
    const out = await this.call('adminCreateUser', () =>
      this.client.send(
        new AdminCreateUserCommand({
          UserPoolId: this.userPoolId,
          Username: input.email,
          // Cognito checks the password policy here, before the user exists, and the
          // SUPPRESS action means it is never mailed; the next call makes it permanent.
          TemporaryPassword: input.password,
          MessageAction: 'SUPPRESS',
          UserAttributes: [
            { Name: 'email', Value: input.email },
            { Name: 'email_verified', Value: 'true' },
            { Name: 'name', Value: input.fullName },
            { Name: 'custom:role', Value: input.role },
          ],
        }),
      ),
    );
    const sub = attribute(out.User?.Attributes, 'sub');
    try {
      if (!sub) throw new Error('Cognito AdminCreateUser returned no sub attribute');
      await this.call('adminCreateUser', () =>
        this.client.send(
          new AdminSetUserPasswordCommand({
            UserPoolId: this.userPoolId,
            Username: input.email,
            Password: input.password,
            Permanent: true,
          }),
        ),
      );
      await this.addToGroup(input.email, input.role);
    } catch (err) {
      await this.deleteQuietly(input.email);
      throw err;
    }
    return { sub };
  }

  /**
   * The admin APIs take the user's username or an alias; Cognito also accepts the `sub`
   * (in email-as-username pools the username *is* the sub). The `sub` is passed as given.
   * Removing before adding fails safe: if the add fails the user has fewer rights, not more.
   * `custom:role` follows last; the groups are what sign-in trusts (see api/auth/role-sync.ts).
   */
  async adminSetRole(sub: string, role: Role, previous: Role): Promise<void> {
    if (previous !== role) {
      await this.client.send(
        new AdminRemoveUserFromGroupCommand({ UserPoolId: this.userPoolId, Username: sub, GroupName: previous }),
      );
    }
    await this.addToGroup(sub, role);
    await this.client.send(
      new AdminUpdateUserAttributesCommand({
        UserPoolId: this.userPoolId,
        Username: sub,
        UserAttributes: [{ Name: 'custom:role', Value: role }],
      }),
    );
  }

  /** Disabling also revokes the user's refresh tokens, so no new access tokens are issued. */
  async adminSetEnabled(sub: string, enabled: boolean): Promise<void> {
    const target = { UserPoolId: this.userPoolId, Username: sub };
    if (enabled) {
      await this.client.send(new AdminEnableUserCommand(target));
      return;
    }
    await this.client.send(new AdminDisableUserCommand(target));
    await this.client.send(new AdminUserGlobalSignOutCommand(target));
  }

  private toSession(out: InitiateAuthCommandOutput): Session {
    if (out.ChallengeName) {
      if (out.ChallengeName === 'NEW_PASSWORD_REQUIRED') {
        throw new AuthenticationError('A new password must be set for this account before signing in');
      }
      throw new AuthenticationError(`Sign-in requires a ${out.ChallengeName} step, which this API does not support`);
    }
    const result = out.AuthenticationResult;
    if (!result?.AccessToken || !result.IdToken) throw new Error('Cognito returned no tokens');
    return {
      accessToken: result.AccessToken,
      idToken: result.IdToken,
      ...(result.RefreshToken ? { refreshToken: result.RefreshToken } : {}),
      expiresIn: result.ExpiresIn ?? 3600,
      tokenType: 'Bearer',
    };
  }
}
