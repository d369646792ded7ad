import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { createAdmin, createBuyer, createRealtor, insertProperties, insertUser, type SignedIn } from '../support/factories';
import { startTestSystem, type TestSystem } from '../support/system';

/**
 * The search must answer exactly what the naive implementation answered: same ids, same
 * order, same realtors and images, same counts and pages. The answers were captured from
 * the naive search (objection page + graph fetch + count) on the data below and committed
 * in test/fixtures/search-golden.json; any faster search is checked against them.
 *
 * Record again (only when the search is meant to answer differently):
 *   UPDATE_SEARCH_GOLDEN=1 npx jest test/api/search-golden.test.ts
 */
const GOLDEN = path.join(__dirname, '..', 'fixtures', 'search-golden.json');
const RECORD = process.env.UPDATE_SEARCH_GOLDEN === '1';

/** mulberry32: the same data on every run, without a dependency. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  return { next, int, pick };
}

const CITIES = ['Springfield', 'Shelbyville', 'Capital City', 'Ogdenville', 'North Haverbrook', 'Brockway'];
const POSTAL = ['62701', '62702', '62703', '62704', '62705'];
const TYPES = ['single_family', 'condominium', 'townhouse', 'multi_family', 'manufactured', 'land', 'other'];
const STATUSES: Array<[string, number]> = [
  ['active', 55], ['coming_soon', 15], ['pending', 10], ['active_under_contract', 5], ['closed', 5], ['withdrawn', 5], ['expired', 5],
];
const WORDS = ['bright', 'kitchen', 'garden', 'pool', 'garage', 'quiet', 'renovated', 'view', 'fireplace', 'basement', 'porch', 'loft'];
const IMAGE_STATUSES = ['ready', 'ready', 'ready', 'ready', 'pending', 'processing', 'failed'];
const BASE_TIME = Date.UTC(2026, 0, 5, 12, 0, 0);

/** Seeds realtors, properties and images straight into the tables, in one fixed order. */
async function seed(knex: Knex, rita: SignedIn): Promise<void> {
  const r = prng(20261126);
  const realtors: number[] = [];
  for (let i = 0; i < 11; i += 1) {
    const full_name = `Realtor ${String.fromCharCode(65 + i)} ${r.pick(['Lee', 'Khan', 'Ortiz', 'Novak', 'Smith'])}`;
    realtors.push((await insertUser(knex, 'realtor', { full_name, email: `golden-realtor-${i}@example.com`, cognito_sub: `golden-realtor-${i}` })).id);
  }
  const owners = [rita.id, ...realtors];

  const properties = Array.from({ length: 400 }, (_, i) => {
    let roll = r.int(1, 100);
    const status = STATUSES.find(([, w]) => (roll -= w) <= 0)![0];
    const city = r.pick(CITIES);
    const words = Array.from({ length: 4 }, () => r.pick(WORDS));
    // Prices, sizes and times in coarse steps so sorts meet ties and fall back to the id.
    const created = new Date(BASE_TIME + Math.floor(r.int(0, 300)) * 3_600_000);
    return {
      realtor_id: r.pick(owners),
      address: `${r.int(1, 999)} ${r.pick(['Oak', 'Elm', 'Maple', 'Cedar', 'Pine'])} ${r.pick(['Street', 'Avenue', 'Road'])}`,
      mls_id: `GOLD-${i}`,
      description: r.next() < 0.1 ? null : `A ${words.join(' ')} home`,
      price: r.next() < 0.06 ? null : (r.int(10, 90) * 10_000).toFixed(2),
      bedrooms: r.next() < 0.05 ? null : r.int(1, 6),
      bathrooms: r.next() < 0.05 ? null : r.int(1, 4),
      sqft: r.next() < 0.08 ? null : r.int(8, 40) * 100,
      status,
      // Mixed case: the city filter is case-insensitive.
      city: r.next() < 0.1 ? city.toUpperCase() : city,
      state: 'IL',
      postal_code: r.pick(POSTAL),
      property_type: r.next() < 0.05 ? null : r.pick(TYPES),
      latitude: (39 + r.next()).toFixed(6),
      longitude: (-89 - r.next()).toFixed(6),
      deleted_at: r.next() < 0.05 ? new Date(BASE_TIME + 400 * 3_600_000) : null,
      created_at: created,
      updated_at: new Date(created.getTime() + r.int(0, 48) * 3_600_000),
    };
  });
  const ids: number[] = [];
  for (let i = 0; i < properties.length; i += 100) ids.push(...(await insertProperties(knex, properties.slice(i, i + 100))));

  const images = ids.flatMap((propertyId) => {
    const n = r.int(0, 4);
    const positions = Array.from({ length: n }, () => r.int(0, 3));
    return positions.map((position, k) => {
      const status = r.pick(IMAGE_STATUSES);
      const ready = status === 'ready';
      const base = `properties/${propertyId}/images/golden-${k}`;
      return {
        property_id: propertyId,
        original_key: `${base}/original.jpg`,
        processed_key: ready ? `${base}/processed.webp` : null,
        thumbnail_key: ready ? `${base}/thumb.webp` : null,
        status,
        failure_reason: status === 'failed' ? 'corrupt image' : null,
        content_type: 'image/jpeg',
        byte_size: 1000 + k,
        width: 1600,
        height: 1200,
        processed_width: ready ? 1600 : null,
        processed_height: ready ? 1200 : null,
        thumbnail_width: ready ? 320 : null,
        thumbnail_height: ready ? 240 : null,
        position,
        created_at: new Date(BASE_TIME + k * 60_000),
        updated_at: new Date(BASE_TIME + k * 60_000),
      };
    });
  });
  for (let i = 0; i < images.length; i += 200) await knex('property_images').insert(images.slice(i, i + 200));
}

