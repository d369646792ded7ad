/**
 * The identity port: sign-up, sign-in and token verification. Two implementations:
 * AWS Cognito, and a local issuer of Cognito-shaped RS256 tokens (the default).
 * Both verify access tokens through aws-jwt-verify.
 */

export type Role = 'buyer' | 'realtor' | 'admin';

export interface Session {
  accessToken: string;
  idToken: string;
  /** Absent on refresh: Cognito returns no new refresh token then, the old one stays valid. */
  refreshToken?: string;
  expiresIn: number;
  tokenType: 'Bearer';
}

/** What the API learns from a verified access token. */
export interface VerifiedAccessToken {
  sub: string;
  /** `cognito:groups`; the role a user registered with is one of them. */
  groups: string[];
  username: string;
  clientId: string;
  jti: string;
}

/** What a sign-in's id token says about the user's role. */
export interface IdTokenClaims {
  sub: string;
  /** `cognito:groups`. */
  groups: string[];
  /** `custom:role`, as the pool stores it (unchecked: a user may be able to write it). */
  customRole: string | undefined;
}

export interface UserAttributes {
  sub: string;
  email: string;
  fullName: string;
}

export interface RegisterInput {
  email: string;
  password: string;
  fullName: string;
  role: Role;
}

export interface IdentityProvider {
  readonly name: 'local' | 'cognito';
  /** Load signing keys (Cognito: fetch the pool's JWKS) before the first request. */
  init(): Promise<void>;
  register(input: RegisterInput): Promise<{ sub: string; confirmed: boolean }>;
  /** Only where the pool requires a confirmation code after sign-up. */
  confirmSignUp(email: string, code: string): Promise<void>;
  login(email: string, password: string): Promise<Session>;
  /** `email` is needed by Cognito app clients with a secret (SECRET_HASH). */
  refresh(refreshToken: string, email?: string): Promise<Session>;
  /** Revokes the refresh token (and so every token issued from it). */
  logout(refreshToken: string): Promise<void>;
  requestPasswordReset(email: string): Promise<void>;
  confirmPasswordReset(email: string, code: string, newPassword: string): Promise<void>;
  /**
   * Rejects with InvalidTokenError for any reason the token is not acceptable. A token
   * verified once is answered from memory until its `exp` (see VerifiedTokenCache).
   */
  verifyAccessToken(token: string): Promise<VerifiedAccessToken>;
  /** Drops the remembered verifications of `sub`'s tokens (the user was disabled or re-roled). */
  forgetVerifiedTokens(sub: string): void;
  /** Verifies a session's id token (signature, issuer, audience, expiry) and reads its role claims. */
  verifyIdToken(token: string): Promise<IdTokenClaims>;
  /** Attributes of the token's user, for creating the users row on first sight. */
  getUserAttributes(accessToken: string): Promise<UserAttributes>;
  /** Administrative: create a confirmed user with a permanent password in a group. */
  adminCreateUser(input: RegisterInput): Promise<{ sub: string }>;
  /** Puts the user in the role's group (leaving `previous`'s) and sets `custom:role` to match. */
  adminSetRole(sub: string, role: Role, previous: Role): Promise<void>;
  adminSetEnabled(sub: string, enabled: boolean): Promise<void>;
}

/** Every reason a token is refused; the API answers all of them with one 401 body. */
export class InvalidTokenError extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'InvalidTokenError';
  }
}

/** Sign-in failed: wrong email or password, unknown user, or not confirmed. */
export class AuthenticationError extends Error {
  constructor(
    message = 'Incorrect email or password',
    readonly reason: 'credentials' | 'not_confirmed' | 'disabled' | 'invalid_refresh_token' = 'credentials',
  ) {
    super(message);
    this.name = 'AuthenticationError';
  }
}

/** The request cannot be honoured as given (email taken, weak password, bad code). */
export class IdentityInputError extends Error {
  constructor(
    message: string,
    readonly field: string | null,
    readonly kind: 'conflict' | 'invalid' = 'invalid',
  ) {
    super(message);
    this.name = 'IdentityInputError';
  }
}

export const ROLES: readonly Role[] = ['buyer', 'realtor', 'admin'];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** The role a user's groups give, highest first. */
export function roleFromGroups(groups: readonly string[]): Role {
  if (groups.includes('admin')) return 'admin';
  if (groups.includes('realtor')) return 'realtor';
  return 'buyer';
}
