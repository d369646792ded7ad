import type { JwtPayload } from 'aws-jwt-verify/jwt-model';
import { InvalidTokenError, type IdTokenClaims, type VerifiedAccessToken } from './port';

/**
 * The one code path both identity providers verify access tokens through: an
 * aws-jwt-verify verifier (CognitoJwtVerifier for Cognito, JwtVerifier with Cognito's own
 * field checks for the local issuer), then the same claim mapping.
 */
export interface AccessTokenVerifier {
  verify(token: string): Promise<JwtPayload>;
}

export async function verifyAccessToken(verifier: AccessTokenVerifier, token: string): Promise<VerifiedAccessToken> {
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
  return {
    sub,
    jti,
    clientId,
    username: typeof payload.username === 'string' ? payload.username : sub,
    groups: Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : [],
  };
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
