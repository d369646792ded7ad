import vm from 'node:vm';
import request from 'supertest';
import type Koa from 'koa';
import type Router from '@koa/router';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ACCESS_TABLE } from '../../api/access-table';
import { apiRoutes } from '../../api/app';
import { routeKey } from '../../api/routing';
import { createLogger } from '../../lib/logger';
import { buildTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { responseValidators, type OpenApiDocument, type ResponseValidators } from '../support/openapi';
import { createTimeSkippingEnv } from '../support/temporal';
import { signUp, signUpAdmin, uniqueEmail, type SignedIn } from '../support/users';

/**
 * The OpenAPI document is generated from the same route specs that the router mounts.
 * These tests compare the two independently (the mounted side read from the app's own
 * router layers, not from the specs) and check real responses against the document.
 */

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'] as const;

/** `/api/v1/users/:id` → `/api/v1/users/{id}`; written here so the test does not trust the app's converter. */
function toTemplate(koaPath: string): string {
  return koaPath.replace(/:(\w+)/g, '{$1}');
}

/** Every `METHOD /path` (OpenAPI path form) that the app's routers answer under /api/v1. */
function mountedOperations(app: Koa): string[] {
  const routers = (app.middleware as Array<{ router?: Router }>).flatMap((m) => (m.router ? [m.router] : []));
  const ops = new Set<string>();
  for (const layer of routers.flatMap((r) => r.stack)) {
    if (typeof layer.path !== 'string' || !layer.path.startsWith('/api/v1/')) continue;
    // The router adds HEAD to every GET by itself.
    for (const method of layer.methods) if (method !== 'HEAD') ops.add(`${method} ${toTemplate(layer.path)}`);
  }
  return [...ops].sort();
}

/** Every `METHOD /path` the document describes. */
function documentedOperations(doc: Pick<OpenApiDocument, 'paths'>): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, item]) => Object.keys(item).filter((k) => (HTTP_METHODS as readonly string[]).includes(k)).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
}

/** What one side has and the other lacks; both empty when they agree. */
function compareOperations(mounted: string[], documented: string[]): { undocumented: string[]; unmounted: string[] } {
  const doc = new Set(documented);
  const mnt = new Set(mounted);
  return { undocumented: mounted.filter((o) => !doc.has(o)), unmounted: documented.filter((o) => !mnt.has(o)) };
}

