/**
 * npm run seed -- --properties 10000 [--realtors 200] [--buyers 50] [--images-per-property 3]
 *                 [--seed 42] [--password seed-pass-123] [--reset]
 * (--properties defaults to 1000; the others to the values shown.)
 *
 * Fills the configured database (DATABASE_URL, else the embedded PostgreSQL under the
 * data folder, migrated first) with realistic listings for demos and benchmarks:
 * realtors and buyers who can sign in (created through the configured identity provider),
 * properties with plausible US addresses, prices that follow size and city, searchable
 * descriptions, and ready images whose few files are generated once with sharp.
 *
 * The same --seed gives the same data on a fresh database. Running again adds a new
 * "run": new emails (`seed<run>-realtor-0001@example.com`) and MLS ids (`SEED<run>-000001`).
 */
import { parseArgs } from 'node:util';
import type { Knex } from 'knex';
import sharp from 'sharp';
import { buildAdapters } from '../adapters';
import type { IdentityProvider, Role } from '../adapters/identity/port';
import { renderWebp } from '../adapters/images/inspect';
import type { ObjectStorage } from '../adapters/storage/port';
import { LARGE, THUMBNAIL } from '../activities/images.activities';
import { openEmbeddedPostgres, type RunningPostgres } from '../db/embedded';
import { createKnex, migrateLatest } from '../db/knex';
import { ConfigError, getConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { StartupError } from '../lib/shutdown';

export interface SeedOptions {
  properties: number;
  realtors: number;
  buyers: number;
  imagesPerProperty: number;
  seed: number;
  password: string;
  reset: boolean;
}

export const DEFAULT_PASSWORD = 'seed-pass-123';

export const USAGE =
  'usage: npm run seed -- --properties <n> [--realtors 200] [--buyers 50] [--images-per-property 3] [--seed 42] [--password seed-pass-123] [--reset]';

export class UsageError extends Error {}

export function parseSeedArgs(argv: string[]): SeedOptions {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        properties: { type: 'string' },
        realtors: { type: 'string' },
        buyers: { type: 'string' },
        'images-per-property': { type: 'string' },
        seed: { type: 'string' },
        password: { type: 'string' },
        reset: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const int = (name: string, raw: string | undefined, fallback: number, min: number, max: number): number => {
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new UsageError(`--${name}: must be an integer from ${min} to ${max}`);
    return Number(raw);
  };
  const opts: SeedOptions = {
    properties: int('properties', values.properties, 1000, 0, 1_000_000),
    realtors: int('realtors', values.realtors, 200, 0, 10_000),
    buyers: int('buyers', values.buyers, 50, 0, 10_000),
    imagesPerProperty: int('images-per-property', values['images-per-property'], 3, 0, 20),
    seed: int('seed', values.seed, 42, 0, 2 ** 31 - 1),
    password: values.password ?? DEFAULT_PASSWORD,
    reset: values.reset ?? false,
  };
  if (opts.properties > 0 && opts.realtors === 0) throw new UsageError('--realtors: properties need at least one realtor');
  if (opts.password.length < 8) throw new UsageError('--password: must be at least 8 characters');
  return opts;
}

// ---------------------------------------------------------------------------------------
// Deterministic randomness

/** mulberry32: tiny, fast and good enough for fake data. */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One independent stream per purpose, so more realtors do not move every address. */
function stream(seed: number, run: number, purpose: string): () => number {
  let h = 2166136261 ^ seed ^ Math.imul(run, 0x9e3779b1);
  for (const ch of purpose) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return createRng(h >>> 0);
}

type Rng = () => number;
const between = (r: Rng, min: number, max: number) => min + Math.floor(r() * (max - min + 1));
const pick = <T>(r: Rng, items: readonly T[]): T => items[Math.floor(r() * items.length)]!;
function weighted<T>(r: Rng, items: ReadonlyArray<readonly [T, number]>): T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let x = r() * total;
  for (const [item, w] of items) {
    x -= w;
    if (x < 0) return item;
  }
  return items[items.length - 1]![0];
}
function pickSome<T>(r: Rng, items: readonly T[], n: number): T[] {
  const pool = [...items];
  const out: T[] = [];
  while (out.length < n && pool.length) out.push(pool.splice(Math.floor(r() * pool.length), 1)[0]!);
  return out;
}

