import type { JwtPayload } from 'aws-jwt-verify/jwt-model';
import { InvalidTokenError } from '../../adapters/identity/port';
import { VerifiedTokenCache, verifyAccessToken, type AccessTokenVerifier } from '../../adapters/identity/verify';
import { UserCache } from '../../api/middleware/user-cache';
import { guard } from '../../api/middleware/authenticate';
import type { IdentityProvider } from '../../adapters/identity/port';
import type { Knex } from 'knex';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);

/** A verifier that counts its calls and accepts tokens named in `valid`, with their payloads. */
function countingVerifier(valid: Record<string, Partial<JwtPayload>>) {
  const calls: string[] = [];
  const verifier: AccessTokenVerifier = {
    async verify(token) {
      calls.push(token);
      const payload = valid[token];
      if (!payload) throw new Error('Invalid signature');
      return { client_id: 'client', jti: `jti-${token}`, ...payload } as JwtPayload;
    },
  };
  return { verifier, calls };
}

describe('VerifiedTokenCache with verifyAccessToken', () => {
  const exp = NOW / 1000 + 3600;

  it('when the same token is verified again before it expires, then the verifier runs once and the claims are the same', async () => {
    const { verifier, calls } = countingVerifier({ t1: { sub: 'sub-a', exp, 'cognito:groups': ['buyer'] } });
    const cache = new VerifiedTokenCache({ now: () => NOW });
    const first = await verifyAccessToken(verifier, 't1', cache);
    const second = await verifyAccessToken(verifier, 't1', cache);
    expect(second).toBe(first);
    expect(first).toEqual({ sub: 'sub-a', jti: 'jti-t1', clientId: 'client', username: 'sub-a', groups: ['buyer'] });
    expect(calls).toEqual(['t1']);
    expect(Object.isFrozen(first) && Object.isFrozen(first.groups)).toBe(true);
  });

  it('when the token reaches its exp, then it is verified afresh (and the verifier decides)', async () => {
    let now = NOW;
    const { verifier, calls } = countingVerifier({ t1: { sub: 'sub-a', exp } });
    const cache = new VerifiedTokenCache({ now: () => now });
    await verifyAccessToken(verifier, 't1', cache);
    now = exp * 1000 - 1;
    await verifyAccessToken(verifier, 't1', cache);
    expect(calls).toHaveLength(1);
    now = exp * 1000;
    await verifyAccessToken(verifier, 't1', cache);
    expect(calls).toHaveLength(2);
  });

  it('when a token is refused, then nothing is remembered and each attempt is refused', async () => {
    const { verifier, calls } = countingVerifier({});
    const cache = new VerifiedTokenCache({ now: () => NOW });
    for (let i = 0; i < 2; i++) await expect(verifyAccessToken(verifier, 'forged', cache)).rejects.toBeInstanceOf(InvalidTokenError);
    expect(calls).toHaveLength(2);
    expect(cache.size).toBe(0);
  });

  it('when the verified token has no exp, or claims the cache refuses, then it is not remembered', async () => {
    const { verifier, calls } = countingVerifier({ noexp: { sub: 'sub-a' }, nosub: { exp } });
    const cache = new VerifiedTokenCache({ now: () => NOW });
    await verifyAccessToken(verifier, 'noexp', cache);
    await verifyAccessToken(verifier, 'noexp', cache);
    await expect(verifyAccessToken(verifier, 'nosub', cache)).rejects.toThrow(/subject/);
    expect(calls).toEqual(['noexp', 'noexp', 'nosub']);
    expect(cache.size).toBe(0);
  });

  it('when a subject is forgotten, then only its tokens are verified again', async () => {
    const { verifier, calls } = countingVerifier({ a1: { sub: 'sub-a', exp }, a2: { sub: 'sub-a', exp }, b1: { sub: 'sub-b', exp } });
    const cache = new VerifiedTokenCache({ now: () => NOW });
    for (const t of ['a1', 'a2', 'b1']) await verifyAccessToken(verifier, t, cache);
    cache.forgetSubject('sub-a');
    for (const t of ['a1', 'a2', 'b1']) await verifyAccessToken(verifier, t, cache);
    expect(calls).toEqual(['a1', 'a2', 'b1', 'a1', 'a2']);
  });

  it('when more tokens than the bound are verified, then the oldest are dropped', async () => {
    const valid = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`t${i}`, { sub: `s${i}`, exp }]));
    const { verifier } = countingVerifier(valid);
    const cache = new VerifiedTokenCache({ maxEntries: 3, now: () => NOW });
    for (const t of Object.keys(valid)) await verifyAccessToken(verifier, t, cache);
    expect(cache.size).toBe(3);
    expect(cache.get('t0')).toBeUndefined();
    expect(cache.get('t4')?.sub).toBe('s4');
  });

  it('when no cache is given, then every call verifies', async () => {
    const { verifier, calls } = countingVerifier({ t1: { sub: 'sub-a', exp } });
    await verifyAccessToken(verifier, 't1');
    await verifyAccessToken(verifier, 't1');
    expect(calls).toHaveLength(2);
  });
});

describe('guard and the user cache', () => {
  it('when the user cache forgets a user, then the identity provider forgets their verified tokens', () => {
    const forgotten: string[] = [];
    const identity = { forgetVerifiedTokens: (sub: string) => forgotten.push(sub) } as unknown as IdentityProvider;
    const users = new UserCache();
    guard({ identity, knex: {} as Knex, accessTable: {}, users });
    users.forget('sub-a');
    expect(forgotten).toEqual(['sub-a']);
  });
});
