import { WEBHOOK_MAX_ENDPOINTS_PER_OWNER } from '../../contracts/webhooks';
import { generateWebhookSecret } from '../../adapters/webhooks/signing';
import { buildTestApp, type TestApp } from '../support/app';
import { count, type TestDatabase } from '../support/db';
import { createAdmin, createRealtor, type SignedIn } from '../support/factories';
import { httpOf } from '../support/http';
import { startTestSystem, type TestSystem } from '../support/system';

/**
 * The webhook endpoints API: registration (the secret shown once), reading, changing and
 * deleting, for realtors (their own) and admins (all); bad input is a 400 naming the field
 * with nothing changed; someone else's endpoint is a 404; every change is audit-logged.
 * Deliveries themselves: test/workflows/webhook-delivery.test.ts.
 */

const URL_A = 'https://crm.example.com/hooks/realtyforyou';

describe('webhooks API', () => {
  let sys: TestSystem;
  let db: TestDatabase;
  let t: TestApp;
  let realtor: SignedIn;
  let otherRealtor: SignedIn;
  let admin: SignedIn;
  const http = () => sys.http();

  beforeAll(async () => {
    sys = await startTestSystem();
    ({ db, t } = sys);
    [realtor, otherRealtor, admin] = await Promise.all([createRealtor(t, 'Rita Realtor'), createRealtor(t, 'Rob Realtor'), createAdmin(t, db.knex)]);
  });

  afterAll(() => sys?.stop());

  const create = (who: SignedIn, body: Record<string, unknown>, area = 'realtors') => http().post(`/api/v1/${area}/webhooks`).set(who.auth).send(body);
  const endpoints = () => count(db.knex('webhook_endpoints'));
  const audits = (id: number) => db.knex('audit_logs').where({ resource_type: 'webhook_endpoint', resource_id: id }).orderBy('id');

  async function registered(who: SignedIn, body: Record<string, unknown> = {}): Promise<number> {
    const res = await create(who, { url: URL_A, event_types: ['booking.confirmed'], ...body });
    expect(res.status).toBe(201);
    return Number(res.body.data.id);
  }

  it('when a realtor registers an endpoint, then the answer shows its secret once, later reads never do, and the creation is audit-logged without it', async () => {
    const res = await create(realtor, { url: URL_A, event_types: ['booking.requested', 'booking.confirmed', 'summary.ready'], description: '  My CRM  ' });
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({
      type: 'webhook_endpoint',
      attributes: {
        owner_id: realtor.id,
        url: URL_A,
        description: 'My CRM',
        event_types: ['booking.requested', 'booking.confirmed', 'summary.ready'],
        enabled: true,
        disabled_at: null,
        failing_since: null,
      },
    });
    const { secret } = res.body.data.attributes;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    const id = Number(res.body.data.id);

    const got = await http().get(`/api/v1/realtors/webhooks/${id}`).set(realtor.auth);
    expect(got.status).toBe(200);
    expect(got.body.data.attributes).not.toHaveProperty('secret');
    const list = await http().get('/api/v1/realtors/webhooks').set(realtor.auth);
    expect(list.body.data.map((e: { id: string }) => e.id)).toContain(String(id));
    expect(JSON.stringify(list.body)).not.toContain(secret);

    const [audit] = await audits(id);
    expect(audit).toMatchObject({ user_id: realtor.id, action: 'webhook_endpoint_created' });
    expect(audit.details).not.toContain(secret);
    expect(JSON.parse(audit.details)).toEqual({ url: URL_A, event_types: ['booking.requested', 'booking.confirmed', 'summary.ready'], description: 'My CRM' });
    expect(await db.knex('webhook_endpoints').where({ id }).first()).toMatchObject({ secret });
  });

  it.each([
    ['no url', 'url', { event_types: ['booking.confirmed'] }],
    ['not a URL', 'url', { url: 'hooks here', event_types: ['booking.confirmed'] }],
    ['an ftp URL', 'url', { url: 'ftp://crm.example.com/x', event_types: ['booking.confirmed'] }],
    ['plain http', 'url', { url: 'http://crm.example.com/x', event_types: ['booking.confirmed'] }],
    ['localhost', 'url', { url: 'https://localhost:8443/x', event_types: ['booking.confirmed'] }],
    ['a loopback literal', 'url', { url: 'https://127.0.0.1/x', event_types: ['booking.confirmed'] }],
    ['an IPv6 loopback literal', 'url', { url: 'https://[::1]/x', event_types: ['booking.confirmed'] }],
    ['the metadata address', 'url', { url: 'https://169.254.169.254/latest', event_types: ['booking.confirmed'] }],
    ['a private literal', 'url', { url: 'https://10.0.0.8/x', event_types: ['booking.confirmed'] }],
    ['credentials in the URL', 'url', { url: 'https://me:pw@crm.example.com/x', event_types: ['booking.confirmed'] }],
    ['a fragment', 'url', { url: 'https://crm.example.com/x#here', event_types: ['booking.confirmed'] }],
    ['a URL too long', 'url', { url: `https://crm.example.com/${'a'.repeat(2100)}`, event_types: ['booking.confirmed'] }],
    ['no event types', 'event_types', { url: URL_A, event_types: [] }],
    ['an unknown event type', 'event_types.0', { url: URL_A, event_types: ['booking.exploded'] }],
    ['a repeated event type', 'event_types', { url: URL_A, event_types: ['tour.started', 'tour.started'] }],
    ['event types as a string', 'event_types', { url: URL_A, event_types: 'tour.started' }],
    ['a secret of its own', 'secret', { url: URL_A, event_types: ['tour.started'], secret: 'whsec_abc' }],
    ['a description too long', 'description', { url: URL_A, event_types: ['tour.started'], description: 'x'.repeat(501) }],
  ])('when the body has %s, then 400 naming %s and nothing is created', async (_what, field, body) => {
    const before = await endpoints();
    const res = await create(realtor, body);
    expect(res.status).toBe(400);
    expect(res.body.success).toBe(false);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    expect(await endpoints()).toBe(before);
  });

  it('when a change is bad, then 400 and the endpoint is as it was', async () => {
    const id = await registered(realtor);
    for (const body of [{}, { url: 'http://crm.example.com/x' }, { url: 'https://192.168.0.10/x' }, { event_types: [] }, { enabled: 'yes' }, { owner_id: otherRealtor.id }]) {
      const res = await http().put(`/api/v1/realtors/webhooks/${id}`).set(realtor.auth).send(body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
    }
    expect(await db.knex('webhook_endpoints').where({ id }).first()).toMatchObject({ url: URL_A, event_types: ['booking.confirmed'], enabled: true, owner_id: realtor.id });
    expect((await audits(id)).map((a) => a.action)).toEqual(['webhook_endpoint_created']);
    const badId = await http().get('/api/v1/realtors/webhooks/abc').set(realtor.auth);
    expect(badId.status).toBe(400);
    const badQuery = await http().get(`/api/v1/realtors/webhooks/${id}/deliveries?status=lost`).set(realtor.auth);
    expect(badQuery.status).toBe(400);
  });

  it('when another realtor reads, changes, deletes or lists the deliveries of an endpoint, then 404 and nothing changes; an admin sees it', async () => {
    const id = await registered(realtor);
    const calls = [
      http().get(`/api/v1/realtors/webhooks/${id}`).set(otherRealtor.auth),
      http().put(`/api/v1/realtors/webhooks/${id}`).set(otherRealtor.auth).send({ url: 'https://evil.example.com/steal' }),
      http().delete(`/api/v1/realtors/webhooks/${id}`).set(otherRealtor.auth),
      http().get(`/api/v1/realtors/webhooks/${id}/deliveries`).set(otherRealtor.auth),
      http().get(`/api/v1/realtors/webhooks/${id}/deliveries/1`).set(otherRealtor.auth),
      http().post(`/api/v1/realtors/webhooks/${id}/deliveries/1/redeliver`).set(otherRealtor.auth),
    ];
    for (const res of await Promise.all(calls)) {
      expect(res.status).toBe(404);
      expect(res.body.errors[0].code).toBe('NOT_FOUND');
    }
    const theirs = await http().get('/api/v1/realtors/webhooks?per_page=100').set(otherRealtor.auth);
    expect(theirs.body.data.map((e: { id: string }) => e.id)).not.toContain(String(id));
    expect(await db.knex('webhook_endpoints').where({ id }).first()).toMatchObject({ url: URL_A });

    const asAdmin = await http().get(`/api/v1/admin/webhooks/${id}`).set(admin.auth);
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.body.data.attributes).not.toHaveProperty('secret');
    const filtered = await http().get(`/api/v1/admin/webhooks?owner_id=${realtor.id}&per_page=100`).set(admin.auth);
    expect(filtered.status).toBe(200);
    expect(filtered.body.data.length).toBeGreaterThan(0);
    expect(filtered.body.data.every((e: { attributes: { owner_id: number } }) => e.attributes.owner_id === realtor.id)).toBe(true);
  });

  it('when the owner changes, pauses and resumes an endpoint, then each change is applied and audit-logged with what changed', async () => {
    const id = await registered(realtor, { description: 'first' });
    const changed = await http().put(`/api/v1/realtors/webhooks/${id}`).set(realtor.auth).send({ event_types: ['tour.started', 'tour.ended'], description: null });
    expect(changed.status).toBe(200);
    expect(changed.body.data.attributes).toMatchObject({ event_types: ['tour.started', 'tour.ended'], description: null, url: URL_A });

    const paused = await http().put(`/api/v1/realtors/webhooks/${id}`).set(realtor.auth).send({ enabled: false });
    expect(paused.body.data.attributes).toMatchObject({ enabled: false, disabled_reason: 'Disabled by its owner', disabled_at: expect.any(String) });
    const resumed = await http().put(`/api/v1/realtors/webhooks/${id}`).set(realtor.auth).send({ enabled: true });
    expect(resumed.body.data.attributes).toMatchObject({ enabled: true, disabled_reason: null, disabled_at: null });
    // The same values again change nothing and log nothing.
    await http().put(`/api/v1/realtors/webhooks/${id}`).set(realtor.auth).send({ enabled: true }).expect(200);

    const rows = await audits(id);
    expect(rows.map((a) => a.action)).toEqual(['webhook_endpoint_created', 'webhook_endpoint_updated', 'webhook_endpoint_updated', 'webhook_endpoint_updated']);
    const details = (i: number) => JSON.parse(rows[i]!.details);
    expect(details(1)).toEqual({
      changes: { event_types: { from: ['booking.confirmed'], to: ['tour.started', 'tour.ended'] }, description: { from: 'first', to: null } },
    });
    expect(details(2)).toEqual({ changes: { enabled: { from: true, to: false } } });

    const byAdmin = await http().put(`/api/v1/admin/webhooks/${id}`).set(admin.auth).send({ enabled: false });
    expect(byAdmin.body.data.attributes.disabled_reason).toBe('Disabled by an admin');
    expect((await audits(id)).at(-1)).toMatchObject({ user_id: admin.id, action: 'webhook_endpoint_updated' });
  });

  it('when the owner deletes an endpoint, then it is gone and the deletion is audit-logged', async () => {
    const id = await registered(realtor);
    await http().delete(`/api/v1/realtors/webhooks/${id}`).set(realtor.auth).expect(204);
    expect((await http().get(`/api/v1/realtors/webhooks/${id}`).set(realtor.auth)).status).toBe(404);
    expect((await http().delete(`/api/v1/realtors/webhooks/${id}`).set(realtor.auth)).status).toBe(404);
    expect((await audits(id)).map((a) => a.action)).toEqual(['webhook_endpoint_created', 'webhook_endpoint_deleted']);
  });

  it('when an admin registers an endpoint, then it is theirs and an admin lists every endpoint', async () => {
    const res = await create(admin, { url: 'https://ops.example.com/hooks', event_types: ['booking.cancelled'] }, 'admin');
    expect(res.status).toBe(201);
    expect(res.body.data.attributes.owner_id).toBe(admin.id);
    const all = await http().get('/api/v1/admin/webhooks?per_page=100').set(admin.auth);
    const owners = new Set(all.body.data.map((e: { attributes: { owner_id: number } }) => e.attributes.owner_id));
    expect(owners.has(admin.id) && owners.has(realtor.id)).toBe(true);
  });

  it(`when a realtor already has ${WEBHOOK_MAX_ENDPOINTS_PER_OWNER} endpoints, then another is refused with 409`, async () => {
    const busy = await createRealtor(t, 'Busy Realtor');
    await db.knex('webhook_endpoints').insert(
      Array.from({ length: WEBHOOK_MAX_ENDPOINTS_PER_OWNER }, (_, i) => ({ owner_id: busy.id, url: `https://crm.example.com/${i}`, event_types: ['tour.started'], secret: generateWebhookSecret() })),
    );
    const res = await create(busy, { url: URL_A, event_types: ['tour.started'] });
    expect(res.status).toBe(409);
    expect(res.body.errors[0].code).toBe('CONFLICT');
    expect(await count(db.knex('webhook_endpoints').where({ owner_id: busy.id }))).toBe(WEBHOOK_MAX_ENDPOINTS_PER_OWNER);
  });

  it('when private targets are allowed (WEBHOOKS_ALLOW_PRIVATE=true, development), then a plain http URL on this machine is accepted', async () => {
    // The same data folder: the same token signing keys, so the realtor's token is good there too.
    const dev = await buildTestApp({ knex: db.knex, env: sys.env, config: { WEBHOOKS_ALLOW_PRIVATE: 'true', DATA_DIR: t.dataDir } });
    sys.onStop(() => dev.cleanup());
    const res = await httpOf(dev)().post('/api/v1/realtors/webhooks').set(realtor.auth).send({ url: 'http://127.0.0.1:9999/hook', event_types: ['tour.started'] });
    expect(res.status).toBe(201);
  });
});
