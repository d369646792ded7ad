import {
  AVAILABLE_STATUSES,
  propertiesRepository,
  type PropertyScope,
  type PropertySearch,
  type PropertySort,
} from '../../db/repositories/properties.repository';
import { createTestDatabase, type TestDatabase } from '../support/db';

/**
 * The search statement against a plain reference query on the same rows: ids in order,
 * the exact total, and images — for more shapes of query than are kept as prepared
 * statements, for short pages, pages past the end, and inside a transaction.
 */
describe('properties repository search (real PostgreSQL)', () => {
  let db: TestDatabase;
  let realtors: number[];

  const SORTS: Record<PropertySort, string> = {
    price: 'price ASC NULLS LAST, id ASC',
    '-price': 'price DESC NULLS LAST, id DESC',
    sqft: 'sqft ASC NULLS LAST, id ASC',
    newest: 'created_at DESC, id DESC',
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    realtors = (
      await db.knex('users')
        .insert([0, 1, 2].map((i) => ({ full_name: `Search Realtor ${i}`, email: `search-realtor-${i}@example.com`, role: 'realtor', cognito_sub: `search-realtor-${i}` })))
        .returning('id')
    ).map((r: { id: number }) => r.id);
    const statuses = ['active', 'coming_soon', 'pending', 'withdrawn'];
    const rows = Array.from({ length: 120 }, (_, i) => ({
      realtor_id: realtors[i % 3],
      address: `${i} Search Street`,
      mls_id: `SEARCH-${i}`,
      description: i % 4 === 0 ? 'sunny kitchen' : 'quiet garden',
      price: i % 11 === 0 ? null : (100_000 + (i % 9) * 50_000).toFixed(2),
      bedrooms: 1 + (i % 5),
      bathrooms: 1 + (i % 3),
      sqft: i % 13 === 0 ? null : 800 + (i % 7) * 100,
      status: statuses[i % 4],
      city: i % 2 ? 'Riverton' : 'RIVERTON',
      state: 'IL',
      postal_code: `6270${i % 4}`,
      property_type: i % 2 ? 'condominium' : 'single_family',
      latitude: '39.100000',
      longitude: '-89.100000',
      deleted_at: i % 17 === 0 ? new Date() : null,
      created_at: new Date(Date.UTC(2026, 0, 1) + (i % 10) * 3_600_000),
    }));
    const ids = (await db.knex('properties').insert(rows).returning('id')).map((r: { id: number }) => r.id);
    await db.knex('property_images').insert(
      ids.flatMap((propertyId, i) =>
        [0, 1].map((k) => ({
          property_id: propertyId,
          original_key: `properties/${propertyId}/images/${k}/original.jpg`,
          processed_key: (i + k) % 3 ? `properties/${propertyId}/images/${k}/processed.webp` : null,
          thumbnail_key: (i + k) % 3 ? `properties/${propertyId}/images/${k}/thumb.webp` : null,
          status: (i + k) % 3 ? 'ready' : 'pending',
          position: 1 - k,
        })),
      ),
    );
  });

  afterAll(async () => {
    await db?.destroy();
  });

  /** The same search written the plain way: ids in order and the total. */
  async function reference(scope: PropertyScope, f: PropertySearch): Promise<{ ids: number[]; total: number }> {
    const q = () => {
      const query = db.knex('properties').whereNull('deleted_at');
      if (scope.realtorId !== undefined) query.where('realtor_id', scope.realtorId);
      if (scope.statuses) query.whereIn('status', scope.statuses);
      if (f.q) query.whereRaw(`search @@ websearch_to_tsquery('english', ?)`, [f.q]);
      if (f.min_price !== undefined) query.where('price', '>=', f.min_price);
      if (f.max_price !== undefined) query.where('price', '<=', f.max_price);
      if (f.min_bedrooms !== undefined) query.where('bedrooms', '>=', f.min_bedrooms);
      if (f.city) query.whereRaw('lower(city) = lower(?)', [f.city]);
      if (f.postal_code) query.where('postal_code', f.postal_code);
      if (f.property_type) query.where('property_type', f.property_type);
      if (f.status) query.where('status', f.status);
      return query;
    };
    const rows = await q().select('id').orderByRaw(SORTS[f.sort ?? 'newest']).limit(f.per_page).offset((f.page - 1) * f.per_page);
    const [counted] = await q().count<Array<{ count: string | number }>>('* as count');
    return { ids: rows.map((r: { id: number }) => r.id), total: Number(counted!.count) };
  }

  /** Every combination of a few filters, sorts and pages: more shapes than are prepared. */
  function cases(): Array<[PropertyScope, PropertySearch]> {
    const out: Array<[PropertyScope, PropertySearch]> = [];
    const filters: Array<Partial<PropertySearch>> = [
      {},
      { city: 'riverton' },
      { min_price: 200_000 },
      { min_price: 150_000, max_price: 300_000 },
      { postal_code: '62701' },
      { property_type: 'condominium', min_bedrooms: 3 },
      { q: 'kitchen' },
      { city: 'Riverton', min_price: 250_000 },
      { q: 'garden', postal_code: '62702' },
      { city: 'Nowhere' },
    ];
    const scopes: PropertyScope[] = [{ statuses: AVAILABLE_STATUSES }, {}, { realtorId: 0 }];
    for (const [si, scope] of scopes.entries()) {
      for (const [fi, filter] of filters.entries()) {
        for (const sort of Object.keys(SORTS) as PropertySort[]) {
          const page = 1 + ((si + fi) % 4);
          out.push([scope, { ...filter, ...(si === 1 && fi % 2 ? { status: 'pending' as const } : {}), sort, page, per_page: 7 }]);
        }
      }
    }
    return out;
  }

  it('when more shapes of search than are prepared are asked, then every one answers what the plain query does', async () => {
    const all = cases().map(([scope, f]) => [scope.realtorId === 0 ? { realtorId: realtors[1]! } : scope, f] as const);
    expect(new Set(all.map(([scope, f]) => JSON.stringify([Object.keys(scope), Object.keys(f).sort(), f.sort]))).size).toBeGreaterThan(64);
    for (const [scope, f] of all) {
      const got = await propertiesRepository(db.knex).search(scope, f, { readyImagesOnly: true });
      const want = await reference(scope, f);
      expect({ ids: got.items.map((p) => p.id), total: got.total }).toEqual(want);
    }
  });

  it('when the same search runs twice, then it answers the same (the second time from the prepared statement)', async () => {
    const f: PropertySearch = { city: 'Riverton', sort: 'price', page: 2, per_page: 5 };
    const scope = { statuses: AVAILABLE_STATUSES };
    const first = await propertiesRepository(db.knex).search(scope, f, { readyImagesOnly: true });
    for (let i = 0; i < 7; i++) expect(await propertiesRepository(db.knex).search(scope, f, { readyImagesOnly: true })).toEqual(first);
  });

  it('when a page is short, full, or past the end, then the total is exact each time', async () => {
    const scope = { statuses: AVAILABLE_STATUSES };
    const { total } = await reference(scope, { sort: 'price', page: 1, per_page: 1000 });
    for (const [page, perPage] of [[1, total], [1, total + 5], [2, total - 3], [3, Math.ceil(total / 3)], [99, 10], [1, 1]] as const) {
      const got = await propertiesRepository(db.knex).search(scope, { sort: 'price', page, per_page: perPage }, { readyImagesOnly: true });
      expect(got.total).toBe(total);
    }
  });

  it('when listings are read, then realtor, images in display order, numbers as text and Dates come back as plain rows give them', async () => {
    const scope = {};
    const { items } = await propertiesRepository(db.knex).search(scope, { sort: 'newest', page: 1, per_page: 200 }, { readyImagesOnly: false });
    const row = await db.knex('properties').where({ id: items[0]!.id }).first();
    const images = await db.knex('property_images').where({ property_id: items[0]!.id }).orderBy([{ column: 'position' }, { column: 'id' }]);
    const realtor = await db.knex('users').where({ id: row.realtor_id }).first();
    const { search: _search, ...plain } = row as Record<string, unknown>;
    expect(items[0]).toEqual({
      ...plain,
      realtor: { id: row.realtor_id, full_name: realtor.full_name },
      images: images.map((i: Record<string, unknown>) => ({
        id: i.id, status: i.status, position: i.position, processed_key: i.processed_key, thumbnail_key: i.thumbnail_key,
        processed_width: i.processed_width, processed_height: i.processed_height, thumbnail_width: i.thumbnail_width,
        thumbnail_height: i.thumbnail_height, failure_reason: i.failure_reason, created_at: i.created_at,
      })),
    });
    const buyerView = await propertiesRepository(db.knex).findListing({ statuses: AVAILABLE_STATUSES }, items.find((p) => p.status === 'active')!.id, { readyImagesOnly: true });
    expect(buyerView!.images.every((i) => i.status === 'ready')).toBe(true);
  });

  it('when the search runs inside a transaction, then it sees the transaction\'s own rows', async () => {
    await db.knex.transaction(async (trx) => {
      await trx('properties').insert({ realtor_id: realtors[2], address: '1 Trx Road', mls_id: 'SEARCH-TRX', price: '1.00', status: 'active', city: 'Trxville' });
      const got = await propertiesRepository(trx).search({ statuses: AVAILABLE_STATUSES }, { city: 'trxville', sort: 'price', page: 1, per_page: 20 }, { readyImagesOnly: true });
      expect(got.items.map((p) => p.address)).toEqual(['1 Trx Road']);
      expect(got.total).toBe(1);
      await trx.rollback();
    }).catch(() => undefined);
    const after = await propertiesRepository(db.knex).search({ statuses: AVAILABLE_STATUSES }, { city: 'trxville', sort: 'price', page: 1, per_page: 20 }, { readyImagesOnly: true });
    expect(after).toEqual({ items: [], total: 0 });
  });
});
