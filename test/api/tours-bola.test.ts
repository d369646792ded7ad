import request from 'supertest';
import { ACCESS_TABLE } from '../../api/access-table';
import { toneWav } from '../e2e/support/wav';
import type { TestApp } from '../support/app';
import type { TestDatabase } from '../support/db';
import { createBuyer, createProperty, createRealtor, createTour, serverSlot, type SignedIn } from '../support/factories';
import { startTestSystem, TOURS_STARTABLE_NOW, type TestSystem } from '../support/system';

/**
 * Object-level authorization of every tour and call route, generated from the access
 * table: the other buyer and the other realtor, each calling the routes of their own
 * role on someone else's live tour and call, get 404 (never 403, never 200) and change
 * nothing; the tour's own buyer and realtor read the same routes. Admin-only routes are
 * outside this (no buyer or realtor passes their guard: the role tests show the 403).
 */

type Role = 'buyer' | 'realtor';
type Method = 'get' | 'post' | 'put' | 'delete';

interface RouteCase {
  key: string;
  method: Method;
  path: string;
  role: Role;
  /** Which object the `:id` names. */
  object: 'tour' | 'call' | 'none';
}

const ROUTES: RouteCase[] = Object.entries(ACCESS_TABLE)
  .filter(([key]) => /\/(tours|calls)(\/|$)/.test(key))
  .flatMap(([key, access]) => {
    const [method, path] = key.split(' ') as [string, string];
    const roles = (typeof access === 'string' ? [] : access).filter((r): r is Role => r === 'buyer' || r === 'realtor');
    const object = path.includes('/tours/:id') ? 'tour' : path.includes('/calls/:id') ? 'call' : 'none';
    return roles.map((role) => ({ key, method: method.toLowerCase() as Method, path, role, object }));
  });

const BY_ID = ROUTES.filter((r) => r.object !== 'none');
// Feedback exists only once a tour has ended and its buyer gave it: on this live tour its own
// party reads a 404 too (test/api/feedback.test.ts reads it after the tour).
const READS = BY_ID.filter((r) => r.method === 'get' && !r.path.endsWith('/feedback'));
// The search needs a query and answers matches, not tours (test/api/tour-search.test.ts).
const LISTS = ROUTES.filter((r) => r.object === 'none' && r.method === 'get' && !r.path.endsWith('/search'));

/** A valid request for the route, so only ownership can stop it. */
function send(t: TestApp, r: RouteCase, path: string, who: SignedIn) {
  const req = request(t.callback)[r.method](path).set(who.auth);
  if (r.key.endsWith('/tours/:id/recording') && r.method === 'post') return req.attach('recording', toneWav({ seconds: 0.25 }), 'a.wav');
  if (r.key.endsWith('/notes') && r.method === 'post') return req.send({ content: 'not my tour', tag: 'price' });
  if (r.key.endsWith('/record')) return req.send({ action: 'start' });
  if (r.key.endsWith('/share-links') && r.method === 'post') return req.send({ include: ['summary'], expires_in_days: 1 });
  if (r.key.endsWith('/feedback') && r.method === 'post') return req.send({ rating: 5, interest_level: 'very_interested', price_opinion: 'about_right' });
  if (r.key.endsWith('/feedback') && r.method === 'put') return req.send({ rating: 4 });
  return req;
}