type Who = 'buyer' | 'realtor' | 'admin';
interface Case {
  who: Who;
  query: string;
  /** Also compare every attribute of every item, not only ids. */
  full?: boolean;
}

const CASES: Case[] = [
  { who: 'buyer', query: '', full: true },
  { who: 'buyer', query: 'page=2&per_page=7' },
  { who: 'buyer', query: 'sort=price&per_page=25' },
  { who: 'buyer', query: 'sort=price&page=9&per_page=25' },
  { who: 'buyer', query: 'sort=-price&page=3&per_page=10' },
  { who: 'buyer', query: 'sort=-price&page=12&per_page=20' },
  { who: 'buyer', query: 'sort=sqft&page=2&per_page=15' },
  { who: 'buyer', query: 'sort=sqft&page=15&per_page=15' },
  { who: 'buyer', query: 'sort=newest&page=4&per_page=30' },
  { who: 'buyer', query: 'city=springfield&sort=price' },
  { who: 'buyer', query: 'city=Springfield&min_price=300000&sort=price&per_page=20', full: true },
  { who: 'buyer', query: 'min_price=200000&max_price=400000&sort=-price' },
  { who: 'buyer', query: 'min_bedrooms=4&min_bathrooms=3&per_page=50' },
  { who: 'buyer', query: 'postal_code=62703&sort=price&page=2&per_page=10' },
  { who: 'buyer', query: 'property_type=condominium&sort=sqft' },
  { who: 'buyer', query: 'q=kitchen&per_page=40' },
  { who: 'buyer', query: 'q=garden%20pool' },
  { who: 'buyer', query: 'q=kitchen&city=Shelbyville&sort=price' },
  { who: 'buyer', query: 'per_page=500' },
  { who: 'buyer', query: 'page=99' },
  { who: 'buyer', query: 'min_price=99999999' },
  { who: 'realtor', query: '', full: true },
  { who: 'realtor', query: 'status=pending' },
  { who: 'realtor', query: 'sort=price&q=garage&per_page=5&page=2' },
  { who: 'admin', query: 'per_page=50', full: true },
  { who: 'admin', query: 'realtor_id=5&sort=-price' },
  { who: 'admin', query: 'status=withdrawn&sort=sqft' },
  { who: 'admin', query: 'status=active&city=Brockway&sort=sqft&page=2&per_page=5' },
  { who: 'admin', query: 'sort=price&page=20&per_page=20' },
];