// ---------------------------------------------------------------------------------------
// What listings look like

interface City {
  name: string;
  state: string;
  zip: number;
  zipSpan: number;
  lat: number;
  lon: number;
  /** Typical price per square foot, in dollars. */
  ppsf: number;
  /** How many listings it gets, relative to the others. */
  weight: number;
}

export const CITIES: readonly City[] = [
  { name: 'Austin', state: 'TX', zip: 78701, zipSpan: 59, lat: 30.2672, lon: -97.7431, ppsf: 340, weight: 9 },
  { name: 'Houston', state: 'TX', zip: 77002, zipSpan: 97, lat: 29.7604, lon: -95.3698, ppsf: 190, weight: 8 },
  { name: 'Dallas', state: 'TX', zip: 75201, zipSpan: 53, lat: 32.7767, lon: -96.797, ppsf: 230, weight: 7 },
  { name: 'Phoenix', state: 'AZ', zip: 85003, zipSpan: 51, lat: 33.4484, lon: -112.074, ppsf: 270, weight: 7 },
  { name: 'Denver', state: 'CO', zip: 80202, zipSpan: 37, lat: 39.7392, lon: -104.9903, ppsf: 380, weight: 5 },
  { name: 'Seattle', state: 'WA', zip: 98101, zipSpan: 98, lat: 47.6062, lon: -122.3321, ppsf: 560, weight: 4 },
  { name: 'Portland', state: 'OR', zip: 97201, zipSpan: 35, lat: 45.5152, lon: -122.6784, ppsf: 390, weight: 3 },
  { name: 'San Diego', state: 'CA', zip: 92101, zipSpan: 53, lat: 32.7157, lon: -117.1611, ppsf: 720, weight: 4 },
  { name: 'Los Angeles', state: 'CA', zip: 90001, zipSpan: 88, lat: 34.0522, lon: -118.2437, ppsf: 690, weight: 6 },
  { name: 'San Jose', state: 'CA', zip: 95110, zipSpan: 28, lat: 37.3382, lon: -121.8863, ppsf: 850, weight: 2 },
  { name: 'Sacramento', state: 'CA', zip: 95814, zipSpan: 50, lat: 38.5816, lon: -121.4944, ppsf: 330, weight: 2 },
  { name: 'Las Vegas', state: 'NV', zip: 89101, zipSpan: 77, lat: 36.1699, lon: -115.1398, ppsf: 250, weight: 3 },
  { name: 'Salt Lake City', state: 'UT', zip: 84101, zipSpan: 20, lat: 40.7608, lon: -111.891, ppsf: 330, weight: 2 },
  { name: 'Minneapolis', state: 'MN', zip: 55401, zipSpan: 30, lat: 44.9778, lon: -93.265, ppsf: 220, weight: 2 },
  { name: 'Chicago', state: 'IL', zip: 60601, zipSpan: 60, lat: 41.8781, lon: -87.6298, ppsf: 260, weight: 6 },
  { name: 'Columbus', state: 'OH', zip: 43201, zipSpan: 40, lat: 39.9612, lon: -82.9988, ppsf: 190, weight: 2 },
  { name: 'Cleveland', state: 'OH', zip: 44101, zipSpan: 40, lat: 41.4993, lon: -81.6944, ppsf: 120, weight: 2 },
  { name: 'Detroit', state: 'MI', zip: 48201, zipSpan: 40, lat: 42.3314, lon: -83.0458, ppsf: 110, weight: 2 },
  { name: 'Nashville', state: 'TN', zip: 37201, zipSpan: 50, lat: 36.1627, lon: -86.7816, ppsf: 310, weight: 4 },
  { name: 'Atlanta', state: 'GA', zip: 30303, zipSpan: 60, lat: 33.749, lon: -84.388, ppsf: 240, weight: 5 },
  { name: 'Charlotte', state: 'NC', zip: 28202, zipSpan: 60, lat: 35.2271, lon: -80.8431, ppsf: 230, weight: 4 },
  { name: 'Raleigh', state: 'NC', zip: 27601, zipSpan: 17, lat: 35.7796, lon: -78.6382, ppsf: 250, weight: 3 },
  { name: 'Miami', state: 'FL', zip: 33125, zipSpan: 60, lat: 25.7617, lon: -80.1918, ppsf: 480, weight: 5 },
  { name: 'Tampa', state: 'FL', zip: 33602, zipSpan: 45, lat: 27.9506, lon: -82.4572, ppsf: 280, weight: 4 },
  { name: 'Orlando', state: 'FL', zip: 32801, zipSpan: 38, lat: 28.5383, lon: -81.3792, ppsf: 260, weight: 4 },
  { name: 'Boston', state: 'MA', zip: 2108, zipSpan: 30, lat: 42.3601, lon: -71.0589, ppsf: 690, weight: 3 },
  { name: 'New York', state: 'NY', zip: 10001, zipSpan: 40, lat: 40.7128, lon: -74.006, ppsf: 950, weight: 5 },
  { name: 'Philadelphia', state: 'PA', zip: 19102, zipSpan: 50, lat: 39.9526, lon: -75.1652, ppsf: 210, weight: 3 },
  { name: 'Pittsburgh', state: 'PA', zip: 15201, zipSpan: 40, lat: 40.4406, lon: -79.9959, ppsf: 150, weight: 2 },
  { name: 'Baltimore', state: 'MD', zip: 21201, zipSpan: 30, lat: 39.2904, lon: -76.6122, ppsf: 180, weight: 2 },
  { name: 'Kansas City', state: 'MO', zip: 64105, zipSpan: 50, lat: 39.0997, lon: -94.5786, ppsf: 170, weight: 2 },
  { name: 'Boise', state: 'ID', zip: 83702, zipSpan: 14, lat: 43.615, lon: -116.2023, ppsf: 290, weight: 1 },
];

