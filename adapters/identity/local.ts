import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  randomInt,
  randomUUID,
  scrypt,
  sign,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Knex } from 'knex';
import { JwtVerifier } from 'aws-jwt-verify';
import { validateCognitoJwtFields } from 'aws-jwt-verify/cognito-verifier';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import {
  AuthenticationError,
  IdentityInputError,
  InvalidTokenError,
  roleFromGroups,
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
 * A local identity provider that behaves like a Cognito user pool: RS256 access, id and
 * refresh tokens with Cognito-shaped claims, a JWKS, groups, refresh-token revocation and
 * emailed password-reset codes. Credentials live in its own tables, hashed with scrypt.
 */

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: object) => Promise<Buffer>;
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LEN = 32;
const MAX_RESET_ATTEMPTS = 5;

export interface Jwk {
  [field: string]: string;
  kty: 'RSA';
  n: string;
  e: string;
  alg: 'RS256';
  use: 'sig';
  kid: string;
}

export interface LocalIdentityOptions {
  knex: Knex;
  issuer: string;
  clientId: string;
  keyDir: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlDays: number;
  passwordResetTtlMinutes: number;
  /** Delivers a password-reset code (through the email port). */
  sendResetCode(input: { sub: string; email: string; fullName: string; code: string; resetId: number; expiresMinutes: number }): Promise<void>;
  now?: () => number;
}

interface CredentialRow {
  sub: string;
  email: string;
  full_name: string;
  password_hash: string;
  groups: string[];
  confirmed: boolean;
  enabled: boolean;
}

