import request from 'supertest';
import Ajv2020 from 'ajv/dist/2020';
import { createAdmin, createBuyer, createProperty, createRealtor, insertTour, type SignedIn } from '../support/factories';
import { startTestSystem, type TestSystem } from '../support/system';
import { uniqueEmail } from '../support/users';

/**
 * The document tells the truth (issue 15): every error an operation can answer is declared,
 * the request schemas carry the validators' rules (so a request the document calls valid is
 * not refused as invalid, and one it calls invalid is refused), and the rules JSON Schema
 * cannot state are listed per operation. Also the answers the fuzzer found undocumented.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

describe('OpenAPI document against the API', () => {
  let sys: TestSystem;
  let doc: Json;
  let buyer: SignedIn;
  let realtor: SignedIn;
  let admin: SignedIn;
  const http = () => request(sys.t.callback);
  // Formats are not checked: the patterns beside them carry the rules the API applies.
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });

  const operations = () =>
    Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([m]) => METHODS.includes(m))
        .map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, method, path, op: op as Json })),
    );
  const bodySchema = (path: string, method: string) => doc.paths[path][method].requestBody.content['application/json'].schema as object;
  const querySchema = (path: string, method: string) => {
    const params = (doc.paths[path][method].parameters as Json[]).filter((p) => p.in === 'query');
    return { type: 'object', properties: Object.fromEntries(params.map((p) => [p.name, p.schema])), additionalProperties: false };
  };

  beforeAll(async () => {
    sys = await startTestSystem();
    const res = await http().get('/openapi.json');
    expect(res.status).toBe(200);
    doc = res.body as Json;
    [buyer, realtor, admin] = await Promise.all([createBuyer(sys.t), createRealtor(sys.t), createAdmin(sys.t, sys.db.knex)]);
  });

  afterAll(() => sys?.stop());

  describe('declared responses', () => {
    it('when an operation exists, then it declares 500 and 503 (with Retry-After) in the error envelope', () => {
      for (const { key, op } of operations()) {
        for (const status of ['500', '503']) {
          expect({ key, status, content: op.responses[status]?.content }).toEqual({ key, status, content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } } });
        }
        expect({ key, header: Boolean(op.responses['503'].headers?.['Retry-After']) }).toEqual({ key, header: true });
      }
    });

    it('when an operation has a path parameter, then it declares 404; when it reads a body, then 400, 413 and 415', () => {
      for (const { key, method, path, op } of operations()) {
        if (path.includes('{')) expect({ key, has404: '404' in op.responses }).toEqual({ key, has404: true });
        if (method !== 'get') {
          for (const status of ['400', '413', '415']) expect({ key, status, declared: status in op.responses }).toEqual({ key, status, declared: true });
        }
      }
    });

    it('when the avatar of a user that does not exist is uploaded, then the 404 is a declared response', async () => {
      const res = await http().post('/api/v1/admin/users/987654/avatar').set(admin.auth).attach('avatar', Buffer.from('GIF89a'), 'a.gif');
      expect(res.status).toBe(404);
      expect(doc.paths['/api/v1/admin/users/{id}/avatar'].post.responses['404']).toBeDefined();
    });

    it('when a request body is optional to the API, then the document does not call it required', async () => {
      expect(doc.paths['/api/v1/buyers/bookings/{id}'].delete.requestBody.required).toBe(false);
      expect(doc.paths['/api/v1/buyers/bookings'].post.requestBody.required).toBe(true);
    });
  });

  describe('request schemas hold the validators’ rules', () => {
    /** Each body: the document's verdict must be the API's (201/409 valid, 400 invalid). */
    async function agree(path: string, cases: Array<[string, Json]>, send: (body: Json) => request.Test, accepted: number[]) {
      const validate = ajv.compile(bodySchema(path, 'post'));
      for (const [label, body] of cases) {
        const res = await send(body);
        expect([...accepted, 400]).toContain(res.status);
        expect({ label, documentedValid: validate(body), status: res.status }).toEqual({ label, documentedValid: res.status !== 400, status: res.status });
      }
    }

    it('when sign-up bodies break the text, email and password rules, then the document and the API agree on each', async () => {
      const good = () => ({ full_name: 'Doc Agree', email: uniqueEmail('agree'), password: 'agree-pass-1' });
      await agree(
        '/api/v1/auth/register',
        [
          ['valid', good()],
          ['name with NUL', { ...good(), full_name: 'a\u0000b' }],
          ['blank name', { ...good(), full_name: ' \u00a0\t' }],
          ['name padded with spaces', { ...good(), full_name: '  Pat  ' }],
          ['password without a digit', { ...good(), password: 'only-letters' }],
          ['password without a letter', { ...good(), password: '12345678' }],
          ['password with NUL', { ...good(), password: 'pass\u0000word1' }],
          ['email without a domain dot', { ...good(), email: 'x@localhost' }],
          ['email with a space inside', { ...good(), email: 'a b@example.com' }],
          ['email that is not one', { ...good(), email: 'not-an-email' }],
        ],
        (body) => http().post('/api/v1/auth/register').send(body),
        [201],
      );
    });

    it('when a booking list names an unknown status, a date outside the years the API takes, or from after to, then 400 where the document says', async () => {
      const path = '/api/v1/buyers/bookings';
      const validate = ajv.compile(querySchema(path, 'get'));
      const cases: Array<[string, Json, boolean]> = [
        ['no filters', {}, true],
        ['year 0020', { from: '0020-02-29T00:00:00Z' }, false],
        ['year 9999', { to: '9999-12-31T00:00:00Z' }, false],
        ['year 1970 with an offset', { from: '1970-01-01T00:30:00+01:00' }, true],
        ['no zone', { from: '2026-01-01T10:00:00' }, false],
      ];
      for (const [label, query, valid] of cases) {
        const res = await http().get(path).query(query).set(buyer.auth);
        expect({ label, documented: validate(query), status: res.status }).toEqual({ label, documented: valid, status: valid ? 200 : 400 });
      }
      // The rule JSON Schema cannot state is declared, and kept.
      expect(doc.paths[path].get['x-rules']).toEqual([{ rule: 'ordered', fields: ['from', 'to'], description: 'from must not be after to' }]);
      expect(doc.paths[path].get.description).toMatch(/from must not be after to/);
      const reversed = await http().get(path).query({ from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }).set(buyer.auth);
      expect(reversed.status).toBe(400);
      expect(reversed.body.errors[0].field).toBe('from');
    });

    it('when a property search has min_price above max_price, then 400 on min_price as its x-rules say; prices in exponent notation are numbers', async () => {
      const path = '/api/v1/buyers/properties';
      expect(doc.paths[path].get['x-rules']).toEqual([{ rule: 'ordered', fields: ['min_price', 'max_price'], description: 'min_price must not exceed max_price' }]);
      const reversed = await http().get(path).query({ min_price: 5, max_price: 1 }).set(buyer.auth);
      expect(reversed.status).toBe(400);
      expect(reversed.body.errors[0].field).toBe('min_price');
      expect((await http().get(`${path}?min_price=1e-05&max_price=2.5e%2B5`).set(buyer.auth)).status).toBe(200);
      expect((await http().get(`${path}?min_price=0x10`).set(buyer.auth)).status).toBe(400);
    });

    it('when an update names no field, then the document (minProperties) and the API both refuse it', async () => {
      const schema = doc.paths['/api/v1/realtors/properties/{id}'].put.requestBody.content['application/json'].schema;
      expect(schema.minProperties).toBe(1);
      const id = await createProperty(sys.t, realtor);
      const res = await http().put(`/api/v1/realtors/properties/${id}`).set(realtor.auth).send({});
      expect(res.status).toBe(400);
      expect(ajv.validate(schema, {})).toBe(false);
    });

    it('when a booking is requested, then the Idempotency-Key header and the booking window are documented', () => {
      const op = doc.paths['/api/v1/buyers/bookings'].post;
      expect(op.parameters).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,255}$' } }));
      expect(op['x-rules']).toContainEqual(expect.objectContaining({ rule: 'from-now', field: 'scheduled_at', min_minutes_setting: 'BOOKING_MIN_NOTICE_MINUTES', max_days_setting: 'BOOKING_MAX_AHEAD_DAYS' }));
    });

    it('when an upload form carries a field besides its file, then the document (additionalProperties: false) and the API both refuse it', async () => {
      const op = doc.paths['/api/v1/admin/users/{id}/avatar'].post;
      expect(op.requestBody.content['multipart/form-data'].schema.additionalProperties).toBe(false);
      expect(op['x-rules']).toContainEqual(expect.objectContaining({ rule: 'file-content', field: 'avatar' }));
      const res = await http().post(`/api/v1/admin/users/${buyer.id}/avatar`).set(admin.auth).field('note', 'hi').attach('avatar', Buffer.from('GIF89a'), 'a.gif');
      expect(res.status).toBe(400);
      expect(res.body.errors[0]).toMatchObject({ code: 'VALIDATION_ERROR', field: 'avatar', message: expect.stringMatching(/no other fields/) });
    });
  });

  describe('answers the fuzzer found outside the document', () => {
    it('when a method only a sibling route with a parameter has is sent to a spelled-out path, then 405 with that path’s own Allow', async () => {
      const put = await http().put('/api/v1/admin/tours/retry').set(admin.auth).send({});
      expect(put.status).toBe(405);
      expect(put.headers.allow).toBe('POST, OPTIONS');
      expect(put.body.errors[0].code).toBe('METHOD_NOT_ALLOWED');
      const options = await http().options('/api/v1/admin/tours/retry');
      expect(options.status).toBe(204);
      expect(options.headers.allow).toBe('POST, OPTIONS');
      // The sibling still answers its own paths.
      expect((await http().get('/api/v1/admin/tours/987654').set(admin.auth)).status).toBe(404);
    });

    it('when a streamed upload says multipart/form-data without a boundary, then 400 on its field, not 500', async () => {
      const property = await createProperty(sys.t, realtor);
      const { tourId } = await insertTour(sys.db.knex, { property_id: property });
      const res = await http().post(`/api/v1/realtors/tours/${tourId}/recording`).set(realtor.auth).set('Content-Type', 'multipart/form-data');
      expect(res.status).toBe(400);
      expect(res.body.errors[0]).toMatchObject({ code: 'VALIDATION_ERROR', field: 'recording' });
    });
  });
});