export const PROPERTY_TYPES = [
  ['single_family', 55],
  ['condominium', 17],
  ['townhouse', 12],
  ['multi_family', 6],
  ['manufactured', 3],
  ['land', 5],
  ['other', 2],
] as const;
type PropertyType = (typeof PROPERTY_TYPES)[number][0];

export const STATUSES = [
  ['active', 70],
  ['coming_soon', 8],
  ['pending', 8],
  ['active_under_contract', 3],
  ['closed', 7],
  ['withdrawn', 3],
  ['expired', 1],
] as const;

const STREETS = [
  'Oak', 'Maple', 'Cedar', 'Elm', 'Pine', 'Willow', 'Birch', 'Magnolia', 'Juniper', 'Aspen', 'Sycamore', 'Hickory',
  'Washington', 'Lincoln', 'Jefferson', 'Madison', 'Franklin', 'Jackson', 'Adams', 'Monroe', 'Lake', 'Hill', 'Park',
  'Sunset', 'Highland', 'Meadow', 'River', 'Spring', 'Forest', 'Ridge', 'Valley', 'Church', 'Main', 'Mill', 'Prairie',
  'Harbor', 'Cypress', 'Summit', 'Orchard', 'Canyon', 'Bluebonnet', 'Heritage', 'Chestnut', 'Dogwood', 'Laurel',
];
const SUFFIXES = ['St', 'Ave', 'Blvd', 'Dr', 'Ln', 'Ct', 'Way', 'Rd', 'Pl', 'Ter', 'Cir', 'Pkwy'];
const FIRST_NAMES = [
  'Olivia', 'Liam', 'Emma', 'Noah', 'Ava', 'Elijah', 'Sophia', 'James', 'Isabella', 'William', 'Mia', 'Benjamin',
  'Charlotte', 'Lucas', 'Amelia', 'Henry', 'Harper', 'Theodore', 'Evelyn', 'Mateo', 'Abigail', 'Daniel', 'Emily',
  'Jack', 'Ella', 'Owen', 'Grace', 'Samuel', 'Chloe', 'Sebastian', 'Priya', 'Wei', 'Fatima', 'Diego', 'Aisha', 'Kenji',
];
const LAST_NAMES = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Hernandez',
  'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee', 'Perez',
  'Thompson', 'White', 'Harris', 'Clark', 'Lewis', 'Robinson', 'Walker', 'Young', 'Patel', 'Nguyen', 'Kim', 'Chen',
];
const NEIGHBOURHOODS = ['Old Town', 'the Arts District', 'Riverside', 'Northgate', 'Westwood', 'Lakeview', 'the Heights', 'Eastside', 'Midtown', 'Brookhaven'];

