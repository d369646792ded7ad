/**
 * `npm run postman`: the Postman collection and environment under docs/postman/, made
 * from the API's own /openapi.json with openapi-to-postmanv2. By default the document
 * comes from the app built in this process (no database, Temporal or network needed);
 * `-- --url http://host:port` reads it from a running API instead. `-- --check` writes
 * nothing and exits 1 when the committed files differ from what would be generated.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Connection, Client } from '@temporalio/client';
import { convertV2 } from 'openapi-to-postmanv2';
import { buildAdapters } from '../adapters';
import { createApp } from '../api/app';
import { createKnex } from '../db/knex';
import { loadConfig, PROJECT_ROOT } from '../lib/config';
import { createLogger } from '../lib/logger';
import { createRng } from './seed/random';

export const POSTMAN_DIR = path.join(PROJECT_ROOT, 'docs', 'postman');
export const COLLECTION_FILE = 'realtyforyou.postman_collection.json';
export const ENVIRONMENT_FILE = 'realtyforyou.postman_environment.json';
export const FLOW_FILE = 'flow.postman_collection.json';

/** Where the generated requests send their calls; the environment's default. */
const LOCAL_BASE_URL = 'http://localhost:3000';

type Json = Record<string, unknown>;
interface Item extends Json {
  name: string;
  item?: Item[];
  request?: Json & { method: string; url: Json & { path?: string[] }; body?: Json & { raw?: string } };
  event?: Json[];
}
interface Collection extends Json {
  info: Json;
  item: Item[];
  variable?: Json[];
}

/** The OpenAPI document as GET /openapi.json serves it, from the app built here with inert connections. */
export async function localOpenApiDocument(): Promise<Json> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'rfy-postman-'));
  // Nothing below connects: knex and the Temporal connection are lazy and no route runs a query.
  const config = loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    PUBLIC_BASE_URL: LOCAL_BASE_URL,
    DATABASE_URL: 'postgres://postman@127.0.0.1:1/unused',
    TEMPORAL_ADDRESS: '127.0.0.1:1',
    STORAGE_SIGNING_SECRET: 'postman-generation-only',
  });
  const logger = createLogger(config, 'postman');
  const knex = createKnex({ url: config.database.url!, pool: { min: 0, max: 1 } });
  const connection = Connection.lazy({ address: config.temporal.address! });
  try {
    const adapters = buildAdapters(config, knex, logger);
    const app = createApp({
      config,
      logger,
      knex,
      temporal: new Client({ connection }),
      temporalProbe: { check: async () => undefined, close: async () => undefined },
      adapters,
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    try {
      return await fetchDocument(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  } finally {
    await knex.destroy();
    await connection.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function fetchDocument(baseUrl: string): Promise<Json> {
  const res = await fetch(`${baseUrl.replace(/\/$/, '')}/openapi.json`);
  if (!res.ok) throw new Error(`GET ${baseUrl}/openapi.json answered ${res.status}`);
  return (await res.json()) as Json;
}


/**
 * The converter's schema faker (json-schema-faker, bundled in the package, a module
 * singleton) picks enum members, array lengths and fake values at random, so two runs
 * differ. Seeding it, and Math.random for the regex-based strings, for the conversion
 * makes the output repeatable, so the committed files can be compared with a fresh one.
 */
// The converter's own copy, not an API of the package: `npm run postman -- --check` and
// its test notice at once if an upgrade moves it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const schemaFaker = require('openapi-to-postmanv2/assets/json-schema-faker.js') as { option(o: { random: () => number }): void };

async function convert(document: Json): Promise<Collection> {
  const random = Math.random;
  Math.random = createRng(20261202);
  schemaFaker.option({ random: createRng(1202) });
  try {
    return await convertOnce(withEnumDefaults(document) as Json);
  } finally {
    Math.random = random;
    schemaFaker.option({ random });
  }
}

/**
 * The faker keeps its own reference to Math.random from when it was loaded, but it takes
 * a schema's default when there is one: the first member of each enum and a fixed time for
 * date-times, for the examples only.
 */
function withEnumDefaults(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withEnumDefaults);
  if (!value || typeof value !== 'object') return value;
  const out = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withEnumDefaults(v)])) as Json;
  if (Array.isArray(out.enum) && out.enum.length && !('default' in out)) out.default = out.enum[0];
  if (out.format === 'date-time' && !('default' in out)) out.default = '2026-01-01T09:00:00.000Z';
  return out;
}

function convertOnce(document: Json): Promise<Collection> {
  return new Promise((resolve, reject) => {
    convertV2(
      { type: 'json', data: document },
      {
        // Folders follow the paths; with single-child folders collapsed, that is one folder
        // per role area (auth, realtors, buyers, admin), then one per resource.
        folderStrategy: 'Paths',
        requestNameSource: 'Fallback',
        // Type placeholders ("<string>") from the schema; the flow and EXAMPLE_BODIES give real values.
        parametersResolution: 'Schema',
        enableOptionalParameters: false,
        indentCharacter: 'Space',
      },
      (err, result) => {
        if (err) return reject(err);
        const data = result?.result ? result.output?.[0]?.data : undefined;
        if (!data) return reject(new Error(`openapi-to-postmanv2 could not convert the document: ${result?.reason ?? 'no collection'}`));
        resolve(data as Collection);
      },
    );
  });
}

/** Random ids differ on every conversion; Postman assigns its own on import. */
function withoutIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutIds);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'id' && k !== '_postman_id').map(([k, v]) => [k, withoutIds(v)]));
  }
  return value;
}

