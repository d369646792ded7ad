import Koa from 'koa';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import request from 'supertest';
import { z } from 'zod';
import { errorHandler } from '../../api/middleware/error-handler';
import { requestContext } from '../../api/middleware/request-id';
import { AppError, NotFoundError } from '../../lib/errors';
import { createLogger } from '../../lib/logger';

/** A tiny app around the real middleware, with routes that fail in each way. */
function appThatFails() {
  const app = new Koa();
  app.silent = true;
  app.use(requestContext(createLogger({ logLevel: 'silent', env: 'test' })));
  app.use(errorHandler());
  app.use(bodyParser({ enableTypes: ['json'], jsonLimit: '1kb' }));
  const router = new Router();
  router.get('/boom', () => {
    throw new Error('SELECT * FROM users WHERE password = secret failed');
  });
  router.get('/missing', () => {
    throw new NotFoundError('Property');
  });
  router.get('/teapot', () => {
    throw new AppError(409, 'CONFLICT', 'Already confirmed', 'status');
  });
  router.post('/validate', (ctx) => {
    z.object({ email: z.email(), age: z.number().int() }).strict().parse(ctx.request.body);
    ctx.body = { ok: true };
  });
  router.get('/unique', () => {
    throw Object.assign(new Error('duplicate key value violates unique constraint "users_email_unique"'), { code: '23505' });
  });
  app.use(router.routes()).use(router.allowedMethods({ throw: true }));
  return app.callback();
}

describe('error envelope', () => {
  it('when an unexpected error is thrown, then 500 carries no stack trace, SQL or message', async () => {
    const res = await request(appThatFails()).get('/boom');
    expect(res.status).toBe(500);
    expect(res.body.errors).toEqual([{ code: 'INTERNAL_ERROR', message: expect.any(String), field: null }]);
    const text = JSON.stringify(res.body);
    expect(text).not.toMatch(/SELECT|password|at .*\.ts/);
    expect(res.body.meta.request_id).toBe(res.headers['x-request-id']);
  });

  it('when a typed error is thrown, then its status, code and field are sent', async () => {
    const res = await request(appThatFails()).get('/teapot');
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ success: false, errors: [{ code: 'CONFLICT', message: 'Already confirmed', field: 'status' }] });
    const missing = await request(appThatFails()).get('/missing');
    expect(missing.status).toBe(404);
    expect(missing.body.errors[0]).toEqual({ code: 'NOT_FOUND', message: 'Property not found', field: null });
  });

  it('when validation fails, then 400 lists each bad field', async () => {
    const res = await request(appThatFails()).post('/validate').send({ email: 'nope', age: 1.5, role: 'admin' });
    expect(res.status).toBe(400);
    const fields = res.body.errors.map((e: { field: string | null }) => e.field).sort();
    expect(fields).toEqual(['age', 'email', 'role']);
    expect(res.body.errors.find((e: { field: string }) => e.field === 'role').message).toBe('Unknown field "role"');
    expect(res.body.errors.every((e: { code: string }) => e.code === 'VALIDATION_ERROR')).toBe(true);
  });

  it('when the JSON body is malformed, then 400 VALIDATION_ERROR', async () => {
    const res = await request(appThatFails()).post('/validate').set('Content-Type', 'application/json').send('{"email":');
    expect(res.status).toBe(400);
    expect(res.body.errors[0].code).toBe('VALIDATION_ERROR');
  });

  it('when the JSON body is over the limit, then 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await request(appThatFails()).post('/validate').send({ email: 'x'.repeat(5000) });
    expect(res.status).toBe(413);
    expect(res.body.errors[0].code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('when a unique constraint is violated, then 409 CONFLICT without the SQL message', async () => {
    const res = await request(appThatFails()).get('/unique');
    expect(res.status).toBe(409);
    expect(res.body.errors[0].code).toBe('CONFLICT');
    expect(JSON.stringify(res.body)).not.toContain('users_email_unique');
  });

  it('when no route matches, then 404 NOT_FOUND in the envelope; a wrong method is 405', async () => {
    const res = await request(appThatFails()).get('/nowhere');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ success: false, errors: [{ code: 'NOT_FOUND' }] });
    const wrong = await request(appThatFails()).delete('/boom');
    expect(wrong.status).toBe(405);
    expect(wrong.body.errors[0].code).toBe('METHOD_NOT_ALLOWED');
  });

  it('when the caller sends a sane X-Request-Id, then it is echoed', async () => {
    const res = await request(appThatFails()).get('/missing').set('X-Request-Id', 'trace-12345678');
    expect(res.headers['x-request-id']).toBe('trace-12345678');
    expect(res.body.meta.request_id).toBe('trace-12345678');
  });
});

describe('request id in log lines', () => {
  it('when a request is served, then every line logged meanwhile, by any logger, carries its id', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = { write: (s: string) => lines.push(JSON.parse(s)) };
    const logger = createLogger({ logLevel: 'info', env: 'test' }, 'test', sink);
    const other = logger.child({ component: 'service' });
    const app = new Koa();
    app.silent = true;
    app.use(requestContext(logger));
    app.use(errorHandler());
    app.use(async () => {
      await new Promise((r) => setTimeout(r, 5));
      other.info('inside a service');
      throw new Error('boom');
    });
    const res = await request(app.callback()).get('/x').set('X-Request-Id', 'req-abcdef12');
    expect(res.status).toBe(500);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(line.request_id).toBe('req-abcdef12');
  });
});