const TYPE_LABEL: Record<PropertyType, string> = {
  single_family: 'single-family home',
  condominium: 'condo',
  townhouse: 'townhouse',
  multi_family: 'multi-family property',
  manufactured: 'manufactured home',
  land: 'lot',
  other: 'property',
};

const OPENERS = [
  'Charming {beds}-bedroom {type} in the heart of {hood}.',
  'Move-in ready {type} on a quiet, tree-lined street in {hood}.',
  'Spacious {type} with {sqft} sq ft of light-filled living space.',
  'Beautifully updated {type} just minutes from downtown {city}.',
  'Welcome home to this stylish {beds}-bedroom {type} near {hood}.',
  'Rare opportunity: a well-kept {type} in sought-after {hood}.',
  'Modern {type} with thoughtful upgrades throughout.',
];
const FEATURES = [
  'Granite countertops and stainless steel appliances in the updated kitchen.',
  'Sparkling in-ground pool with a covered patio for entertaining.',
  'Hardwood floors throughout the main level.',
  'Open floor plan with vaulted ceilings and oversized windows.',
  'Primary suite with a walk-in closet and a spa-like bath.',
  'Attached two-car garage with built-in storage.',
  'Fenced backyard, perfect for pets and play.',
  'Cozy wood-burning fireplace in the living room.',
  'Owned solar panels keep utility bills low.',
  'Finished basement with a home theater and guest room.',
  'Quartz countertops and a large kitchen island.',
  'Energy-efficient windows and a brand-new HVAC system.',
  'Rooftop deck with skyline views.',
  'Community pool, fitness center and clubhouse.',
  "Chef's kitchen with a gas range and granite island.",
  'Smart-home thermostat, video doorbell and EV charger in the garage.',
  'Covered front porch and mature shade trees.',
  'Private balcony off the living room.',
  'Laundry room with a utility sink and extra storage.',
  'Heated pool and hot tub in a private backyard oasis.',
  'Home office with built-in shelving.',
  'New roof and water heater.',
];
const LAND_FEATURES = [
  'Utilities available at the street.',
  'Gently sloping with mature oak trees.',
  'Zoned residential; bring your builder and your plans.',
  'Quiet cul-de-sac location with room for a pool.',
  'Survey and soil report available.',
];
const CLOSERS = [
  "Close to {city}'s best schools, parks and shopping.",
  'Minutes from downtown {city} and major highways.',
  'Walk to cafes, restaurants and the farmers market.',
  'Schedule a video tour today!',
  'Low HOA dues and no rental restrictions.',
  'Seller is motivated: bring your offers.',
];

export interface PropertyPlan {
  address: string;
  mls_id: string;
  description: string;
  price: string;
  bedrooms: number | null;
  bathrooms: number | null;
  sqft: number | null;
  status: string;
  city: string;
  state: string;
  postal_code: string;
  property_type: PropertyType;
  latitude: string;
  longitude: string;
  /** Index into the run's realtors. */
  realtorIndex: number;
  /** Days before "now" the listing was created. */
  ageDays: number;
}

const fill = (template: string, vars: Record<string, string | number>) => template.replace(/\{(\w+)\}/g, (_, k: string) => String(vars[k] ?? ''));

