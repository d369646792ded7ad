/**
 * `npm run fuzz`: Schemathesis (`--checks all`) against the embedded stack — `npm start`
 * (API, worker, embedded PostgreSQL, Temporal dev server) in a data folder of its own under
 * the temp folder, on free loopback ports — once per role (buyer, realtor, admin), each with
 * a token of that role and the operations that role may call (public and any-user routes go
 * with the buyer). Exits 0 when Schemathesis found nothing, 1 when it did.
 *
 *   npm run fuzz -- [--seed N] [--max-examples N] [--role buyer,realtor,admin]
 *                   [--phases examples,coverage,fuzzing,stateful] [--workers N]
 *                   [--report-dir DIR] [--keep] [-- <more schemathesis run options>]
 *
 * Schemathesis only ever talks to the stack started here: the document is read from it and
 * saved to a file, `--url` names its loopback address, and proxies are switched off.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startNpmStart } from '../lib/child-process';
import { childProcessEnv, ConfigError, PROJECT_ROOT } from '../lib/config';
import { freePort } from '../lib/ports';
import { ensureFuzzToolchain } from './toolchain/fuzz';

export const ROLES = ['buyer', 'realtor', 'admin'] as const;
export type FuzzRole = (typeof ROLES)[number];

type Json = Record<string, unknown>;
const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace']);

/**
 * What the run changes from the `npm start` defaults, and why: one address registers, signs
 * in and calls everything as fast as Schemathesis can, so the rate limits (documented as 429,
 * which the checks accept) would leave most requests untested; tokens outlive a long run.
 */
export const FUZZ_SETTINGS: Record<string, string> = {
  AUTH_RATE_LIMIT_MAX: '1000000',
  AUTH_ACCOUNT_RATE_LIMIT_MAX: '1000000',
  API_RATE_LIMIT_MAX: '0',
  ACCESS_TOKEN_TTL_SECONDS: '86400',
  // Named by the document's `from-now` rules (a booking's time, a share link's expiry); set here
  // so the hooks read what the stack runs with.
  BOOKING_MIN_NOTICE_MINUTES: '60',
  BOOKING_MAX_AHEAD_DAYS: '365',
  SHARE_LINK_MIN_MINUTES: '10',
  SHARE_LINK_MAX_DAYS: '30',
  // The public recap route is rate-limited per address like the others.
  SHARE_LINK_RATE_LIMIT_MAX: '1000000',
};

/**
 * What a `refers` rule may name that the run does not make: a name the server always knows,
 * by the kind the rule refers to (api/availability/schemas.ts: a zone of the IANA database).
 */
export const KNOWN_NAMES: Record<string, string> = {
  iana_time_zone: 'America/New_York',
};

/** Teaches Schemathesis the document's `x-rules` (see the file). */
const HOOKS = path.join(PROJECT_ROOT, 'scripts', 'toolchain', 'schemathesis_hooks.py');

export interface FuzzOptions {
  seed: number;
  maxExamples: number;
  roles: FuzzRole[];
  phases?: string;
  workers: string;
  reportDir: string;
  keep: boolean;
  extra: string[];
  say(line: string): void;
}

export interface RoleResult {
  role: FuzzRole;
  /** `METHOD /path` of each operation this role's pass tested. */
  operations: string[];
  exitCode: number;
  reportDir: string;
  /** Schemathesis's JUnit report: one test case per operation. */
  junit: string;
}

interface Stack {
  apiUrl: string;
  dataDir: string;
  pgPort: number;
  stop(): Promise<void>;
}

/**
 * The environment of a process of the fuzzed stack (`npm start`, create-admin): the embedded
 * parts only. An external database or Temporal named by the caller's environment (a test
 * runner's, say) is never used, so never fuzzed or written to.
 */
function stackEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = childProcessEnv({ NODE_ENV: 'development', LOG_LEVEL: 'warn', ...extra });
  delete env.DATABASE_URL;
  delete env.TEMPORAL_ADDRESS;
  return env;
}

async function startStack(root: string, say: (line: string) => void): Promise<Stack> {
  const dataDir = path.join(root, 'data');
  const [api, pg, temporal, ui] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const apiUrl = `http://127.0.0.1:${api}`;
  const env = stackEnv({
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    PORT: String(api),
    PUBLIC_BASE_URL: apiUrl,
    EMBEDDED_PG_PORT: String(pg),
    TEMPORAL_DEV_PORT: String(temporal),
    TEMPORAL_UI_PORT: String(ui),
    // A stack of its own beside whatever else runs here: no fixed metrics ports.
    METRICS_PORT: '0',
    TEMPORAL_SDK_METRICS_PORT: '0',
    ...FUZZ_SETTINGS,
  });
  say(`starting the embedded stack in ${root} (API ${api}, PostgreSQL ${pg}, Temporal ${temporal})`);
  const { stop } = await startNpmStart({ env, apiUrl });
  return { apiUrl, dataDir, pgPort: pg, stop };
}

async function call(apiUrl: string, method: string, route: string, body?: unknown, token?: string): Promise<Json> {
  const res = await fetch(`${apiUrl}${route}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route} answered ${res.status}: ${text}`);
  return JSON.parse(text) as Json;
}