const AREA: Record<Who, string> = { buyer: 'buyers', realtor: 'realtors', admin: 'admin' };

interface Item {
  id: string;
  attributes: Record<string, unknown>;
  relationships: {
    realtor: { data: { id: string; attributes: { full_name: string } } };
    images: { data: Array<{ id: string; attributes: { status: string; url: string | null; thumbnail_url: string | null } }> };
  };
}

/** Signed URLs expire: keep the path they point at, drop the expiry and signature. */
const unsigned = (url: string | null) => (url === null ? null : url.replace(/^https?:\/\/[^/]+/, '').replace(/\?expires=\d+&signature=[0-9a-f]+$/, '?signed'));

function summarise(body: { data: Item[]; meta: Record<string, unknown> }, full: boolean) {
  const { current_page, per_page, total_pages, total_count } = body.meta;
  return {
    meta: { current_page, per_page, total_pages, total_count },
    // [property id, realtor id, realtor name, image ids in order]
    items: body.data.map((p) => [p.id, p.relationships.realtor.data.id, p.relationships.realtor.data.attributes.full_name, p.relationships.images.data.map((i) => i.id)]),
    ...(full && {
      data: body.data.map((p) => ({
        ...p,
        relationships: {
          ...p.relationships,
          images: {
            data: p.relationships.images.data.map((i) => ({ ...i, attributes: { ...i.attributes, url: unsigned(i.attributes.url), thumbnail_url: unsigned(i.attributes.thumbnail_url) } })),
          },
        },
      })),
    }),
  };
}

describe('property search answers as the naive search did', () => {
  let sys: TestSystem;
  const users = {} as Record<Who, SignedIn>;
  const answers: Record<string, ReturnType<typeof summarise>> = {};

  beforeAll(async () => {
    sys = await startTestSystem();
    // One after the other, so every id below is the same on every run.
    users.buyer = await createBuyer(sys.t, 'Golden Buyer');
    users.realtor = await createRealtor(sys.t, 'Rita Golden');
    users.admin = await createAdmin(sys.t, sys.db.knex);
    await seed(sys.db.knex, users.realtor);
    for (const c of CASES) {
      const res = await sys.http().get(`/api/v1/${AREA[c.who]}/properties${c.query ? `?${c.query}` : ''}`).set(users[c.who].auth);
      if (res.status !== 200) throw new Error(`${c.who} ${c.query}: ${res.status} ${JSON.stringify(res.body)}`);
      answers[`${c.who} ?${c.query}`] = summarise(res.body, Boolean(c.full));
    }
    if (RECORD) writeFileSync(GOLDEN, `${JSON.stringify({ users: { buyer: users.buyer.id, realtor: users.realtor.id }, answers }, null, 1)}\n`);
  });

  afterAll(() => sys?.stop());

  const golden = () => {
    if (!existsSync(GOLDEN)) throw new Error(`${GOLDEN} is missing; record it with UPDATE_SEARCH_GOLDEN=1`);
    return JSON.parse(readFileSync(GOLDEN, 'utf8')) as { users: Record<string, number>; answers: Record<string, unknown> };
  };

  it('when the data is seeded the same way, then the users get the same ids as when recorded', () => {
    expect({ buyer: users.buyer.id, realtor: users.realtor.id }).toEqual(golden().users);
  });

  it('when every recorded case is asked again, then none is missing and none is new', () => {
    expect(Object.keys(answers).sort()).toEqual(Object.keys(golden().answers).sort());
  });

  it.each(CASES.map((c) => [`${c.who} ?${c.query}`]))('when %s is searched, then the ids, order, images and counts are as recorded', (key) => {
    expect(answers[key]).toEqual(golden().answers[key]);
  });

  it('when the cases are compared, then they cover ties, nulls, several pages and empty pages', () => {
    const g = golden().answers as Record<string, { meta: { total_count: number }; items: unknown[] }>;
    expect(Object.values(g).filter((a) => a.items.length === 0).length).toBeGreaterThanOrEqual(2);
    expect(Object.values(g).filter((a) => a.items.length >= 20).length).toBeGreaterThanOrEqual(5);
  });
});