/** Every property of a run, in order; a pure function of its arguments. */
export function planProperties(opts: { count: number; seed: number; run: number; realtors: number }): PropertyPlan[] {
  const r = stream(opts.seed, opts.run, 'properties');
  const cityWeights = CITIES.map((c) => [c, c.weight] as const);
  const plans: PropertyPlan[] = [];
  for (let i = 0; i < opts.count; i++) {
    const city = weighted(r, cityWeights);
    const type = weighted(r, PROPERTY_TYPES);
    const status = weighted(r, STATUSES);
    // Land has no rooms or floor area.
    let bedrooms: number | null = null;
    let bathrooms: number | null = null;
    let sqft: number | null = null;
    let price: number;
    if (type === 'land') {
      const acres = Math.round((0.15 + r() * r() * 5) * 100) / 100;
      price = (25_000 + acres * 60_000 + r() * 40_000) * (city.ppsf / 300);
    } else {
      bedrooms =
        type === 'condominium' ? weighted(r, [[0, 1], [1, 4], [2, 5], [3, 2]])
          : type === 'multi_family' ? between(r, 4, 10)
            : type === 'townhouse' || type === 'manufactured' ? between(r, 2, 4)
              : weighted(r, [[1, 1], [2, 4], [3, 10], [4, 8], [5, 3], [6, 1]]);
      bathrooms = Math.max(1, Math.round(bedrooms * 0.7 + r() * 1.2));
      const perRoom = type === 'condominium' ? 380 : type === 'manufactured' ? 330 : 440;
      sqft = Math.round(((type === 'condominium' ? 250 : 400) + bedrooms * perRoom + bathrooms * 110) * (0.85 + r() * 0.4) / 10) * 10;
      const typeFactor = { single_family: 1, condominium: 1.08, townhouse: 0.95, multi_family: 0.82, manufactured: 0.45, other: 0.9 }[type];
      price = sqft * city.ppsf * typeFactor * (0.82 + r() * 0.4);
    }
    // List prices end like real ones: 449,900 or 450,000.
    const rounded = Math.max(10_000, Math.round(price / 1000) * 1000 - (r() < 0.45 ? 100 : 0));

    const number = between(r, 100, 9899);
    let address = `${number} ${pick(r, STREETS)} ${pick(r, SUFFIXES)}`;
    if (type === 'condominium') address += ` Apt ${between(r, 1, 24)}${pick(r, ['A', 'B', 'C', 'D'])}`;
    else if (type === 'townhouse' && r() < 0.5) address += ` Unit ${between(r, 1, 40)}`;

    const vars = { beds: bedrooms ?? 0, type: TYPE_LABEL[type], sqft: (sqft ?? 0).toLocaleString('en-US'), city: city.name, hood: pick(r, NEIGHBOURHOODS) };
    const sentences =
      type === 'land'
        ? [`Buildable ${TYPE_LABEL.land} in ${vars.hood}, ${city.name}.`, ...pickSome(r, LAND_FEATURES, between(r, 1, 3))]
        : [fill(pick(r, OPENERS), vars), ...pickSome(r, FEATURES, between(r, 2, 5))];
    sentences.push(fill(pick(r, CLOSERS), vars));

    plans.push({
      address,
      mls_id: `SEED${opts.run}-${String(i + 1).padStart(6, '0')}`,
      description: sentences.join(' '),
      price: rounded.toFixed(2),
      bedrooms,
      bathrooms,
      sqft,
      status,
      city: city.name,
      state: city.state,
      postal_code: String(city.zip + between(r, 0, city.zipSpan)).padStart(5, '0'),
      property_type: type,
      latitude: (city.lat + (r() - 0.5) * 0.24).toFixed(6),
      longitude: (city.lon + (r() - 0.5) * 0.3).toFixed(6),
      realtorIndex: Math.floor(r() * opts.realtors),
      ageDays: r() * 365,
    });
  }
  return plans;
}

export interface UserPlan {
  email: string;
  fullName: string;
  role: Extract<Role, 'realtor' | 'buyer'>;
}

export function planUsers(opts: { realtors: number; buyers: number; seed: number; run: number }): UserPlan[] {
  const r = stream(opts.seed, opts.run, 'users');
  const make = (role: UserPlan['role'], i: number): UserPlan => ({
    email: `seed${opts.run}-${role}-${String(i + 1).padStart(4, '0')}@example.com`,
    fullName: `${pick(r, FIRST_NAMES)} ${pick(r, LAST_NAMES)}`,
    role,
  });
  return [...Array.from({ length: opts.realtors }, (_, i) => make('realtor', i)), ...Array.from({ length: opts.buyers }, (_, i) => make('buyer', i))];
}

// ---------------------------------------------------------------------------------------
// Images: a few real files, shared by many rows

export interface SeedImage {
  originalKey: string;
  processedKey: string;
  thumbnailKey: string;
  byteSize: number;
  width: number;
  height: number;
  processedWidth: number;
  processedHeight: number;
  thumbnailWidth: number;
  thumbnailHeight: number;
}

const PALETTE = [
  ['#87ceeb', '#c0392b'], ['#b0e0e6', '#2e86c1'], ['#fcd5b5', '#27ae60'], ['#d6eaf8', '#8e44ad'],
  ['#fdebd0', '#d35400'], ['#e8f8f5', '#34495e'], ['#f9e79f', '#7b241c'], ['#d5d8dc', '#1abc9c'],
] as const;