describe('OpenAPI document', () => {
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  let t: TestApp;
  let doc: OpenApiDocument;
  let validators: ResponseValidators;

  beforeAll(async () => {
    [db, env] = await Promise.all([createTestDatabase(), createTimeSkippingEnv()]);
    t = await buildTestApp({ knex: db.knex, env });
    const res = await request(t.callback).get('/openapi.json');
    expect(res.status).toBe(200);
    doc = res.body as OpenApiDocument;
    validators = responseValidators(doc);
  });

  afterAll(async () => {
    t?.cleanup();
    await Promise.all([db?.destroy(), env?.teardown()]);
  });

  /** Checks a real response against what the document says for it; reports Ajv's errors on failure. */
  function expectDocumented(res: request.Response, method: string, koaPath: string): void {
    const validate = validators.forResponse(method, toTemplate(koaPath), res.status);
    const ok = validate(res.body);
    expect({ status: res.status, path: koaPath, errors: ok ? null : validate.errors }).toEqual({ status: res.status, path: koaPath, errors: null });
  }

  describe('the comparison helper', () => {
    it('when the document lacks a mounted route or lists an unmounted one, then each is reported', () => {
      const mounted = mountedOperations(t.app);
      // A document built from the mounted list itself, so this checks the helper alone.
      const paths: OpenApiDocument['paths'] = {};
      for (const op of mounted) {
        const [method, template] = op.split(' ') as [string, string];
        (paths[template] ??= {})[method.toLowerCase()] = { responses: {} };
      }
      expect(compareOperations(mounted, documentedOperations({ paths }))).toEqual({ undocumented: [], unmounted: [] });

      const incomplete = structuredClone(paths);
      delete incomplete['/api/v1/admin/users/{id}']!.delete;
      delete incomplete['/api/v1/auth/me'];
      incomplete['/api/v1/admin/ghosts/{id}'] = { get: { responses: {} } };
      // Path-level keys that are not methods are not operations.
      (incomplete['/api/v1/auth/login'] as Record<string, unknown>).parameters = [];
      (incomplete['/api/v1/auth/login'] as Record<string, unknown>).summary = 'x';

      expect(compareOperations(mounted, documentedOperations({ paths: incomplete }))).toEqual({
        undocumented: ['DELETE /api/v1/admin/users/{id}', 'GET /api/v1/auth/me', 'PUT /api/v1/auth/me'],
        unmounted: ['GET /api/v1/admin/ghosts/{id}'],
      });
      expect(compareOperations([...mounted, 'PATCH /api/v1/admin/users/{id}'], documentedOperations({ paths }))).toEqual({
        undocumented: ['PATCH /api/v1/admin/users/{id}'],
        unmounted: [],
      });
    });

    it('when the app is walked, then GET routes are listed once (without the implicit HEAD) in OpenAPI path form', () => {
      const mounted = mountedOperations(t.app);
      expect(mounted).toContain('GET /api/v1/admin/users/{id}');
      expect(mounted).toContain('POST /api/v1/admin/users/{id}/avatar');
      expect(mounted.some((o) => o.startsWith('HEAD '))).toBe(false);
      expect(mounted.some((o) => o.includes(':'))).toBe(false);
    });
  });

  it('when /openapi.json is fetched, then it is an OpenAPI 3.1.0 document with a bearer scheme and the error envelope', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(doc.components.securitySchemes).toEqual({ bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.components.schemas.ErrorEnvelope).toMatchObject({ type: 'object', required: expect.arrayContaining(['success', 'errors', 'meta']) });
    // Every schema in the document must compile under JSON Schema 2020-12.
    for (const op of documentedOperations(doc)) {
      const [method, template] = op.split(' ') as [string, string];
      for (const [status, res] of Object.entries(doc.paths[template]![method.toLowerCase()]!.responses)) {
        if (res.content?.['application/json']) expect(() => validators.forResponse(method, template, Number(status))).not.toThrow();
      }
    }
  });

  it('when the mounted routes and the document are compared, then every route is documented and every documented operation is mounted', () => {
    const mounted = mountedOperations(t.app);
    expect(mounted.length).toBeGreaterThanOrEqual(Object.keys(ACCESS_TABLE).length);
    expect(compareOperations(mounted, documentedOperations(doc))).toEqual({ undocumented: [], unmounted: [] });
  });

  it('when the access table and the mounted routes are compared, then each entry is mounted and each mounted route has an entry', () => {
    const mounted = mountedOperations(t.app);
    const table = Object.keys(ACCESS_TABLE).map((k) => {
      const [method, path] = k.split(' ') as [string, string];
      return `${method} ${toTemplate(path)}`;
    });
    expect(compareOperations(mounted, table.sort())).toEqual({ undocumented: [], unmounted: [] });
    // And the spec list the app is built from is the same set.
    const specs = apiRoutes({ config: t.config, logger: createLogger(t.config, 'openapi-test'), knex: db.knex, temporal: env.client, temporalProbe: { check: async () => undefined, close: async () => undefined }, adapters: t.adapters });
    expect(specs.map((s) => routeKey(s.method, s.path)).sort()).toEqual(Object.keys(ACCESS_TABLE).sort());
  });

  it('when an operation is public, then it has `security: []`; otherwise it documents 401, and role routes also 403 and their roles', () => {
    for (const [key, access] of Object.entries(ACCESS_TABLE)) {
      const [method, path] = key.split(' ') as [string, string];
      const op = doc.paths[toTemplate(path)]?.[method.toLowerCase()];
      expect({ key, documented: Boolean(op) }).toEqual({ key, documented: true });
      const errorRef = { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } };
      if (access === 'public') {
        expect({ key, security: op!.security }).toEqual({ key, security: [] });
        expect({ key, has403: '403' in op!.responses }).toEqual({ key, has403: false });
      } else {
        // No override: the document's global bearer requirement applies.
        expect({ key, security: op!.security }).toEqual({ key, security: undefined });
        expect({ key, r401: op!.responses['401']?.content }).toEqual({ key, r401: errorRef });
      }
      if (Array.isArray(access)) {
        expect({ key, r403: op!.responses['403']?.content }).toEqual({ key, r403: errorRef });
        expect({ key, roles: op!['x-roles'] }).toEqual({ key, roles: [...access] });
      }
    }
  });

  it('when a path has a {param}, then the operation declares it as a required path parameter, and operation ids are unique', () => {
    const ids = new Set<string>();
    for (const op of documentedOperations(doc)) {
      const [method, template] = op.split(' ') as [string, string];
      const operation = doc.paths[template]![method.toLowerCase()]!;
      const names = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const declared = (operation.parameters ?? []).filter((p) => p.in === 'path');
      expect({ op, path: declared.map((p) => p.name).sort() }).toEqual({ op, path: names.sort() });
      expect(declared.every((p) => p.required === true)).toBe(true);
      expect(operation.operationId).toEqual(expect.any(String));
      expect({ op, duplicate: ids.has(operation.operationId!) }).toEqual({ op, duplicate: false });
      ids.add(operation.operationId!);
      expect(Object.keys(operation.responses).some((s) => /^2\d\d$/.test(s))).toBe(true);
    }
  });

  it('when a route takes an upload, then the document describes the multipart field as the route accepts it (one file, or up to maxFiles)', () => {
    const specs = apiRoutes({ config: t.config, logger: createLogger(t.config, 'openapi-test'), knex: db.knex, temporal: env.client, temporalProbe: { check: async () => undefined, close: async () => undefined }, adapters: t.adapters });
    const uploads = specs.filter((s) => s.multipart);
    expect(uploads.length).toBeGreaterThan(0);
    for (const spec of uploads) {
      const m = spec.multipart!;
      const key = routeKey(spec.method, spec.path);
      const body = doc.paths[toTemplate(spec.path)]![spec.method]!.requestBody!;
      expect({ key, types: Object.keys(body.content) }).toEqual({ key, types: ['multipart/form-data'] });
      const schema = body.content['multipart/form-data']!.schema as { required: string[]; properties: Record<string, Record<string, unknown>> };
      expect(schema.required).toEqual([m.field]);
      const binary = { type: 'string', format: 'binary' };
      const maxFiles = m.maxFiles ?? 1;
      const field = schema.properties[m.field];
      if (maxFiles > 1) {
        expect({ key, field }).toEqual({ key, field: expect.objectContaining({ type: 'array', items: binary, minItems: 1, maxItems: maxFiles }) });
      } else {
        expect({ key, field }).toEqual({ key, field: expect.objectContaining(binary) });
      }
    }
  });

  it('when list routes are documented, then page and per_page are query parameters and the 200 schema requires the pagination meta', () => {
    for (const path of ['/api/v1/admin/users', '/api/v1/admin/audit_logs']) {
      const op = doc.paths[path]!.get!;
      expect(op.parameters!.filter((p) => p.in === 'query').map((p) => p.name)).toEqual(expect.arrayContaining(['page', 'per_page']));
      const meta = (op.responses['200']!.content!['application/json']!.schema as { properties: { meta: { required: string[] } } }).properties.meta;
      expect(meta.required).toEqual(expect.arrayContaining(['current_page', 'per_page', 'total_pages', 'total_count']));
    }
  });

  it('when a body is checked against the documented request schema, then the API agrees: the same zod schema drives both', async () => {
    const schema = doc.paths['/api/v1/auth/register']!.post!.requestBody!.content['application/json']!.schema;
    const validate = validators.ajv.compile(schema);
    const good = () => ({ full_name: 'Doc Agree', email: uniqueEmail('agree'), password: 'agree-pass-1' });
    const cases: Array<[string, Record<string, unknown>]> = [
      ['valid', good()],
      ['realtor', { ...good(), role: 'realtor' }],
      ['unknown field', { ...good(), cognito_sub: 'x' }],
      ['admin role', { ...good(), role: 'admin' }],
      ['short password', { ...good(), password: 'short' }],
      ['missing name', { email: uniqueEmail('agree'), password: 'agree-pass-1' }],
    ];
    for (const [label, body] of cases) {
      const res = await request(t.callback).post('/api/v1/auth/register').send(body);
      expect({ label, documentedValid: validate(body) }).toEqual({ label, documentedValid: res.status === 201 });
      expect([201, 400]).toContain(res.status);
    }
  });

  describe('real responses against the documented schemas', () => {
    let buyer: SignedIn;
    let admin: SignedIn;

    beforeAll(async () => {
      [buyer, admin] = await Promise.all([signUp(t, 'buyer'), signUpAdmin(t, db.knex)]);
    });

    it('when a user registers and signs in, then the 201, 200 and /auth/me responses match the document', async () => {
      const email = uniqueEmail('documented');
      const reg = await request(t.callback).post('/api/v1/auth/register').send({ full_name: 'Doc User', email, password: 'doc-pass-123' });
      expect(reg.status).toBe(201);
      expectDocumented(reg, 'post', '/api/v1/auth/register');

      const login = await request(t.callback).post('/api/v1/auth/login').send({ email, password: 'doc-pass-123' });
      expect(login.status).toBe(200);
      expectDocumented(login, 'post', '/api/v1/auth/login');

      const me = await request(t.callback).get('/api/v1/auth/me').set('Authorization', `Bearer ${login.body.data.attributes.access_token}`);
      expect(me.status).toBe(200);
      expectDocumented(me, 'get', '/api/v1/auth/me');
    });

    it('when an admin lists users and the audit log, then both pages (with pagination meta) match the document', async () => {
      const users = await request(t.callback).get('/api/v1/admin/users?per_page=2').set(admin.auth);
      expect(users.status).toBe(200);
      expect(users.body.meta).toMatchObject({ current_page: 1, per_page: 2, total_pages: expect.any(Number), total_count: expect.any(Number) });
      expect(users.body.data.length).toBeGreaterThan(0);
      expectDocumented(users, 'get', '/api/v1/admin/users');

      const logs = await request(t.callback).get('/api/v1/admin/audit_logs').set(admin.auth);
      expect(logs.status).toBe(200);
      expect(logs.body.data.length).toBeGreaterThan(0);
      expectDocumented(logs, 'get', '/api/v1/admin/audit_logs');

      const one = await request(t.callback).get(`/api/v1/admin/users/${buyer.id}`).set(admin.auth);
      expect(one.status).toBe(200);
      expectDocumented(one, 'get', '/api/v1/admin/users/:id');
    });

    it('when requests fail with 400, 401, 403, 404 or 409, then each error body matches the documented error envelope', async () => {
      const invalid = await request(t.callback).post('/api/v1/auth/register').send({ full_name: '', email: 'nope', password: 'x' });
      expect(invalid.status).toBe(400);
      expectDocumented(invalid, 'post', '/api/v1/auth/register');

      const anonymous = await request(t.callback).get('/api/v1/auth/me');
      expect(anonymous.status).toBe(401);
      expectDocumented(anonymous, 'get', '/api/v1/auth/me');

      const forbidden = await request(t.callback).get('/api/v1/admin/users').set(buyer.auth);
      expect(forbidden.status).toBe(403);
      expectDocumented(forbidden, 'get', '/api/v1/admin/users');

      const missing = await request(t.callback).get('/api/v1/admin/users/987654').set(admin.auth);
      expect(missing.status).toBe(404);
      expectDocumented(missing, 'get', '/api/v1/admin/users/:id');

      const duplicate = await request(t.callback).post('/api/v1/auth/register').send({ full_name: 'Again', email: buyer.email, password: 'again-pass-1' });
      expect(duplicate.status).toBe(409);
      expectDocumented(duplicate, 'post', '/api/v1/auth/register');
    });

    it('when a response is altered to break its contract, then the documented schema rejects it (the check is not vacuous)', async () => {
      const users = await request(t.callback).get('/api/v1/admin/users').set(admin.auth);
      const list = validators.forResponse('get', '/api/v1/admin/users', 200);
      expect(list(users.body)).toBe(true);
      const noPageMeta = structuredClone(users.body);
      delete noPageMeta.meta.total_count;
      expect(list(noPageMeta)).toBe(false);
      const badRole = structuredClone(users.body);
      badRole.data[0].attributes.role = 'superuser';
      expect(list(badRole)).toBe(false);

      const anonymous = await request(t.callback).get('/api/v1/auth/me');
      const error = validators.forResponse('get', '/api/v1/auth/me', 401);
      expect(error(anonymous.body)).toBe(true);
      expect(error({ ...anonymous.body, success: true })).toBe(false);
      expect(error({ ...anonymous.body, errors: [{ code: 'X' }] })).toBe(false);
      // A success body is not an error envelope, and vice versa.
      const me = validators.forResponse('get', '/api/v1/auth/me', 200);
      expect(me(anonymous.body)).toBe(false);
      expect(() => validators.forResponse('get', '/api/v1/auth/me', 418)).toThrow(/documents no JSON response for 418/);
    });
  });

  describe('responses from the app-wide limits', () => {
    let strict: TestApp;

    beforeAll(async () => {
      strict = await buildTestApp({ knex: db.knex, env, config: { AUTH_RATE_LIMIT_MAX: '1', JSON_BODY_LIMIT_BYTES: '1024' } });
    });

    afterAll(() => strict?.cleanup());

    it('when the auth limiter answers 429, then that status, its body and Retry-After are documented for the operation', async () => {
      const login = () => request(strict.callback).post('/api/v1/auth/login').send({ email: 'nobody@example.com', password: 'wrong-pass-1' });
      expect((await login()).status).toBe(401);
      const limited = await login();
      expect(limited.status).toBe(429);
      expectDocumented(limited, 'post', '/api/v1/auth/login');
      const documented = doc.paths['/api/v1/auth/login']!.post!.responses['429'] as { headers?: Record<string, unknown> };
      expect(documented.headers).toHaveProperty('Retry-After');
      // A public route outside auth has no limiter, unless it declares one of its own.
      const specs = apiRoutes({ config: t.config, logger: createLogger(t.config, 'openapi-test'), knex: db.knex, temporal: env.client, temporalProbe: { check: async () => undefined, close: async () => undefined }, adapters: t.adapters });
      const ownLimit = new Set(specs.filter((s) => 429 in s.responses).map((s) => routeKey(s.method, s.path)));
      for (const [key] of Object.entries(ACCESS_TABLE).filter(([k, who]) => !k.includes(' /api/v1/auth/') && who === 'public')) {
        const [method, path] = key.split(' ') as [string, string];
        const responses = doc.paths[toTemplate(path)]![method.toLowerCase()]!.responses as Record<string, { headers?: object }>;
        expect({ key, r429: '429' in responses }).toEqual({ key, r429: ownLimit.has(key) });
        if (ownLimit.has(key)) expect(responses['429']!.headers).toHaveProperty('Retry-After');
      }
    });

    it('when a JSON body is over the limit, then the 413 is documented for every operation that takes a JSON body', async () => {
      const reg = await request(strict.callback).post('/api/v1/auth/register').send({ full_name: 'x'.repeat(2000), email: 'big@example.com', password: 'big-pass-123' });
      expect(reg.status).toBe(413);
      expectDocumented(reg, 'post', '/api/v1/auth/register');
      for (const op of documentedOperations(doc)) {
        const [method, template] = op.split(' ') as [string, string];
        const operation = doc.paths[template]![method.toLowerCase()]!;
        if (operation.requestBody?.content['application/json']) expect({ op, r413: '413' in operation.responses }).toEqual({ op, r413: true });
      }
    });
  });

  describe('/docs', () => {
    it('when /docs is fetched, then it is HTML whose scripts and styles are all served by the app, none from another host', async () => {
      const page = await request(t.callback).get('/docs');
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      const html = page.text;
      expect(html).not.toMatch(/https?:\/\//i);
      expect(html).not.toMatch(/(^|[^:])\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
      // Inline scripts would be refused by the app's own CSP (script-src 'self').
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);

      const urls = [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"/gi)].map((m) => m[1]!);
      expect(urls.length).toBeGreaterThanOrEqual(3);
      expect(urls.some((u) => u.endsWith('.js'))).toBe(true);
      expect(urls.some((u) => u.endsWith('.css'))).toBe(true);
      for (const url of urls) {
        expect(url).toMatch(/^\/[^/]/);
        const asset = await request(t.callback).get(url);
        expect({ url, status: asset.status }).toEqual({ url, status: 200 });
        const size = Number(asset.headers['content-length'] ?? (asset.body as Buffer | undefined)?.length ?? asset.text?.length ?? 0);
        expect({ url, empty: size === 0 && !asset.text }).toEqual({ url, empty: false });
        if (url.endsWith('.js')) expect(asset.headers['content-type']).toMatch(/javascript/);
        if (url.endsWith('.css')) expect(asset.headers['content-type']).toMatch(/^text\/css/);
      }
    });

    it('when the docs start-up script runs, then Swagger UI loads /openapi.json from this origin and calls no outside validator', async () => {
      const page = await request(t.callback).get('/docs');
      const initUrl = [...page.text.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/gi)].map((m) => m[1]!).find((u) => !/swagger-ui/.test(u));
      expect(initUrl).toBeDefined();
      const init = await request(t.callback).get(initUrl!);
      expect(init.status).toBe(200);

      let options: Record<string, unknown> | undefined;
      const SwaggerUIBundle = Object.assign((o: Record<string, unknown>) => {
        options = o;
        return {};
      }, { presets: { apis: {} } });
      vm.runInNewContext(init.text, { window: {}, SwaggerUIBundle, SwaggerUIStandalonePreset: {} });
      expect(options).toBeDefined();
      expect(options!.url).toBe('/openapi.json');
      // Swagger UI's default shows a badge fetched from validator.swagger.io (sending it our spec URL).
      expect(options!.validatorUrl).toBeNull();
      expect(JSON.stringify(options)).not.toMatch(/https?:\/\//);
    });

    it('when an asset outside the allow-list or a traversal is asked for, then 404', async () => {
      for (const url of ['/docs/assets/index.html', '/docs/assets/..%2F..%2Fpackage.json', '/docs/assets/swagger-ui.js.map']) {
        const res = await request(t.callback).get(url);
        expect({ url, status: res.status }).toEqual({ url, status: 404 });
      }
    });
  });
});
