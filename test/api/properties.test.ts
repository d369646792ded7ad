import type { TestApp } from '../support/app';
import type { TestDatabase } from '../support/db';
import { createAdmin, createBuyer, createProperty, createRealtor, insertBooking, insertProperty, propertyFields, type SignedIn } from '../support/factories';
import { startTestSystem, type TestSystem } from '../support/system';

/** A listing with every field a realtor may send filled in. */
const listing = (overrides: Record<string, unknown> = {}) =>
  propertyFields({
    description: 'Bright home with a big kitchen',
    price: 300000,
    bedrooms: 3,
    bathrooms: 2,
    sqft: 1500,
    state: 'IL',
    postal_code: '62701',
    property_type: 'single_family',
    ...overrides,
  });

describe('properties API', () => {
  let sys: TestSystem;
  let db: TestDatabase;
  let t: TestApp;
  let realtorA: SignedIn;
  let realtorB: SignedIn;
  let buyer: SignedIn;
  let admin: SignedIn;
  const http = () => sys.http();

  /** A full listing of `who`'s, listed through the API: its id and the fields sent. */
  async function create(who: SignedIn, body: Record<string, unknown> = listing()) {
    return { id: await createProperty(t, who, body), body };
  }

  beforeAll(async () => {
    sys = await startTestSystem();
    ({ db, t } = sys);
    [realtorA, realtorB, buyer, admin] = await Promise.all([
      createRealtor(t, 'Rita Realtor'),
      createRealtor(t, 'Rob Realtor'),
      createBuyer(t),
      createAdmin(t, db.knex),
    ]);
  });

  afterAll(() => sys?.stop());

  describe('realtor CRUD', () => {
    it('when a realtor creates a listing, then 201 with every field, the realtor and an audit row', async () => {
      const body = listing({ latitude: 39.78, longitude: -89.65, status: 'coming_soon' });
      const res = await http().post('/api/v1/realtors/properties').set(realtorA.auth).send(body);
      expect(res.status).toBe(201);
      expect(res.body.data).toMatchObject({
        type: 'property',
        attributes: { ...body, price: 300000 },
        relationships: { realtor: { data: { id: String(realtorA.id), type: 'user', attributes: { full_name: 'Rita Realtor' } } }, images: { data: [] } },
      });
      const audit = await db.knex('audit_logs').where({ action: 'property_created', resource_id: Number(res.body.data.id) }).first();
      expect(audit.user_id).toBe(realtorA.id);
    });

    it('when fields are missing, malformed or unknown, then 400 names each one and nothing is stored', async () => {
      const before = await db.knex('properties').count<{ count: string }[]>('* as count');
      const res = await http()
        .post('/api/v1/realtors/properties')
        .set(realtorA.auth)
        .send({ price: -5, bedrooms: 1.5, status: 'sold', property_type: 'castle', realtor_id: 99 });
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['address', 'bedrooms', 'price', 'property_type', 'realtor_id', 'status']);
      expect(await db.knex('properties').count<{ count: string }[]>('* as count')).toEqual(before);
    });

    it('when an mls_id is reused, then 409', async () => {
      const body = listing();
      await create(realtorA, body);
      const res = await http().post('/api/v1/realtors/properties').set(realtorB.auth).send({ ...body, address: 'elsewhere' });
      expect(res.status).toBe(409);
      expect(res.body.errors[0].code).toBe('CONFLICT');
    });

    it('when a realtor updates their listing, then only the given fields change, and the audit row names them', async () => {
      const p = await create(realtorA);
      const res = await http().put(`/api/v1/realtors/properties/${p.id}`).set(realtorA.auth).send({ price: 325000.5, status: 'pending' });
      expect(res.status).toBe(200);
      expect(res.body.data.attributes).toMatchObject({ price: 325000.5, status: 'pending', address: p.body.address });
      const audit = await db.knex('audit_logs').where({ action: 'property_updated', resource_id: Number(p.id) }).first();
      expect(JSON.parse(audit.details).changes).toEqual({ price: { from: '300000.00', to: '325000.50' }, status: { from: 'active', to: 'pending' } });
    });

    it('when a realtor lists, then only their own listings come back, with pagination meta', async () => {
      const res = await http().get('/api/v1/realtors/properties?per_page=100').set(realtorB.auth);
      expect(res.status).toBe(200);
      expect(res.body.data.every((p: { relationships: { realtor: { data: { id: string } } } }) => p.relationships.realtor.data.id === String(realtorB.id))).toBe(true);
      expect(res.body.meta).toMatchObject({ current_page: 1, per_page: 100, total_count: res.body.data.length });
    });
  });

  describe("another realtor's listing", () => {
    it('when realtor B reads, changes, deletes or adds images to realtor A\'s listing, then 404 every time and nothing changes', async () => {
      const p = await create(realtorA);
      const base = `/api/v1/realtors/properties/${p.id}`;
      expect((await http().get(base).set(realtorB.auth)).status).toBe(404);
      expect((await http().put(base).set(realtorB.auth).send({ price: 1 })).status).toBe(404);
      expect((await http().delete(base).set(realtorB.auth)).status).toBe(404);
      const img = await http().post(`${base}/images`).set(realtorB.auth).attach('images', Buffer.from('x'), 'a.jpg');
      expect(img.status).toBe(404);
      expect((await http().delete(`${base}/images/1`).set(realtorB.auth)).status).toBe(404);
      expect((await http().put(`${base}/images/1`).set(realtorB.auth).send({ position: 0 })).status).toBe(404);
      const row = await db.knex('properties').where({ id: Number(p.id) }).first();
      expect(row).toMatchObject({ price: '300000.00', deleted_at: null });
    });

    it('when a buyer calls a realtor route, then 403', async () => {
      expect((await http().get('/api/v1/realtors/properties').set(buyer.auth)).status).toBe(403);
      expect((await http().post('/api/v1/realtors/properties').set(buyer.auth).send(listing())).status).toBe(403);
    });
  });

  describe('delete', () => {
    const confirmedBookingFor = (propertyId: number, inHours: number) =>
      insertBooking(db.knex, { property_id: propertyId, buyer_id: buyer.id, scheduled_at: new Date(Date.now() + inHours * 3_600_000), status: 'confirmed' });

    it('when a listing has an upcoming confirmed tour, then delete is 409 saying why, and withdrawing works', async () => {
      const p = await create(realtorA);
      await confirmedBookingFor(Number(p.id), 48);
      const res = await http().delete(`/api/v1/realtors/properties/${p.id}`).set(realtorA.auth);
      expect(res.status).toBe(409);
      expect(res.body.errors[0].message).toMatch(/upcoming confirmed tour/);
      expect((await http().get(`/api/v1/realtors/properties/${p.id}`).set(realtorA.auth)).status).toBe(200);
      const withdrawn = await http().put(`/api/v1/realtors/properties/${p.id}`).set(realtorA.auth).send({ status: 'withdrawn' });
      expect(withdrawn.status).toBe(200);
      expect(withdrawn.body.data.attributes.status).toBe('withdrawn');
    });

    it('when a listing only has past bookings, then it is deleted from every view but kept for their history', async () => {
      const p = await create(realtorA);
      await confirmedBookingFor(Number(p.id), -48);
      expect((await http().delete(`/api/v1/realtors/properties/${p.id}`).set(realtorA.auth)).status).toBe(204);
      expect((await http().get(`/api/v1/realtors/properties/${p.id}`).set(realtorA.auth)).status).toBe(404);
      expect((await http().get(`/api/v1/admin/properties/${p.id}`).set(admin.auth)).status).toBe(404);
      expect((await db.knex('properties').where({ id: Number(p.id) }).first()).deleted_at).toBeInstanceOf(Date);
    });

    it('when a listing was never booked, then delete removes the row', async () => {
      const p = await create(realtorA);
      expect((await http().delete(`/api/v1/realtors/properties/${p.id}`).set(realtorA.auth)).status).toBe(204);
      expect(await db.knex('properties').where({ id: Number(p.id) }).first()).toBeUndefined();
      expect(await db.knex('audit_logs').where({ action: 'property_deleted', resource_id: Number(p.id) }).first()).toBeDefined();
    });
  });

  describe('admin', () => {
    it('when an admin reassigns a listing to another realtor and changes its status, then both change', async () => {
      const p = await create(realtorA);
      const res = await http().put(`/api/v1/admin/properties/${p.id}`).set(admin.auth).send({ realtor_id: realtorB.id, status: 'closed' });
      expect(res.status).toBe(200);
      expect(res.body.data.attributes.status).toBe('closed');
      expect(res.body.data.relationships.realtor.data.id).toBe(String(realtorB.id));
      expect((await http().get(`/api/v1/realtors/properties/${p.id}`).set(realtorA.auth)).status).toBe(404);
      expect((await http().get(`/api/v1/realtors/properties/${p.id}`).set(realtorB.auth)).status).toBe(200);
    });

    it('when an admin reassigns to a user who is not a realtor, then 400 on realtor_id', async () => {
      const p = await create(realtorA);
      const res = await http().put(`/api/v1/admin/properties/${p.id}`).set(admin.auth).send({ realtor_id: buyer.id });
      expect(res.status).toBe(400);
      expect(res.body.errors[0].field).toBe('realtor_id');
    });

    it('when an admin lists with status and realtor filters, then only matching listings come back', async () => {
      const res = await http().get(`/api/v1/admin/properties?status=closed&realtor_id=${realtorB.id}`).set(admin.auth);
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeGreaterThan(0);
      for (const p of res.body.data) {
        expect(p.attributes.status).toBe('closed');
        expect(p.relationships.realtor.data.id).toBe(String(realtorB.id));
      }
    });
  });
});