function runChild(command: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; echo: boolean }): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (d: Buffer) => {
      output += d.toString();
      if (opts.echo) process.stdout.write(d);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output }));
  });
}

const PASSWORD = 'fuzz-pass-1234';

/**
 * One user per role, signed in, and a little data for their operations to meet: a property,
 * a booking of it, confirmed into a tour with a call, and a note.
 */
async function prepareUsers(stack: Stack, say: (line: string) => void): Promise<{ tokens: Record<FuzzRole, string>; ids: Record<string, number> }> {
  const { apiUrl } = stack;
  const email = (role: FuzzRole) => `fuzz-${role}@example.com`;
  for (const role of ['buyer', 'realtor'] as const) {
    await call(apiUrl, 'POST', '/api/v1/auth/register', { full_name: `Fuzz ${role}`, email: email(role), password: PASSWORD, role });
  }
  // Admins are never self-registered: the same script an operator runs, beside the running stack.
  const admin = await runChild(process.execPath, ['--import', 'tsx', 'scripts/create-admin.ts', '--email', email('admin'), '--password', PASSWORD, '--name', 'Fuzz admin'], {
    cwd: PROJECT_ROOT,
    env: stackEnv({ DATA_DIR: stack.dataDir, EMBEDDED_PG_PORT: String(stack.pgPort) }),
    echo: false,
  });
  if (admin.code !== 0) throw new Error(`create-admin failed:\n${admin.output}`);
  const tokens = {} as Record<FuzzRole, string>;
  const ids: Record<string, number> = {};
  for (const role of ROLES) {
    const session = await call(apiUrl, 'POST', '/api/v1/auth/login', { email: email(role), password: PASSWORD });
    tokens[role] = ((session.data as Json).attributes as Json).access_token as string;
    ids[role] = Number((((session.data as Json).relationships as Json).user as { data: { id: string } }).data.id);
  }
  const property = await call(apiUrl, 'POST', '/api/v1/realtors/properties', { address: '1 Fuzz Street', city: 'Springfield', price: 350000, bedrooms: 3, bathrooms: 2, sqft: 1500 }, tokens.realtor);
  const propertyId = Number((property.data as Json).id);
  const at = new Date(Math.ceil((Date.now() + 3 * 3600e3) / 3600e3) * 3600e3).toISOString();
  const booking = await call(apiUrl, 'POST', '/api/v1/buyers/bookings', { property_id: propertyId, scheduled_at: at, duration_minutes: 30, notes: 'fuzz' }, tokens.buyer);
  const bookingId = (booking.data as Json).id as string;
  const confirmed = await call(apiUrl, 'PUT', `/api/v1/realtors/bookings/${bookingId}/confirm`, {}, tokens.realtor);
  const tourId = ((confirmed.data as Json).tour as Json).id as string;
  await call(apiUrl, 'POST', `/api/v1/realtors/tours/${tourId}/notes`, { content: 'fuzz note', timestamp_ms: 0 }, tokens.realtor).catch(() => undefined);
  say(`users: buyer, realtor, admin; property ${propertyId}, booking ${bookingId}, tour ${tourId}`);
  return { tokens, ids: { ...ids, property: propertyId, booking: Number(bookingId), tour: Number(tourId) } };
}

/**
 * The part of the document one role's pass tests: operations for that role, plus (for the
 * buyer) the public and any-signed-in-user ones, so each is fuzzed once.
 */
export function documentForRole(doc: Json, role: FuzzRole): { document: Json; operations: string[] } {
  const paths: Record<string, Json> = {};
  const operations: string[] = [];
  for (const [route, item] of Object.entries(doc.paths as Record<string, Json>)) {
    const kept: Json = {};
    for (const [key, op] of Object.entries(item)) {
      if (!HTTP_METHODS.has(key)) {
        kept[key] = op;
        continue;
      }
      const roles = (op as { 'x-roles'?: string[] })['x-roles'];
      if (roles ? roles.includes(role) : role === 'buyer') {
        kept[key] = op;
        operations.push(`${key.toUpperCase()} ${route}`);
      }
    }
    if (Object.keys(kept).some((k) => HTTP_METHODS.has(k))) paths[route] = kept;
  }
  return { document: { ...doc, paths }, operations };
}

