import type { JwtPayload } from 'aws-jwt-verify/jwt-model';
import { ExpiringCache } from '../../lib/expiring-cache';
import { InvalidTokenError, type IdTokenClaims, type VerifiedAccessToken } from './port';

/**
 * The one code path both identity providers verify access tokens through: an
 * aws-jwt-verify verifier (CognitoJwtVerifier for Cognito, JwtVerifier with Cognito's own
 * field checks for the local issuer), then the same claim mapping.
 */
export interface AccessTokenVerifier {
  verify(token: string): Promise<JwtPayload>;
}

/**
 * Access tokens already verified, by the token itself, until the token's own `exp`. Every
 * API request presents its token again; checking the RS256 signature and the claims of the
 * same token on each is pure repetition, since a token that was valid stays valid until it
 * expires (revocation is not something aws-jwt-verify checks either: a disabled user is
 * refused by the users row, not by the token). An entry is dropped at its `exp`, when the
 * cache is full (oldest first), and when `forgetSubject` is told the user changed.
 */
export class VerifiedTokenCache {
  private readonly entries: ExpiringCache<string, VerifiedAccessToken>;

  constructor(opts: { maxEntries?: number; now?: () => number } = {}) {
    // aws-jwt-verify checks `exp` against Date.now(), so the cache does too.
    this.entries = new ExpiringCache({ maxEntries: opts.maxEntries ?? 10_000, now: opts.now });
  }

  get(token: string): VerifiedAccessToken | undefined {
    return this.entries.get(token);
  }

  set(token: string, claims: VerifiedAccessToken, expiresMs: number): void {
    this.entries.set(token, claims, expiresMs);
  }

  /** Drops every cached token of `sub` (the user was disabled, deleted or re-roled). */
  forgetSubject(sub: string): void {
    this.entries.deleteWhere((claims) => claims.sub === sub);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** With a cache, a token verified before (and not yet expired) is answered from it. */
export async function verifyAccessToken(verifier: AccessTokenVerifier, token: string, cache?: VerifiedTokenCache): Promise<VerifiedAccessToken> {
  const cached = cache?.get(token);
  if (cached) return cached;
  let payload: JwtPayload;
  try {
    payload = await verifier.verify(token);
  } catch (err) {
    throw new InvalidTokenError((err as Error).message, { cause: err });
  }
  const { sub, jti } = payload;
  const clientId = payload.client_id;
  if (typeof sub !== 'string' || !sub) throw new InvalidTokenError('token has no subject');
  if (typeof jti !== 'string' || !jti) throw new InvalidTokenError('token has no jti');
  if (typeof clientId !== 'string') throw new InvalidTokenError('token has no client_id');
  const groups = payload['cognito:groups'];
  // Shared by every request that presents the token: frozen, so no caller can change it.
  const claims: VerifiedAccessToken = Object.freeze({
    sub,
    jti,
    clientId,
    username: typeof payload.username === 'string' ? payload.username : sub,
    groups: Object.freeze(Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : []) as string[],
  });
  if (cache && typeof payload.exp === 'number') cache.set(token, claims, payload.exp * 1000);
  return claims;
}

/** The id-token counterpart: `verify` is the provider's verifier set up for id tokens. */
export async function verifyIdToken(verify: (token: string) => Promise<JwtPayload>, token: string): Promise<IdTokenClaims> {
  let payload: JwtPayload;
  try {
    payload = await verify(token);
  } catch (err) {
    throw new InvalidTokenError((err as Error).message, { cause: err });
  }
  if (typeof payload.sub !== 'string' || !payload.sub) throw new InvalidTokenError('token has no subject');
  const groups = payload['cognito:groups'];
  const customRole = payload['custom:role'];
  return {
    sub: payload.sub,
    groups: Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : [],
    customRole: typeof customRole === 'string' ? customRole : undefined,
  };
}