function* walk(items: Item[]): Generator<Item> {
  for (const item of items) {
    if (item.request) yield item;
    if (item.item) yield* walk(item.item);
  }
}

function routeOf(item: Item): string {
  return `${item.request!.method.toUpperCase()} /${(item.request!.url.path ?? []).join('/')}`;
}

/** Concrete request bodies where a placeholder would not work as sent. */
const EXAMPLE_BODIES: Record<string, Json> = {
  'POST /api/v1/auth/register': { full_name: '{{fullName}}', email: '{{email}}', password: '{{password}}', role: 'buyer' },
  'POST /api/v1/auth/login': { email: '{{email}}', password: '{{password}}' },
  'POST /api/v1/auth/refresh': { refresh_token: '{{refreshToken}}' },
  'POST /api/v1/auth/logout': { refresh_token: '{{refreshToken}}' },
  'POST /api/v1/auth/password-reset/request': { email: '{{email}}' },
  'POST /api/v1/auth/password-reset/confirm': { email: '{{email}}', code: '123456', new_password: 'a-new-pass-123' },
  'PUT /api/v1/auth/me': { full_name: '{{fullName}}' },
  'POST /api/v1/realtors/properties': {
    address: '1 Example Street',
    city: 'Springfield',
    price: 450000,
    bedrooms: 3,
    bathrooms: 2,
    sqft: 1600,
    description: 'Bright family home near the park',
  },
  'POST /api/v1/buyers/bookings': { property_id: '{{propertyId}}', scheduled_at: '{{scheduledAt}}', duration_minutes: 30, notes: 'Looking forward to it' },
};

/** Stores the session's tokens in the environment, for every later request's bearer auth. */
export const STORE_TOKENS_SCRIPT = [
  "pm.test('signed in', () => pm.response.to.have.status(200));",
  'const session = pm.response.json().data.attributes;',
  "pm.environment.set('accessToken', session.access_token);",
  "pm.environment.set('refreshToken', session.refresh_token);",
];

/** The converter nests everything under api/v1; the role areas are the useful top level. */
function areaFolders(items: Item[]): Item[] {
  let level = items;
  for (const name of ['api', 'v1']) {
    if (level.length === 1 && level[0]!.name === name && level[0]!.item) level = level[0]!.item;
  }
  return level;
}