const b64url = (input: Buffer | string) => Buffer.from(input).toString('base64url');
const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex');

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, KEY_LEN, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64'), expected.length, {
    N: Number(n), r: Number(r), p: Number(p), maxmem: SCRYPT.maxmem,
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** The signing key pair, created once and kept under the data folder (mode 0600). */
export function loadOrCreateSigningKey(keyDir: string): { privateKey: KeyObject; jwk: Jwk } {
  const file = path.join(keyDir, 'signing-key.pem');
  if (!existsSync(file)) {
    mkdirSync(keyDir, { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    try {
      writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // Another process made the key first: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const privateKey = createPrivateKey(readFileSync(file));
  const pub = createPublicKey(privateKey).export({ format: 'jwk' }) as { n: string; e: string };
  // RFC 7638 thumbprint as the key id.
  const kid = b64url(createHash('sha256').update(JSON.stringify({ e: pub.e, kty: 'RSA', n: pub.n })).digest());
  return { privateKey, jwk: { kty: 'RSA', n: pub.n, e: pub.e, alg: 'RS256', use: 'sig', kid } };
}

export function signJwt(privateKey: KeyObject, kid: string, payload: Record<string, unknown>): string {
  const header = b64url(JSON.stringify({ alg: 'RS256', kid, typ: 'JWT' }));
  const body = b64url(JSON.stringify(payload));
  const signature = sign('RSA-SHA256', Buffer.from(`${header}.${body}`), privateKey);
  return `${header}.${body}.${b64url(signature)}`;
}

export class LocalIdentityProvider implements IdentityProvider {
  readonly name = 'local' as const;
  private readonly key: { privateKey: KeyObject; jwk: Jwk };
  private readonly verifier: AccessTokenVerifier;
  private readonly idVerifier: AccessTokenVerifier;
  private readonly now: () => number;
  private readonly verified = new VerifiedTokenCache();

  constructor(private readonly opts: LocalIdentityOptions) {
    this.key = loadOrCreateSigningKey(opts.keyDir);
    this.now = opts.now ?? Date.now;
    const jwks = this.jwks();
    // The generic aws-jwt-verify verifier with Cognito's own token_use/client_id checks.
    // Its JWKS "fetcher" answers from memory: verification never calls the network.
    const create = (tokenUse: 'access' | 'id') => {
      const verifier = JwtVerifier.create(
        {
          issuer: opts.issuer,
          audience: null,
          jwksUri: `${opts.issuer}/.well-known/jwks.json`,
          customJwtCheck: ({ payload }) => validateCognitoJwtFields(payload, { tokenUse, clientId: opts.clientId }),
        },
        {
          jwksCache: new SimpleJwksCache({
            fetcher: { fetch: async () => new TextEncoder().encode(JSON.stringify(jwks)).buffer as ArrayBuffer },
          }),
        },
      );
      verifier.cacheJwks(jwks);
      return verifier;
    };
    this.verifier = create('access');
    this.idVerifier = create('id');
  }

  /** The public keys, as published at /.well-known/jwks.json. */
  jwks(): { keys: Jwk[] } {
    return { keys: [this.key.jwk] };
  }

  async init(): Promise<void> {
    // Keys are loaded in the constructor; nothing to fetch.
  }

  private async findByEmail(email: string): Promise<CredentialRow | undefined> {
    return this.opts.knex<CredentialRow>('local_identity_users').whereRaw('lower(email) = lower(?)', [email]).first();
  }

  async register(input: RegisterInput): Promise<{ sub: string; confirmed: boolean }> {
    return this.createUser(input);
  }

  private async createUser(input: RegisterInput): Promise<{ sub: string; confirmed: boolean }> {
    checkPasswordPolicy(input.password);
    const sub = randomUUID();
    try {
      await this.opts.knex('local_identity_users').insert({
        sub,
        email: input.email,
        full_name: input.fullName,
        password_hash: await hashPassword(input.password),
        groups: [input.role],
        confirmed: true,
      });
    } catch (err) {
      if ((err as { code?: string }).code === '23505') {
        throw new IdentityInputError('An account with this email already exists', 'email', 'conflict');
      }
      throw err;
    }
    return { sub, confirmed: true };
  }

  async confirmSignUp(): Promise<void> {
    // Local sign-ups are confirmed at once.
  }

  async login(email: string, password: string): Promise<Session> {
    const user = await this.findByEmail(email);
    // Hash even for an unknown email, so timing does not reveal which emails exist.
    const ok = user ? await verifyPassword(password, user.password_hash) : (await hashPassword(password), false);
    if (!user || !ok) throw new AuthenticationError();
    if (!user.enabled) throw new AuthenticationError('This account is disabled', 'disabled');
    if (!user.confirmed) throw new AuthenticationError('This account is not confirmed', 'not_confirmed');

    const refreshToken = b64url(randomBytes(48));
    const originJti = randomUUID();
    await this.opts.knex('local_refresh_tokens').insert({
      token_hash: sha256hex(refreshToken),
      sub: user.sub,
      origin_jti: originJti,
      expires_at: new Date(this.now() + this.opts.refreshTokenTtlDays * 86_400_000),
    });
    return { ...this.issueTokens(user, originJti), refreshToken };
  }

  async refresh(refreshToken: string): Promise<Session> {
    const row = await this.opts
      .knex('local_refresh_tokens as t')
      .join('local_identity_users as u', 'u.sub', 't.sub')
      .where('t.token_hash', sha256hex(refreshToken))
      .first<CredentialRow & { origin_jti: string; expires_at: Date; revoked_at: Date | null }>(
        'u.*', 't.origin_jti', 't.expires_at', 't.revoked_at',
      );
    if (!row || row.revoked_at || row.expires_at.getTime() <= this.now() || !row.enabled) {
      throw new AuthenticationError('Invalid refresh token', 'invalid_refresh_token');
    }
    return this.issueTokens(row, row.origin_jti);
  }

  async logout(refreshToken: string): Promise<void> {
    await this.opts
      .knex('local_refresh_tokens')
      .where({ token_hash: sha256hex(refreshToken) })
      .whereNull('revoked_at')
      .update({ revoked_at: new Date(this.now()) });
  }

  async requestPasswordReset(email: string): Promise<void> {
    const user = await this.findByEmail(email);
    // An unknown or disabled account is answered like a known one: no enumeration.
    if (!user || !user.enabled) return;
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const [row] = await this.opts
      .knex('local_password_resets')
      .insert({
        sub: user.sub,
        code_hash: sha256hex(`${user.sub}:${code}`),
        expires_at: new Date(this.now() + this.opts.passwordResetTtlMinutes * 60_000),
      })
      .returning<Array<{ id: number }>>('id');
    await this.opts.sendResetCode({
      sub: user.sub,
      email: user.email,
      fullName: user.full_name,
      code,
      resetId: row!.id,
      expiresMinutes: this.opts.passwordResetTtlMinutes,
    });
  }

  async confirmPasswordReset(email: string, code: string, newPassword: string): Promise<void> {
    checkPasswordPolicy(newPassword);
    const invalid = new IdentityInputError('Invalid or expired code', 'code');
    const user = await this.findByEmail(email);
    if (!user || !user.enabled) throw invalid;
    await this.opts.knex.transaction(async (trx) => {
      const reset = await trx('local_password_resets')
        .where({ sub: user.sub })
        .whereNull('used_at')
        .where('expires_at', '>', new Date(this.now()))
        .orderBy('id', 'desc')
        .forUpdate()
        .first<{ id: number; code_hash: string; attempts: number } | undefined>();
      if (!reset || reset.attempts >= MAX_RESET_ATTEMPTS) throw invalid;
      const given = Buffer.from(sha256hex(`${user.sub}:${code}`));
      if (!timingSafeEqual(given, Buffer.from(reset.code_hash))) {
        await trx('local_password_resets').where({ id: reset.id }).increment('attempts', 1);
        // Commit the attempt count, then refuse.
        return 'mismatch' as const;
      }
      await trx('local_password_resets').where({ sub: user.sub }).whereNull('used_at').update({ used_at: new Date(this.now()) });
      await trx('local_identity_users')
        .where({ sub: user.sub })
        .update({ password_hash: await hashPassword(newPassword), password_changed_at: new Date(this.now()), updated_at: new Date(this.now()) });
      // A new password signs the user out everywhere, as Cognito does.
      await trx('local_refresh_tokens').where({ sub: user.sub }).whereNull('revoked_at').update({ revoked_at: new Date(this.now()) });
      return 'ok' as const;
    }).then((outcome) => {
      if (outcome === 'mismatch') throw invalid;
    });
  }

  verifyAccessToken(token: string): Promise<VerifiedAccessToken> {
    return verifyAccessToken(this.verifier, token, this.verified);
  }

  forgetVerifiedTokens(sub: string): void {
    this.verified.forgetSubject(sub);
  }

  verifyIdToken(token: string): Promise<IdTokenClaims> {
    return verifyIdToken((t) => this.idVerifier.verify(t), token);
  }

  async getUserAttributes(accessToken: string): Promise<UserAttributes> {
    const { sub } = await this.verifyAccessToken(accessToken);
    const user = await this.opts.knex<CredentialRow>('local_identity_users').where({ sub }).first();
    if (!user) throw new InvalidTokenError('no such user');
    return { sub, email: user.email, fullName: user.full_name };
  }

  async adminCreateUser(input: RegisterInput): Promise<{ sub: string }> {
    const { sub } = await this.createUser(input);
    return { sub };
  }

  async adminSetRole(sub: string, role: Role, _previous: Role): Promise<void> {
    // A user is in exactly one role group; setting it whole keeps a missed step from piling up groups.
    await this.opts.knex('local_identity_users').where({ sub }).update({ groups: [role], updated_at: new Date(this.now()) });
  }

  async adminSetEnabled(sub: string, enabled: boolean): Promise<void> {
    await this.opts.knex('local_identity_users').where({ sub }).update({ enabled, updated_at: new Date(this.now()) });
    if (!enabled) {
      await this.opts.knex('local_refresh_tokens').where({ sub }).whereNull('revoked_at').update({ revoked_at: new Date(this.now()) });
    }
  }

  private issueTokens(user: CredentialRow, originJti: string): Session {
    const iat = Math.floor(this.now() / 1000);
    const exp = iat + this.opts.accessTokenTtlSeconds;
    const common = {
      sub: user.sub,
      iss: this.opts.issuer,
      'cognito:groups': user.groups,
      origin_jti: originJti,
      event_id: randomUUID(),
      auth_time: iat,
      iat,
      exp,
    };
    const accessToken = signJwt(this.key.privateKey, this.key.jwk.kid, {
      ...common,
      token_use: 'access',
      scope: 'aws.cognito.signin.user.admin',
      client_id: this.opts.clientId,
      username: user.sub,
      jti: randomUUID(),
    });
    const idToken = signJwt(this.key.privateKey, this.key.jwk.kid, {
      ...common,
      token_use: 'id',
      aud: this.opts.clientId,
      'cognito:username': user.sub,
      email: user.email,
      email_verified: true,
      name: user.full_name,
      // As a Cognito pool with the custom attribute would carry it; kept equal to the group.
      'custom:role': roleFromGroups(user.groups),
      jti: randomUUID(),
    });
    return { accessToken, idToken, expiresIn: this.opts.accessTokenTtlSeconds, tokenType: 'Bearer' };
  }
}

/** The local pool's password policy: 8 to 256 characters with a letter and a digit. */
export function checkPasswordPolicy(password: string): void {
  if (password.length < 8 || password.length > 256 || !/[A-Za-z]/.test(password) || !/[0-9]/.test(password)) {
    throw new IdentityInputError('Password must be 8 to 256 characters and contain a letter and a digit', 'password');
  }
}