/** A small house drawn on a sky of its own colour, rendered the way the image pipeline renders uploads. */
export async function storeSeedImages(storage: ObjectStorage): Promise<SeedImage[]> {
  const width = 1200;
  const height = 800;
  return Promise.all(
    PALETTE.map(async ([sky, house], i) => {
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
        <rect width="100%" height="100%" fill="${sky}"/>
        <rect y="560" width="100%" height="240" fill="#6ab04c"/>
        <polygon points="330,360 600,150 870,360" fill="#5d4037"/>
        <rect x="380" y="360" width="440" height="260" fill="${house}"/>
        <rect x="560" y="470" width="80" height="150" fill="#4e342e"/>
        <rect x="420" y="410" width="90" height="80" fill="#fffde7"/>
        <rect x="690" y="410" width="90" height="80" fill="#fffde7"/>
        <circle cx="1050" cy="130" r="60" fill="#fff59d"/>
      </svg>`;
      const original = await sharp(Buffer.from(svg)).jpeg({ quality: 80 }).toBuffer();
      const [large, thumb] = await Promise.all([renderWebp(original, LARGE, width * height), renderWebp(original, THUMBNAIL, width * height)]);
      const base = `seed/images/${i + 1}`;
      const image: SeedImage = {
        originalKey: `${base}/original.jpg`,
        processedKey: `${base}/large.webp`,
        thumbnailKey: `${base}/thumbnail.webp`,
        byteSize: original.length,
        width,
        height,
        processedWidth: large.width,
        processedHeight: large.height,
        thumbnailWidth: thumb.width,
        thumbnailHeight: thumb.height,
      };
      await storage.put(image.originalKey, original, 'image/jpeg');
      await storage.put(image.processedKey, large.data, 'image/webp');
      await storage.put(image.thumbnailKey, thumb.data, 'image/webp');
      return image;
    }),
  );
}

// ---------------------------------------------------------------------------------------
// Writing it

export interface SeedDeps {
  knex: Knex;
  identity: IdentityProvider;
  storage: ObjectStorage;
  now?: () => Date;
}

export interface SeedSummary {
  run: number;
  seed: number;
  password: string;
  identityProvider: string;
  storage: string;
  reset: { properties: number; users: number } | null;
  realtors: Array<{ id: number; email: string }>;
  buyers: Array<{ id: number; email: string }>;
  properties: number;
  byStatus: Record<string, number>;
  byType: Record<string, number>;
  /** Seeded listings per city, most first. */
  cities: Array<{ city: string; state: string; count: number; available: number }>;
  images: number;
  imageFiles: number;
  ms: { users: number; images: number; properties: number; total: number };
}

const SEED_EMAIL = '^seed([0-9]+)-(realtor|buyer)-';
const SEED_MLS = '^SEED([0-9]+)-';
const BATCH = 1000;

/** The next run number: one past any seeded email or MLS id already in the database. */
async function nextRun(knex: Knex): Promise<number> {
  const { rows } = await knex.raw<{ rows: Array<{ max: number | null }> }>(
    `SELECT max(n) AS max FROM (
       SELECT (regexp_match(email, ?))[1]::int AS n FROM users
       UNION ALL SELECT (regexp_match(email, ?))[1]::int FROM local_identity_users
       UNION ALL SELECT (regexp_match(mls_id, ?))[1]::int FROM properties
     ) runs`,
    [SEED_EMAIL, SEED_EMAIL, SEED_MLS],
  );
  return (rows[0]?.max ?? 0) + 1;
}

/**
 * Removes every listing (with its images, bookings and tours) and the seeded accounts no
 * audit entry refers to. audit_logs is append-only and stays, and so do the accounts it names.
 */
async function resetData(knex: Knex, identity: IdentityProvider): Promise<{ properties: number; users: number }> {
  return knex.transaction(async (trx) => {
    const properties = Number((await trx('properties').count<{ n: string }[]>({ n: '*' }))[0]!.n);
    // CASCADE: also whatever else hangs off listings, bookings or tours (never audit_logs, which refers to users only).
    await trx.raw('TRUNCATE property_images, highlights, transcripts, recordings, tour_notes, calls, tours, bookings, properties CASCADE');
    const removed = await trx('users')
      .whereRaw('email ~ ?', [SEED_EMAIL])
      .whereNotExists(trx('audit_logs').whereRaw('audit_logs.user_id = users.id'))
      .delete()
      .returning<Array<{ cognito_sub: string }>>('cognito_sub');
    if (identity.name === 'local') {
      await trx('local_identity_users')
        .whereRaw('email ~ ?', [SEED_EMAIL])
        .whereNotExists(trx('users').whereRaw('users.cognito_sub = local_identity_users.sub::text'))
        .delete();
    }
    return { properties, users: removed.length };
  });
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

async function createUsers(deps: SeedDeps, plans: UserPlan[], password: string): Promise<Array<{ id: number; email: string; role: string }>> {
  // Each account costs a password hash (local) or an API call (Cognito): a few at a time.
  const subs = await mapLimit(plans, 4, (p) => deps.identity.adminCreateUser({ email: p.email, password, fullName: p.fullName, role: p.role }));
  const rows = plans.map((p, i) => ({ cognito_sub: subs[i]!.sub, email: p.email, full_name: p.fullName, role: p.role }));
  const out: Array<{ id: number; email: string; role: string }> = [];
  for (let i = 0; i < rows.length; i += BATCH) {
    out.push(...(await deps.knex('users').insert(rows.slice(i, i + BATCH)).returning(['id', 'email', 'role'])));
  }
  return out;
}

export async function seedDatabase(deps: SeedDeps, opts: SeedOptions): Promise<SeedSummary> {
  const started = Date.now();
  const now = (deps.now ?? (() => new Date()))().getTime();
  // Numbered before a reset: a removed run's accounts may live on in Cognito, so never reuse it.
  const run = await nextRun(deps.knex);
  const reset = opts.reset ? await resetData(deps.knex, deps.identity) : null;

  const t0 = Date.now();
  const users = await createUsers(deps, planUsers({ realtors: opts.realtors, buyers: opts.buyers, seed: opts.seed, run }), opts.password);
  const realtors = users.filter((u) => u.role === 'realtor').map(({ id, email }) => ({ id, email }));
  const buyers = users.filter((u) => u.role === 'buyer').map(({ id, email }) => ({ id, email }));

  const t1 = Date.now();
  const files = opts.properties > 0 && opts.imagesPerProperty > 0 ? await storeSeedImages(deps.storage) : [];

  const t2 = Date.now();
  const plans = planProperties({ count: opts.properties, seed: opts.seed, run, realtors: realtors.length });
  const pickImage = stream(opts.seed, run, 'images');
  let images = 0;
  await deps.knex.transaction(async (trx) => {
    for (let start = 0; start < plans.length; start += BATCH) {
      const batch = plans.slice(start, start + BATCH);
      const rows = batch.map(({ realtorIndex, ageDays, ...p }) => {
        const created = new Date(now - ageDays * 86_400_000);
        const updated = new Date(Math.min(now, created.getTime() + ageDays * 0.3 * 86_400_000));
        return { ...p, realtor_id: realtors[realtorIndex]!.id, created_at: created, updated_at: updated };
      });
      const inserted = await trx('properties').insert(rows).returning<Array<{ id: number }>>('id');
      // Sequence values are taken in VALUES order, so sorted ids line up with the batch.
      const ids = inserted.map((r) => r.id).sort((a, b) => a - b);
      if (!files.length) continue;
      const imageRows = ids.flatMap((propertyId, k) =>
        Array.from({ length: opts.imagesPerProperty }, (_, position) => {
          const f = pick(pickImage, files);
          return {
            property_id: propertyId,
            original_key: f.originalKey,
            processed_key: f.processedKey,
            thumbnail_key: f.thumbnailKey,
            status: 'ready',
            content_type: 'image/jpeg',
            byte_size: f.byteSize,
            width: f.width,
            height: f.height,
            processed_width: f.processedWidth,
            processed_height: f.processedHeight,
            thumbnail_width: f.thumbnailWidth,
            thumbnail_height: f.thumbnailHeight,
            position,
            created_at: rows[k]!.created_at,
            updated_at: rows[k]!.created_at,
          };
        }),
      );
      for (let i = 0; i < imageRows.length; i += BATCH) await trx('property_images').insert(imageRows.slice(i, i + BATCH));
      images += imageRows.length;
    }
  });
  // Statistics and a visibility map now rather than whenever autovacuum gets there: the
  // planner sees the new rows, and counts can use index-only scans as on a settled database.
  await deps.knex.raw('VACUUM (ANALYZE) users, properties, property_images');
  const t3 = Date.now();

  const count = (key: (p: PropertyPlan) => string) => {
    const out: Record<string, number> = {};
    for (const p of plans) out[key(p)] = (out[key(p)] ?? 0) + 1;
    return out;
  };
  const cities = new Map<string, { city: string; state: string; count: number; available: number }>();
  for (const p of plans) {
    const c = cities.get(p.city) ?? { city: p.city, state: p.state, count: 0, available: 0 };
    c.count += 1;
    if (p.status === 'active' || p.status === 'coming_soon') c.available += 1;
    cities.set(p.city, c);
  }
  return {
    run,
    seed: opts.seed,
    password: opts.password,
    identityProvider: deps.identity.name,
    storage: deps.storage.name,
    reset,
    realtors,
    buyers,
    properties: plans.length,
    byStatus: count((p) => p.status),
    byType: count((p) => p.property_type),
    cities: [...cities.values()].sort((a, b) => b.count - a.count || a.city.localeCompare(b.city)),
    images,
    imageFiles: files.length * 3,
    ms: { users: t1 - t0, images: t2 - t1, properties: t3 - t2, total: Date.now() - started },
  };
}

export function formatSummary(s: SeedSummary): string {
  const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const list = (o: Record<string, number>) => Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
  const lines = [`Seed run ${s.run} (--seed ${s.seed}) done in ${secs(s.ms.total)}`];
  if (s.reset) lines.push(`  reset:      removed ${s.reset.properties} properties and ${s.reset.users} seeded users (audit_logs kept)`);
  lines.push(
    `  users:      ${s.realtors.length} realtors, ${s.buyers.length} buyers via the ${s.identityProvider} identity provider (${secs(s.ms.users)})`,
    `  properties: ${s.properties} (${secs(s.ms.properties)})`,
    `    status:   ${list(s.byStatus) || '-'}`,
    `    type:     ${list(s.byType) || '-'}`,
    `    cities:   ${s.cities.slice(0, 6).map((c) => `${c.city}, ${c.state} ${c.count}`).join('; ') || '-'}`,
    `  images:     ${s.images} ready rows sharing ${s.imageFiles} files in ${s.storage} storage under seed/images/ (${secs(s.ms.images)})`,
    `  sign in with password ${s.password}`,
  );
  if (s.realtors[0]) lines.push(`    realtor:  ${s.realtors[0].email}`);
  if (s.buyers[0]) lines.push(`    buyer:    ${s.buyers[0].email}`);
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------
// Entry point

async function main(): Promise<number> {
  let opts: SeedOptions;
  try {
    opts = parseSeedArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n${USAGE}\n`);
    return 2;
  }
  let embedded: RunningPostgres | undefined;
  try {
    const config = getConfig();
    const logger = createLogger({ ...config, logLevel: config.logLevel === 'silent' ? 'silent' : 'warn' }, 'seed');
    let url = config.database.url;
    if (!url) {
      // npm start's server when it runs, else one of the script's own.
      embedded = await openEmbeddedPostgres({ ...config.database.embedded, database: 'realtyforyou', logger });
      url = embedded.url;
    }
    const knex = createKnex({ url, pool: { min: 0, max: 6 }, logger });
    try {
      await migrateLatest(knex);
      const { identity, storage } = buildAdapters(config, knex, logger);
      await identity.init();
      process.stdout.write(formatSummary(await seedDatabase({ knex, identity, storage }, opts)));
      return 0;
    } finally {
      await knex.destroy();
    }
  } catch (err) {
    const known = err instanceof ConfigError || err instanceof StartupError;
    const message = known ? (err as Error).message : String((err as Error).stack ?? err);
    process.stderr.write(`seed failed: ${message}\n`);
    return 1;
  } finally {
    await embedded?.stop();
  }
}

if (require.main === module) void main().then((code) => process.exit(code));
