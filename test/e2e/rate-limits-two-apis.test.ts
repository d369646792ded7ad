import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { freePort } from '../support/ports';
import { uniqueEmail } from '../support/users';
import { startApiProcess, type ApiProcess } from './support/api-process';

/**
 * Two API processes on one PostgreSQL, as in production: every limit is counted in the
 * shared database, so requests spread over both instances meet one limit, not two.
 * Each sequence alternates between the instances; a per-instance count would allow
 * twice as many requests.
 */

const ADDRESS_MAX = 6;
const ACCOUNT_MAX = 3;
const USER_MAX = 4;

describe('rate limits shared by two API processes', () => {
  let db: TestDatabase;
  let dataDir: string;
  let apis: ApiProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = mkdtempSync(path.join(tmpdir(), 'rfy-two-apis-'));
    const [a, b, nowhere] = await Promise.all([freePort(), freePort(), freePort()]);
    const env = {
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      // One issuer and one signing key (in the shared data folder) for both instances.
      PUBLIC_BASE_URL: `http://127.0.0.1:${a}`,
      // The client is lazy and nothing here reaches Temporal.
      TEMPORAL_ADDRESS: `127.0.0.1:${nowhere}`,
      STORAGE_SIGNING_SECRET: randomBytes(32).toString('hex'),
      AUTH_RATE_LIMIT_MAX: String(ADDRESS_MAX),
      AUTH_ACCOUNT_RATE_LIMIT_MAX: String(ACCOUNT_MAX),
      API_RATE_LIMIT_MAX: String(USER_MAX),
    };
    // One after the other: the first creates the signing key the second reads.
    apis.push(await startApiProcess(env, a));
    apis.push(await startApiProcess(env, b));
  }, 200_000);

  afterAll(async () => {
    await Promise.all(apis.map((api) => api.stop()));
    apis = [];
    await db?.destroy();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** The i-th request goes to instance i % 2. */
  const call = (i: number, method: string, route: string, body?: object, headers: Record<string, string> = {}) =>
    fetch(`${apis[i % 2]!.url}${route}`, {
      method,
      headers: { 'Content-Type': 'application/json', ...headers },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });

  async function statuses(n: number, send: (i: number) => Promise<Response>): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < n; i += 1) out.push((await send(i)).status);
    return out;
  }

  let email: string;
  let auth: Record<string, string>;

  it('when one user calls both instances, then one per-user count covers both', async () => {
    email = uniqueEmail('shared');
    const password = 'shared-pass-123';
    expect((await call(0, 'POST', '/api/v1/auth/register', { full_name: 'Sam Shared', email, password })).status).toBe(201);
    const login = await call(1, 'POST', '/api/v1/auth/login', { email, password });
    expect(login.status).toBe(200);
    auth = { Authorization: `Bearer ${((await login.json()) as { data: { attributes: { access_token: string } } }).data.attributes.access_token}` };

    expect(await statuses(USER_MAX + 2, (i) => call(i, 'GET', '/api/v1/buyers/properties', undefined, auth))).toEqual([...Array(USER_MAX).fill(200), 429, 429]);
    const limited = await call(0, 'GET', '/api/v1/buyers/properties', undefined, auth);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    expect(await limited.json()).toMatchObject({ success: false, errors: [{ code: 'RATE_LIMITED' }] });
  });

  it('when password resets for one account are requested on both instances, then one per-account count covers both', async () => {
    const reset = (i: number) => call(i, 'POST', '/api/v1/auth/password-reset/request', { email });
    expect(await statuses(ACCOUNT_MAX + 2, reset)).toEqual([...Array(ACCOUNT_MAX).fill(202), 429, 429]);
    expect(Number((await db.knex('notifications').where({ template: 'password-reset', recipient: email }).count<Array<{ count: string }>>('* as count'))[0]!.count)).toBe(ACCOUNT_MAX);
  });

  it('when one address guesses passwords on both instances, then one per-address count covers both', async () => {
    // The sign-in above already counted once for this address and route.
    const guess = (i: number) => call(i, 'POST', '/api/v1/auth/login', { email: uniqueEmail('nobody'), password: 'wrong-pass-1' });
    expect(await statuses(ADDRESS_MAX + 1, guess)).toEqual([...Array(ADDRESS_MAX - 1).fill(401), 429, 429]);
  });
});