function postProcess(raw: Collection): Collection {
  const collection = withoutIds(raw) as Collection;
  collection.item = areaFolders(collection.item);
  collection.info = { ...collection.info, name: 'RealtyForYou API', description: 'Generated by `npm run postman` from /openapi.json; do not edit by hand.' };
  // The environment, not the collection, says where the API is.
  collection.variable = (collection.variable ?? []).filter((v) => v.key !== 'baseUrl');
  collection.auth = { type: 'bearer', bearer: [{ key: 'token', value: '{{accessToken}}', type: 'string' }] };
  for (const item of walk(collection.item)) {
    const route = routeOf(item);
    // Success examples only: every error example is the same envelope, and they made the file megabytes.
    item.response = ((item.response ?? []) as Array<{ code?: number }>).filter((r) => (r.code ?? 0) < 400);
    const body = EXAMPLE_BODIES[route];
    if (body && item.request!.body) item.request!.body = { ...item.request!.body, raw: JSON.stringify(body, null, 2) };
    // Requests inherit the collection's bearer token rather than a placeholder of their own.
    const auth = item.request!.auth as Json | undefined;
    if (auth && auth.type === 'bearer') delete item.request!.auth;
    if (route === 'POST /api/v1/auth/login' || route === 'POST /api/v1/auth/refresh') {
      item.event = [{ listen: 'test', script: { type: 'text/javascript', exec: STORE_TOKENS_SCRIPT } }];
    }
  }
  return collection;
}

export function environment(baseUrl = LOCAL_BASE_URL): Json {
  const value = (key: string, v: string, type: 'default' | 'secret' = 'default') => ({ key, value: v, type, enabled: true });
  return {
    name: 'RealtyForYou (local)',
    values: [
      value('baseUrl', baseUrl),
      value('email', 'bea@example.com'),
      value('password', 'bea-pass-123', 'secret'),
      value('fullName', 'Bea Buyer'),
      value('accessToken', '', 'secret'),
      value('refreshToken', '', 'secret'),
      value('propertyId', ''),
      value('scheduledAt', ''),
    ],
  };
}

/** Finds a generated request by method and path, to build the flow from the real thing. */
function requestFor(collection: Collection, route: string): Json {
  for (const item of walk(collection.item)) if (routeOf(item) === route) return structuredClone(item.request!);
  throw new Error(`The generated collection has no request for ${route}`);
}

function step(collection: Collection, name: string, route: string, opts: { body?: Json; test: string[]; pre?: string[]; path?: string[] }): Item {
  const request = requestFor(collection, route) as NonNullable<Item['request']>;
  if (opts.body) request.body = { mode: 'raw', raw: JSON.stringify(opts.body, null, 2), options: { raw: { language: 'json' } } };
  if (opts.path) request.url = { ...request.url, path: opts.path, raw: `{{baseUrl}}/${opts.path.join('/')}`, variable: [] };
  delete request.auth;
  const event: Json[] = [{ listen: 'test', script: { type: 'text/javascript', exec: opts.test } }];
  if (opts.pre) event.unshift({ listen: 'prerequest', script: { type: 'text/javascript', exec: opts.pre } });
  return { name, request, event };
}

/**
 * The end-to-end flow newman runs in CI: register a realtor and a buyer, the realtor lists
 * a property, the buyer finds it and books a tour, the realtor confirms it. Built from the
 * generated requests, so a changed route breaks the flow here rather than in a user's hands.
 */