function schemathesisEnv(venv: string, ids: Record<string, number | string>): NodeJS.ProcessEnv {
  const env = childProcessEnv({ PATH: `${path.join(venv, 'bin')}${path.delimiter}${childProcessEnv({}).PATH ?? ''}`, NO_PROXY: '*', no_proxy: '*' });
  // Nowhere but the local stack: no proxy could forward a request elsewhere.
  for (const key of ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy']) delete env[key];
  for (const key of Object.keys(env)) if (key.startsWith('SCHEMATHESIS_') || key.startsWith('PYTHON')) delete env[key];
  return {
    ...env,
    PYTHONPATH: path.dirname(HOOKS),
    // No __pycache__ beside the hooks in the source tree.
    PYTHONDONTWRITEBYTECODE: '1',
    SCHEMATHESIS_HOOKS: path.basename(HOOKS, '.py'),
    RFY_FUZZ_SETTINGS: JSON.stringify(FUZZ_SETTINGS),
    RFY_FUZZ_IDS: JSON.stringify(ids),
  };
}

export async function runFuzz(opts: FuzzOptions): Promise<RoleResult[]> {
  const { venv, schemathesis } = ensureFuzzToolchain();
  const root = mkdtempSync(path.join(os.tmpdir(), 'rfy-fuzz-'));
  // As root, PostgreSQL runs as a separate `postgres` user that must reach its folder.
  chmodSync(root, 0o755);
  let stack: Stack | undefined;
  try {
    stack = await startStack(root, opts.say);
    const { tokens, ids } = await prepareUsers(stack, opts.say);
    const doc = (await call(stack.apiUrl, 'GET', '/openapi.json')) as Json;
    mkdirSync(opts.reportDir, { recursive: true });
    const results: RoleResult[] = [];
    // The admin last: its pass may delete or disable the other users.
    for (const role of ROLES.filter((r) => opts.roles.includes(r))) {
      const { document, operations } = documentForRole(doc, role);
      const dir = path.join(opts.reportDir, role);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const file = path.join(dir, 'openapi.json');
      writeFileSync(file, JSON.stringify(document, null, 2));
      const args = [
        '--no-color',
        'run',
        file,
        '--url',
        stack.apiUrl,
        '--checks',
        'all',
        '--header',
        `Authorization: Bearer ${tokens[role]}`,
        '--seed',
        String(opts.seed),
        '--max-examples',
        String(opts.maxExamples),
        '--workers',
        opts.workers,
        '--max-redirects',
        '0',
        '--generation-database',
        'none',
        '--report',
        'junit,ndjson',
        '--report-junit-path',
        path.join(dir, 'junit.xml'),
        '--report-ndjson-path',
        path.join(dir, 'events.ndjson'),
        ...(opts.phases ? ['--phases', opts.phases] : []),
        ...opts.extra,
      ];
      opts.say(`${role}: ${operations.length} operations, seed ${opts.seed}, at most ${opts.maxExamples} examples each`);
      // In the report folder: Hypothesis leaves its files where it runs.
      const { code } = await runChild(schemathesis, args, { cwd: dir, env: schemathesisEnv(venv, { ...ids, ...KNOWN_NAMES }), echo: true });
      results.push({ role, operations, exitCode: code, reportDir: dir, junit: path.join(dir, 'junit.xml') });
    }
    return results;
  } finally {
    await stack?.stop();
    if (!opts.keep) rmSync(root, { recursive: true, force: true });
    else opts.say(`kept ${root}`);
  }
}

const USAGE =
  'usage: npm run fuzz -- [--seed N] [--max-examples N] [--role buyer,realtor,admin] [--phases LIST] [--workers N|auto] [--report-dir DIR] [--keep] [-- schemathesis options]';

export function parseFuzzArgs(argv: string[]): Omit<FuzzOptions, 'say'> {
  const dash = argv.indexOf('--');
  const own = dash >= 0 ? argv.slice(0, dash) : argv;
  const { values } = parseArgs({
    args: own,
    strict: true,
    options: {
      seed: { type: 'string' },
      'max-examples': { type: 'string' },
      role: { type: 'string' },
      phases: { type: 'string' },
      workers: { type: 'string' },
      'report-dir': { type: 'string' },
      keep: { type: 'boolean' },
    },
  });
  const whole = (name: string, v: string | undefined, fallback: number) => {
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`--${name} must be a whole number of at least 1`);
    return Number(v);
  };
  const roles = (values.role ?? ROLES.join(',')).split(',').map((r) => r.trim());
  for (const r of roles) if (!(ROLES as readonly string[]).includes(r)) throw new Error(`--role: ${r} is not one of ${ROLES.join(', ')}`);
  const workers = values.workers ?? '1';
  if (workers !== 'auto') whole('workers', workers, 1);
  return {
    seed: whole('seed', values.seed, Math.floor(Math.random() * 2 ** 31)),
    maxExamples: whole('max-examples', values['max-examples'], 100),
    roles: roles as FuzzRole[],
    phases: values.phases,
    workers,
    reportDir: path.resolve(values['report-dir'] ?? path.join(PROJECT_ROOT, '.data', 'fuzz-report')),
    keep: values.keep ?? false,
    extra: dash >= 0 ? argv.slice(dash + 1) : [],
  };
}

async function main(): Promise<number> {
  let options;
  try {
    options = parseFuzzArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const say = (line: string) => process.stdout.write(`[fuzz] ${line}\n`);
  const results = await runFuzz({ ...options, say });
  for (const r of results) say(`${r.role}: ${r.operations.length} operations, ${r.exitCode === 0 ? 'nothing found' : `FAILURES (exit ${r.exitCode})`}; report in ${r.reportDir}`);
  say(`seed ${options.seed} (repeat with --seed ${options.seed})`);
  return results.every((r) => r.exitCode === 0) ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`fuzz: ${err instanceof ConfigError ? err.message : err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