describe('buyer search', () => {
  let sys: TestSystem;
  let db: TestDatabase;
  let t: TestApp;
  let buyer: SignedIn;
  const ids: Record<string, number> = {};
  const http = () => sys.http();
  const search = async (qs: string) => {
    const res = await http().get(`/api/v1/buyers/properties?${qs}`).set(buyer.auth);
    if (res.status !== 200) throw new Error(`${qs}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as { data: Array<{ id: string; attributes: Record<string, unknown> }>; meta: Record<string, number> };
  };
  const names = (body: { data: Array<{ id: string }> }) => body.data.map((p) => Object.keys(ids).find((k) => ids[k] === Number(p.id)));

  beforeAll(async () => {
    sys = await startTestSystem();
    ({ db, t } = sys);
    const realtor = await createRealtor(t, 'Sam Seller');
    buyer = await createBuyer(t);
    // A fixed little market; created_at spaced so "newest" has a defined order.
    const rows: Array<[string, Record<string, unknown>]> = [
      ['cheapCondo', { price: 150000, bedrooms: 1, bathrooms: 1, sqft: 700, city: 'Austin', postal_code: '78701', property_type: 'condominium', description: 'Compact condo near the river' }],
      ['midHouse', { price: 400000, bedrooms: 3, bathrooms: 2, sqft: 1800, city: 'Austin', postal_code: '78704', property_type: 'single_family', description: 'Granite counters and a shaded pool' }],
      ['bigHouse', { price: 900000, bedrooms: 5, bathrooms: 4, sqft: 4200, city: 'austin', postal_code: '78704', property_type: 'single_family', description: 'Estate with a pool house and wine cellar' }],
      ['dallasTown', { price: 400000, bedrooms: 3, bathrooms: 3, sqft: 2000, city: 'Dallas', postal_code: '75201', property_type: 'townhouse', description: 'Townhouse with rooftop deck' }],
      ['comingSoon', { price: 500000, bedrooms: 4, bathrooms: 2, sqft: 2500, city: 'Austin', postal_code: '78701', property_type: 'single_family', status: 'coming_soon', description: 'New build, quartz kitchen' }],
      ['withdrawn', { price: 350000, bedrooms: 3, bathrooms: 2, sqft: 1600, city: 'Austin', postal_code: '78704', property_type: 'single_family', status: 'withdrawn', description: 'Granite and pool, withdrawn' }],
      ['closed', { price: 360000, bedrooms: 3, bathrooms: 2, sqft: 1700, city: 'Austin', postal_code: '78704', property_type: 'single_family', status: 'closed', description: 'Granite and pool, sold' }],
      ['pending', { price: 370000, bedrooms: 3, bathrooms: 2, sqft: 1650, city: 'Austin', postal_code: '78704', property_type: 'single_family', status: 'pending', description: 'Granite and pool, under offer' }],
    ];
    for (const [i, [name, fields]] of rows.entries()) {
      ids[name] = (await insertProperty(db.knex, { realtor_id: realtor.id, address: `${i + 1} ${name} Road`, created_at: new Date(Date.UTC(2026, 0, 1 + i)), ...fields })).id;
    }
  });

  afterAll(() => sys?.stop());

  it('when a buyer browses, then only active and coming-soon listings appear, newest first', async () => {
    expect(names(await search(''))).toEqual(['comingSoon', 'dallasTown', 'bigHouse', 'midHouse', 'cheapCondo']);
  });

  it('when a buyer opens a withdrawn, closed or pending listing, then 404; an available one is 200 with its realtor', async () => {
    for (const hidden of ['withdrawn', 'closed', 'pending']) {
      expect((await http().get(`/api/v1/buyers/properties/${ids[hidden]}`).set(buyer.auth)).status).toBe(404);
    }
    const res = await http().get(`/api/v1/buyers/properties/${ids.midHouse}`).set(buyer.auth);
    expect(res.status).toBe(200);
    expect(res.body.data.relationships.realtor.data.attributes.full_name).toBe('Sam Seller');
  });

  it.each([
    ['min_price=400000', ['comingSoon', 'dallasTown', 'bigHouse', 'midHouse']],
    ['max_price=400000', ['dallasTown', 'midHouse', 'cheapCondo']],
    ['min_bedrooms=4', ['comingSoon', 'bigHouse']],
    ['min_bathrooms=3', ['dallasTown', 'bigHouse']],
    ['city=AUSTIN', ['comingSoon', 'bigHouse', 'midHouse', 'cheapCondo']],
    ['postal_code=78704', ['bigHouse', 'midHouse']],
    ['property_type=townhouse', ['dallasTown']],
    ['q=granite', ['midHouse']],
    ['q=pool', ['bigHouse', 'midHouse']],
    ['q=wine%20cellar', ['bigHouse']],
    ['q=river', ['cheapCondo']],
  ])('when filtering by %s, then exactly the matching available listings come back', async (qs, expected) => {
    expect(names(await search(qs))).toEqual(expected);
  });

  it.each([
    ['sort=price', ['cheapCondo', 'midHouse', 'dallasTown', 'comingSoon', 'bigHouse']],
    ['sort=-price', ['bigHouse', 'comingSoon', 'dallasTown', 'midHouse', 'cheapCondo']],
    ['sort=sqft', ['cheapCondo', 'midHouse', 'dallasTown', 'comingSoon', 'bigHouse']],
    ['sort=newest', ['comingSoon', 'dallasTown', 'bigHouse', 'midHouse', 'cheapCondo']],
  ])('when sorting by %s, then the order holds with the id breaking ties', async (qs, expected) => {
    expect(names(await search(qs))).toEqual(expected);
  });

  it('when filters and a sort are combined, then all apply together', async () => {
    expect(names(await search('city=austin&min_price=200000&max_price=950000&min_bedrooms=3&property_type=single_family&sort=-price'))).toEqual([
      'bigHouse',
      'comingSoon',
      'midHouse',
    ]);
    expect(names(await search('q=pool&postal_code=78704&sort=price'))).toEqual(['midHouse', 'bigHouse']);
  });

  it('when paging, then meta counts pages and the pages do not overlap', async () => {
    const p1 = await search('sort=price&per_page=2&page=1');
    const p3 = await search('sort=price&per_page=2&page=3');
    expect(p1.meta).toMatchObject({ current_page: 1, per_page: 2, total_pages: 3, total_count: 5 });
    expect(names(p1)).toEqual(['cheapCondo', 'midHouse']);
    expect(names(p3)).toEqual(['bigHouse']);
    expect((await search('per_page=2&page=9')).data).toEqual([]);
  });

  it('when per_page=1000 is asked, then it is clamped to 100', async () => {
    expect((await search('per_page=1000')).meta.per_page).toBe(100);
  });

  it('when a filter is malformed or unknown, then 400 names it', async () => {
    for (const [qs, field] of [['min_price=cheap', 'min_price'], ['sort=random', 'sort'], ['status=closed', 'status'], ['min_price=5&max_price=1', 'min_price'], ['page=0', 'page']]) {
      const res = await http().get(`/api/v1/buyers/properties?${qs}`).set(buyer.auth);
      expect(res.status).toBe(400);
      expect(res.body.errors[0].field).toBe(field);
    }
  });

  it('when a page is loaded, then realtor and images come from a fixed number of queries, not one per item', async () => {
    const queries: string[] = [];
    const onQuery = (q: { sql: string }) => queries.push(q.sql);
    db.knex.on('query', onQuery);
    try {
      await search('per_page=100');
    } finally {
      db.knex.off('query', onQuery);
    }
    const domain = queries.filter((q) => /properties|property_images|"users"|users/.test(q));
    // page + count, realtors, images, and the caller's own users lookup: independent of page size.
    expect(domain.length).toBeLessThanOrEqual(5);
  });
});