// The flow keeps its values in the environment: they would lose to the environment's own
// (empty) propertyId and scheduledAt as collection variables.
export function flowCollection(collection: Collection): Collection {
  const login = (who: 'realtor' | 'buyer') => ({ email: `{{${who}Email}}`, password: '{{password}}' });
  const signedIn = [...STORE_TOKENS_SCRIPT];
  const status = (code: number) => `pm.test('status ${code}', () => pm.response.to.have.status(${code}));`;
  const unique = [
    "const run = Date.now().toString(36) + Math.random().toString(36).slice(2, 6);",
    "pm.environment.set('realtorEmail', `realtor-${run}@example.com`);",
    "pm.environment.set('buyerEmail', `buyer-${run}@example.com`);",
  ];
  const items: Item[] = [
    step(collection, 'Register a realtor', 'POST /api/v1/auth/register', {
      pre: unique,
      body: { full_name: 'Rita Realtor', email: '{{realtorEmail}}', password: '{{password}}', role: 'realtor' },
      test: [status(201), "pm.test('is a realtor', () => pm.expect(pm.response.json().data.attributes.role).to.eql('realtor'));"],
    }),
    step(collection, 'Register a buyer', 'POST /api/v1/auth/register', {
      body: { full_name: 'Bea Buyer', email: '{{buyerEmail}}', password: '{{password}}', role: 'buyer' },
      test: [status(201)],
    }),
    step(collection, 'Realtor signs in', 'POST /api/v1/auth/login', { body: login('realtor'), test: signedIn }),
    step(collection, 'Realtor lists a property', 'POST /api/v1/realtors/properties', {
      body: EXAMPLE_BODIES['POST /api/v1/realtors/properties']!,
      test: [status(201), "pm.environment.set('propertyId', Number(pm.response.json().data.id));"],
    }),
    step(collection, 'Buyer signs in', 'POST /api/v1/auth/login', { body: login('buyer'), test: signedIn }),
    step(collection, 'Buyer lists properties', 'GET /api/v1/buyers/properties', {
      path: ['api', 'v1', 'buyers', 'properties'],
      test: [
        status(200),
        "pm.test('the new listing is there', () => pm.expect(pm.response.json().data.map((p) => Number(p.id))).to.include(Number(pm.environment.get('propertyId'))));",
      ],
    }),
    step(collection, 'Buyer books a tour', 'POST /api/v1/buyers/bookings', {
      // Three days ahead on a whole hour: past the minimum notice, and no timer fires meanwhile.
      pre: ["const at = new Date(Math.ceil((Date.now() + 72 * 3600e3) / 3600e3) * 3600e3);", "pm.environment.set('scheduledAt', at.toISOString());"],
      body: { property_id: '{{propertyId}}', scheduled_at: '{{scheduledAt}}', duration_minutes: 30 },
      test: [
        status(201),
        "pm.test('is pending', () => pm.expect(pm.response.json().data.attributes.status).to.eql('pending'));",
        "pm.environment.set('bookingId', pm.response.json().data.id);",
      ],
    }),
    step(collection, 'Realtor signs in again', 'POST /api/v1/auth/login', { body: login('realtor'), test: signedIn }),
    step(collection, 'Realtor confirms the booking', 'PUT /api/v1/realtors/bookings/:id/confirm', {
      path: ['api', 'v1', 'realtors', 'bookings', '{{bookingId}}', 'confirm'],
      test: [
        status(200),
        "pm.test('is confirmed, with a tour', () => { const d = pm.response.json().data; pm.expect(d.booking.attributes.status).to.eql('confirmed'); pm.expect(d.tour.id).to.be.a('string'); });",
      ],
    }),
  ];
  return {
    info: { name: 'RealtyForYou flow', description: 'Register, sign in, list, book, confirm. Generated by `npm run postman`; run with newman.', schema: collection.info.schema },
    auth: collection.auth,
    // A number in the property body is sent as JSON text, so propertyId is spliced in unquoted.
    variable: [{ key: 'password', value: 'flow-pass-123' }],
    item: items.map((i) => (i.name === 'Buyer books a tour' ? unquoteProperty(i) : i)),
  };
}

function unquoteProperty(item: Item): Item {
  const body = item.request!.body!;
  return { ...item, request: { ...item.request!, body: { ...body, raw: body.raw!.replace('"{{propertyId}}"', '{{propertyId}}') } } };
}

export interface PostmanFiles {
  [file: string]: string;
}

export async function generate(document: Json): Promise<PostmanFiles> {
  const collection = postProcess(await convert(document));
  const text = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
  return {
    [COLLECTION_FILE]: text(collection),
    [ENVIRONMENT_FILE]: text(environment()),
    [FLOW_FILE]: text(flowCollection(collection)),
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const urlAt = args.indexOf('--url');
  const document = urlAt >= 0 ? await fetchDocument(args[urlAt + 1] ?? '') : await localOpenApiDocument();
  const files = await generate(document);
  if (args.includes('--check')) {
    const stale = Object.keys(files).filter((f) => {
      try {
        return readFileSync(path.join(POSTMAN_DIR, f), 'utf8') !== files[f];
      } catch {
        return true;
      }
    });
    if (stale.length) {
      process.stderr.write(`docs/postman is out of date (${stale.join(', ')}): run npm run postman\n`);
      process.exit(1);
    }
    process.stdout.write('docs/postman is up to date\n');
    return;
  }
  for (const [file, content] of Object.entries(files)) writeFileSync(path.join(POSTMAN_DIR, file), content);
  process.stdout.write(`wrote ${Object.keys(files).map((f) => `docs/postman/${f}`).join(', ')}\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