describe('tour and call routes: another user\'s object is 404', () => {
  let sys: TestSystem;
  let db: TestDatabase;
  let t: TestApp;
  const owner = {} as Record<Role, SignedIn>;
  const other = {} as Record<Role, SignedIn>;
  let tourId: number;
  let callId: number;
  const pathFor = (r: RouteCase, ids: { tour: number; call: number } = { tour: tourId, call: callId }) =>
    r.path.replace(':id', String(r.object === 'call' ? ids.call : ids.tour)).replace(':link_id', '999999');

  beforeAll(async () => {
    sys = await startTestSystem({ config: { ...TOURS_STARTABLE_NOW }, worker: true });
    ({ db, t } = sys);
    [owner.realtor, owner.buyer, other.realtor, other.buyer] = await Promise.all([
      createRealtor(t, 'Owner Realtor'),
      createBuyer(t, 'Owner Buyer'),
      createRealtor(t, 'Other Realtor'),
      createBuyer(t, 'Other Buyer'),
    ]);
    const propertyId = await createProperty(t, owner.realtor, { address: '1 Private Lane', price: 300000 });
    ({ tourId, callId } = await createTour(t, owner, { propertyId, scheduledAt: await serverSlot(sys.env) }));
    // A live tour: the call is open, so a refusal can only come from ownership.
    const started = await request(t.callback).post(`/api/v1/realtors/tours/${tourId}/start`).set(owner.realtor.auth);
    if (started.status !== 200) throw new Error(`start: ${started.status} ${JSON.stringify(started.body)}`);
  }, 120_000);

  afterAll(() => sys?.stop(), 60_000);

  it('when the table is read, then it has tour and call routes for both roles', () => {
    const keys = new Set(BY_ID.map((r) => r.key));
    expect(keys.size).toBeGreaterThanOrEqual(25);
    expect(BY_ID.some((r) => r.role === 'buyer' && r.object === 'call')).toBe(true);
    expect(BY_ID.some((r) => r.role === 'realtor' && r.object === 'call')).toBe(true);
  });

  describe.each(['buyer', 'realtor'] as const)('the other %s', (role) => {
    const cases = BY_ID.filter((r) => r.role === role).map((r) => [r.key, r] as const);

    it.each(cases)('when they call %s on someone else\'s tour or call, then 404 NOT_FOUND, the same answer as for no such object', async (_key, r) => {
      const res = await send(t, r, pathFor(r), other[role]);
      expect(res.status).toBe(404);
      expect(res.body.success).toBe(false);
      expect(res.body.errors[0].code).toBe('NOT_FOUND');
      const missing = await send(t, r, pathFor(r, { tour: 999_999, call: 999_999 }), other[role]);
      expect(missing.status).toBe(404);
      expect(res.body.errors[0].message).toBe(missing.body.errors[0].message);
    });

    it.each(LISTS.filter((r) => r.role === role).map((r) => [r.key, r] as const))('when they list %s, then someone else\'s tour is not there', async (_key, r) => {
      const res = await send(t, r, r.path, other[role]);
      expect(res.status).toBe(200);
      expect(res.body.data.map((x: { id: string }) => x.id)).not.toContain(String(tourId));
      const own = await send(t, r, r.path, owner[role]);
      expect(own.body.data.map((x: { id: string }) => x.id)).toContain(String(tourId));
    });
  });

  it('when the others have tried every route, then the tour, its call, notes, attendees, recording, share links and feedback are untouched', async () => {
    expect(await db.knex('tours').where({ id: tourId }).first()).toMatchObject({ status: 'in_progress', ended_at: null });
    // Recorded since its start (RECORD_CALLS); nobody else's "stop" reached it.
    expect(await db.knex('calls').where({ id: callId }).first()).toMatchObject({ status: 'active', recording_active: true });
    expect(await db.knex('tour_notes').where({ tour_id: tourId })).toEqual([]);
    expect(await db.knex('recordings').where({ tour_id: tourId })).toEqual([]);
    expect(await db.knex('call_attendees').where({ call_id: callId })).toEqual([]);
    expect(await db.knex('share_links').where({ tour_id: tourId })).toEqual([]);
    expect(await db.knex('tour_feedback').where({ tour_id: tourId })).toEqual([]);
    const audit = await db.knex('audit_logs').whereIn('user_id', [other.buyer.id, other.realtor.id]).where((q) => q.where('action', 'like', 'tour%').orWhere('action', 'like', 'call%'));
    expect(audit).toEqual([]);
  });

  it.each(READS.map((r) => [r.key, r] as const))('when the tour\'s own party reads %s, then it is there (not 404)', async (_key, r) => {
    const res = await send(t, r, pathFor(r), owner[r.role]);
    expect(res.status).not.toBe(404);
    expect(res.status).toBe(200);
    expect(res.body.success).toBe(true);
  });
});
