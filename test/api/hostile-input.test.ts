import { readdirSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import type request from 'supertest';
import type { TestApp } from '../support/app';
import type { TestDatabase } from '../support/db';
import { createAdmin, createBuyer, createProperty, createRealtor, nextSlot, type SignedIn } from '../support/factories';
import { startTestSystem, type TestSystem } from '../support/system';
import { uniqueEmail } from '../support/users';

/**
 * Requests a client can craft that once reached PostgreSQL, zlib or the router unguarded
 * and came back 500 (issue 15): each must be a 4xx in the error envelope and leave the
 * database and the stored files exactly as they were.
 */

const TABLES = ['users', 'properties', 'property_images', 'bookings', 'tours', 'tour_notes', 'audit_logs', 'idempotency_keys'];

describe('hostile input', () => {
  let sys: TestSystem;
  let db: TestDatabase;
  let t: TestApp;
  let buyer: SignedIn;
  let realtor: SignedIn;
  let admin: SignedIn;
  let propertyId: number;
  const http = () => sys.http();

  async function snapshot(): Promise<unknown> {
    const rows = await Promise.all(TABLES.map((name) => db.knex(name).select('*').orderBy('id')));
    const files = (readdirSync(t.dataDir, { recursive: true }) as string[]).filter((f) => !f.startsWith(`outbox${path.sep}`)).sort();
    return { rows, files };
  }

  /** Sends the request, expects the error envelope naming `field`, and no change anywhere. */
  async function expectRefused(send: () => request.Test, status: number, code: string, field?: string | null): Promise<request.Response> {
    const before = await snapshot();
    const res = await send();
    expect({ status: res.status, body: res.body }).toEqual({
      status,
      body: {
        success: false,
        errors: expect.arrayContaining([expect.objectContaining({ code, message: expect.any(String), ...(field === undefined ? {} : { field }) })]),
        meta: expect.objectContaining({ request_id: expect.any(String) }),
      },
    });
    expect(await snapshot()).toEqual(before);
    return res;
  }

  beforeAll(async () => {
    sys = await startTestSystem();
    ({ db, t } = sys);
    [buyer, realtor, admin] = await Promise.all([createBuyer(t), createRealtor(t), createAdmin(t, db.knex)]);
    propertyId = await createProperty(t, realtor);
  });

  afterAll(() => sys?.stop());

  describe('methods', () => {
    it('when TRACE or another undeclared method is sent to a route, then 405 with Allow naming the declared methods', async () => {
      for (const method of ['TRACE', 'PATCH'] as const) {
        const res = await expectRefused(
          () => (method === 'TRACE' ? http().trace('/api/v1/auth/me') : http().patch('/api/v1/auth/me')).set(buyer.auth),
          405,
          'METHOD_NOT_ALLOWED',
        );
        expect(res.headers.allow?.split(', ').sort()).toEqual(['GET', 'HEAD', 'OPTIONS', 'PUT']);
      }
      const health = await http().trace('/health');
      expect({ status: health.status, allow: health.headers.allow, code: health.body.errors?.[0]?.code }).toEqual({
        status: 405,
        allow: expect.stringContaining('GET'),
        code: 'METHOD_NOT_ALLOWED',
      });
    });

    it('when TRACE is sent to a path no route serves, then 404', async () => {
      await expectRefused(() => http().trace('/api/v1/no/such/path'), 404, 'NOT_FOUND');
    });

    it('when OPTIONS is sent without a CORS preflight, then 204 with Allow', async () => {
      const res = await http().options('/api/v1/realtors/properties/1');
      expect({ status: res.status, allow: res.headers.allow?.split(', ').sort() }).toEqual({ status: 204, allow: ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PUT'] });
    });
  });

  describe('integers', () => {
    it.each(['min_bathrooms', 'min_bedrooms'])('when %s is 2^31 on every list, then 400 naming it', async (name) => {
      for (const [path, who] of [
        ['/api/v1/buyers/properties', () => buyer],
        ['/api/v1/realtors/properties', () => realtor],
        ['/api/v1/admin/properties', () => admin],
      ] as const) {
        await expectRefused(() => http().get(path).query({ [name]: '2147483648' }).set(who().auth), 400, 'VALIDATION_ERROR', name);
      }
    });

    it('when a query number is empty, hexadecimal, exponential or repeated, then 400 naming it', async () => {
      for (const query of ['min_bathrooms=', 'min_bathrooms=0x10', 'min_bathrooms=1e3', 'min_bathrooms=1&min_bathrooms=2', 'min_price=0x10', 'page=0x2']) {
        const field = query.split('=')[0];
        await expectRefused(() => http().get(`/api/v1/buyers/properties?${query}`).set(buyer.auth), 400, 'VALIDATION_ERROR', field);
      }
    });

    it('when an id is 0x10, 1e1, 2^31 or 0, then 400 naming it, never another record', async () => {
      for (const id of ['0x10', '1e1', '2147483648', '0', '-1']) {
        await expectRefused(() => http().get(`/api/v1/buyers/properties/${id}`).set(buyer.auth), 400, 'VALIDATION_ERROR', 'id');
      }
      // A plain decimal id still works.
      expect((await http().get(`/api/v1/buyers/properties/${propertyId}`).set(buyer.auth)).status).toBe(200);
    });

    it('when a JSON number field holds [], "", "3" or 2^31, then 400 naming it, nothing stored', async () => {
      for (const value of [[], '', '3', 2_147_483_648]) {
        await expectRefused(
          () => http().post('/api/v1/realtors/properties').set(realtor.auth).send({ address: '1 Hostile Way', bedrooms: value }),
          400,
          'VALIDATION_ERROR',
          'bedrooms',
        );
      }
      await expectRefused(() => http().put(`/api/v1/realtors/properties/${propertyId}`).set(realtor.auth).send({ price: [] }), 400, 'VALIDATION_ERROR', 'price');
    });
  });

  describe('NUL characters', () => {
    it.each([
      ['q', '/api/v1/buyers/properties', () => buyer],
      ['city', '/api/v1/buyers/properties', () => buyer],
      ['postal_code', '/api/v1/realtors/properties', () => realtor],
      ['q', '/api/v1/admin/users', () => admin],
      ['action', '/api/v1/admin/audit_logs', () => admin],
    ] as const)('when query %s on %s holds NUL, then 400 naming it', async (name, path, who) => {
      await expectRefused(() => http().get(`${path}?${name}=a%00b`).set(who().auth), 400, 'VALIDATION_ERROR', name);
    });

    it('when a JSON text field holds NUL, then 400 naming it and nothing stored', async () => {
      const cases: Array<[string, () => request.Test, string]> = [
        ['register', () => http().post('/api/v1/auth/register').send({ full_name: 'Nul\u0000Name', email: uniqueEmail('nul'), password: 'correct-horse-9' }), 'full_name'],
        ['me', () => http().put('/api/v1/auth/me').set(buyer.auth).send({ full_name: 'Nul\u0000Name' }), 'full_name'],
        ['property create', () => http().post('/api/v1/realtors/properties').set(realtor.auth).send({ address: '1 Nul\u0000 Way' }), 'address'],
        ['property update', () => http().put(`/api/v1/realtors/properties/${propertyId}`).set(realtor.auth).send({ description: 'a\u0000b' }), 'description'],
        [
          'booking notes',
          () => http().post('/api/v1/buyers/bookings').set(buyer.auth).send({ property_id: propertyId, scheduled_at: nextSlot(), notes: 'gate code \u0000' }),
          'notes',
        ],
        ['admin user update', () => http().put(`/api/v1/admin/users/${buyer.id}`).set(admin.auth).send({ full_name: '\u0000' }), 'full_name'],
        [
          'admin tour summary',
          () =>
            http()
              .put('/api/v1/admin/tours/1')
              .set(admin.auth)
              .send({ summary: { overview: 'ok', key_points: ['a\u0000'], buyer_interest: 'high', concerns: [], next_steps: [] } }),
          'summary.key_points.0',
        ],
      ];
      for (const [, send, field] of cases) await expectRefused(send, 400, 'VALIDATION_ERROR', field);
    });
  });

  describe('bodies', () => {
    it('when Content-Encoding says gzip or deflate but the body is not, then 400 naming the header', async () => {
      for (const encoding of ['gzip', 'deflate']) {
        await expectRefused(
          () => http().put('/api/v1/auth/me').set(buyer.auth).set('Content-Type', 'application/json').set('Content-Encoding', encoding).send('{"full_name":"Plain"}'),
          400,
          'VALIDATION_ERROR',
          'Content-Encoding',
        );
      }
    });

    it('when the gzip is real, then the body is read; an unknown encoding is 415', async () => {
      const ok = await http()
        .put('/api/v1/auth/me')
        .set(buyer.auth)
        .set('Content-Type', 'application/json')
        .set('Content-Encoding', 'gzip')
        // As bytes: superagent would otherwise serialize the Buffer as JSON.
        .serialize((b: unknown) => b as string)
        .send(gzipSync(JSON.stringify({ full_name: 'Gzipped Buyer' })));
      expect({ status: ok.status, name: ok.body.data?.attributes?.full_name }).toEqual({ status: 200, name: 'Gzipped Buyer' });
      await expectRefused(
        () => http().put('/api/v1/auth/me').set(buyer.auth).set('Content-Type', 'application/json').set('Content-Encoding', 'x-rot13').send('{"full_name":"Plain"}'),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      );
    });
  });

  describe('dates', () => {
    it('when a booking is for 9999-12-31, then 400 naming scheduled_at, and no booking (so no workflow)', async () => {
      await expectRefused(
        () => http().post('/api/v1/buyers/bookings').set(buyer.auth).send({ property_id: propertyId, scheduled_at: '9999-12-31T23:00:00Z' }),
        400,
        'VALIDATION_ERROR',
        'scheduled_at',
      );
      // A workflow is started only for a stored booking, and none was stored (the snapshot).
    });

    it('when a booking is further ahead than BOOKING_MAX_AHEAD_DAYS, then 400 with the limit', async () => {
      const farOff = new Date(Date.now() + 366 * 86_400_000).toISOString();
      const res = await expectRefused(
        () => http().post('/api/v1/buyers/bookings').set(buyer.auth).send({ property_id: propertyId, scheduled_at: farOff }),
        400,
        'VALIDATION_ERROR',
        'scheduled_at',
      );
      expect(res.body.errors[0].message).toMatch(/at most 365 days from now/);
    });

    it('when a date filter is year 0000, then 400 naming it', async () => {
      await expectRefused(() => http().get('/api/v1/admin/audit_logs?from=0000-01-01T00:00:00Z').set(admin.auth), 400, 'VALIDATION_ERROR', 'from');
    });
  });

  describe('uploads', () => {
    it('when a PNG has a sound structure but corrupt pixel data, then 422 at upload and nothing stored', async () => {
      const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 200, g: 10, b: 10 } } }).png().toBuffer();
      const corrupt = corruptIdat(png);
      // Still a PNG whose header sharp reads: only decoding finds the damage.
      expect((await sharp(corrupt).metadata()).width).toBe(64);
      await expectRefused(
        () => http().post(`/api/v1/realtors/properties/${propertyId}/images`).set(realtor.auth).attach('images', corrupt, { filename: 'corrupt.png', contentType: 'image/png' }),
        422,
        'UNPROCESSABLE_ENTITY',
        'images',
      );
    });
  });
});

/** Overwrites the IDAT chunk's compressed data and fixes its CRC, so every chunk still checks out. */
function corruptIdat(png: Buffer): Buffer {
  const out = Buffer.from(png);
  let i = 8;
  while (i + 12 <= out.length) {
    const length = out.readUInt32BE(i);
    if (out.toString('ascii', i + 4, i + 8) === 'IDAT') {
      // Keep the two-byte zlib header, garble the deflate stream behind it.
      out.fill(0x5a, i + 8 + 2, i + 8 + length - 4);
      out.writeUInt32BE(crc32(out.subarray(i + 4, i + 8 + length)) >>> 0, i + 8 + length);
      return out;
    }
    i += 12 + length;
  }
  throw new Error('no IDAT chunk');
}
