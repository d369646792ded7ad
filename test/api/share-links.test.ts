import { createHash, randomBytes } from 'node:crypto';
import request from 'supertest';
import { toursRepository } from '../../db/repositories/tours.repository';
import { loadConfig } from '../../lib/config';
import { toneWav } from '../e2e/support/wav';
import { buildTestApp, type TestApp } from '../support/app';
import type { TestDatabase } from '../support/db';
import { createBuyer, createProperty, createRealtor, insertTour, type SignedIn } from '../support/factories';
import { responseValidators, type OpenApiDocument } from '../support/openapi';
import { startTestSystem, type TestSystem } from '../support/system';

/**
 * Share links for a tour recap over HTTP, against real PostgreSQL and local storage: what a
 * link shows (and never shows), expiry, revocation, counting, token guessing, and that
 * nobody but the tour's parties can make, list or revoke one.
 */

const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const digest = (token: string) => createHash('sha256').update(token).digest('base64url');
const URL_TTL_SECONDS = 900;

describe('share links for a tour recap', () => {
  let sys: TestSystem;
  let db: TestDatabase;
  let t: TestApp;
  let realtor: SignedIn;
  let buyer: SignedIn;
  let otherRealtor: SignedIn;
  let otherBuyer: SignedIn;
  let propertyId: number;
  const wav = toneWav({ seconds: 0.25 });
  let validate: (method: string, template: string, status: number, body: unknown) => unknown;

  /** A finished tour with every part of its recap ready: recording, transcript, highlights (with a frame), summary. */
  async function recapTour(opts: { status?: string; artifacts?: boolean } = {}) {
    const { tourId } = await insertTour(db.knex, { property_id: propertyId, buyer_id: buyer.id, status: opts.status ?? 'completed' });
    const recordingKey = `tours/${tourId}/recording/uploads/test/upload.wav`;
    const frameKey = `tours/${tourId}/frames/5000.jpg`;
    if (opts.artifacts !== false) {
      const repo = toursRepository(db.knex);
      await t.adapters.storage.put(recordingKey, wav, 'audio/wav');
      await t.adapters.storage.put(frameKey, Buffer.from('frame'), 'image/jpeg');
      await repo.recordings.save({ tour_id: tourId, storage_key: recordingKey, source: 'upload', content_type: 'audio/wav', file_size_bytes: wav.length }, ['storage_key']);
      await repo.transcripts.save({
        tour_id: tourId,
        full_text: 'Welcome in. The kitchen was redone last year.',
        segments: [
          { start_ms: 0, end_ms: 2_000, text: 'Welcome in.', speaker: 'realtor' },
          { start_ms: 2_000, end_ms: 6_500, text: 'The kitchen was redone last year.', speaker: 'realtor' },
        ],
        confidence_score: 0.93,
        language: 'en',
        model: 'test',
      });
      await repo.highlights.replace(tourId, [{ timestamp_ms: 5_000, highlight_type: 'feature', note: 'Redone kitchen', source: 'analysis', image_url: frameKey }]);
      await repo.update(tourId, { summary: { overview: 'A bright family house', key_points: ['new kitchen'] } });
      for (const step of ['recording', 'transcription', 'highlights', 'summary'] as const) await repo.steps.record(tourId, step, { status: 'done', detail: null });
    }
    return { tourId, recordingKey, frameKey };
  }

  async function share(who: SignedIn, tourId: number, body: Record<string, unknown>, area = who === buyer || who === otherBuyer ? 'buyers' : 'realtors') {
    return request(t.callback).post(`/api/v1/${area}/tours/${tourId}/share-links`).set(who.auth).send(body);
  }

  async function created(who: SignedIn, tourId: number, body: Record<string, unknown>) {
    const res = await share(who, tourId, body);
    if (res.status !== 201) throw new Error(`share: ${res.status} ${JSON.stringify(res.body)}`);
    return { id: Number(res.body.data.id), token: res.body.data.attributes.token as string, url: res.body.data.attributes.url as string, body: res.body };
  }

  const view = (token: string) => request(t.callback).get(`/api/v1/shared/${encodeURIComponent(token)}`);

  /** The path and query of a local signed URL, to fetch it from the app, and its expiry in Unix seconds. */
  function signed(url: string): { path: string; expires: number } {
    const u = new URL(url);
    return { path: `${u.pathname}${u.search}`, expires: Number(u.searchParams.get('expires')) };
  }

  beforeAll(async () => {
    sys = await startTestSystem({ config: { SHARE_LINK_RATE_LIMIT_MAX: '100000', STORAGE_URL_TTL_SECONDS: String(URL_TTL_SECONDS) } });
    ({ db, t } = sys);
    [realtor, buyer, otherRealtor, otherBuyer] = await Promise.all([createRealtor(t), createBuyer(t), createRealtor(t, 'Other Realtor'), createBuyer(t, 'Other Buyer')]);
    propertyId = await createProperty(t, realtor, { address: '7 Shared Way' });
    validate = responseValidators((await request(t.callback).get('/openapi.json')).body as OpenApiDocument).errorsOf;
  }, 120_000);

  afterAll(() => sys?.stop(), 60_000);

  it('when the realtor shares summary and transcript, then the token is shown once, stored only as its digest, and the link shows exactly those parts', async () => {
    const { tourId, recordingKey, frameKey } = await recapTour();
    const link = await created(realtor, tourId, { include: ['summary', 'transcript'], expires_in_days: 3, label: 'for my partner' });
    expect(link.token).toMatch(TOKEN);
    expect(link.url).toBe(`${t.config.publicBaseUrl}/api/v1/shared/${link.token}`);
    expect(link.body.data.attributes).toMatchObject({ tour_id: tourId, include: ['summary', 'transcript'], label: 'for my partner', state: 'active', view_count: 0, created_by: realtor.id, created_by_role: 'realtor', revoked_at: null });
    expect(validate('post', '/api/v1/realtors/tours/{id}/share-links', 201, link.body)).toBeNull();
    const row = await db.knex('share_links').where({ id: link.id }).first();
    expect(row.token_hash).toBe(digest(link.token));
    expect(JSON.stringify(row)).not.toContain(link.token);
    expect(new Date(row.expires_at).getTime() - new Date(row.created_at).getTime()).toBe(3 * 86_400_000);

    const res = await view(link.token);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(validate('get', '/api/v1/shared/{token}', 200, res.body)).toBeNull();
    const a = res.body.data.attributes;
    expect(Object.keys(a).sort()).toEqual(['expires_at', 'include', 'media_urls_expire_at', 'summary', 'tour', 'transcript']);
    expect(a.summary).toEqual({ overview: 'A bright family house', key_points: ['new kitchen'] });
    expect(a.transcript.segments[1]).toEqual({ start_ms: 2_000, end_ms: 6_500, text: 'The kitchen was redone last year.', speaker: 'realtor' });
    expect(a.tour).toMatchObject({ property_address: '7 Shared Way' });
    expect(a.media_urls_expire_at).toBeNull();
    const text = JSON.stringify(res.body);
    for (const secret of ['/files/', recordingKey, frameKey]) expect(text).not.toContain(secret);
    // Nobody's identity travels with a public recap.
    expect(text).not.toMatch(/buyer|email|realtor_id|full_name/);

    const listed = await request(t.callback).get(`/api/v1/buyers/tours/${tourId}/share-links`).set(buyer.auth);
    expect(listed.status).toBe(200);
    expect(validate('get', '/api/v1/buyers/tours/{id}/share-links', 200, listed.body)).toBeNull();
    expect(listed.body.data).toEqual([expect.objectContaining({ id: String(link.id), attributes: expect.objectContaining({ view_count: 1, state: 'active' }) })]);
    expect(JSON.stringify(listed.body)).not.toContain(link.token);
    expect(await db.knex('audit_logs').where({ action: 'share_link_created', resource_id: link.id, user_id: realtor.id })).toHaveLength(1);
  });

  it('when a link does not include the recording, then no view ever yields a recording URL; with it, the URL works', async () => {
    const { tourId, recordingKey } = await recapTour();
    const without = await created(buyer, tourId, { include: ['summary', 'highlights', 'transcript'] });
    for (let i = 0; i < 3; i += 1) {
      const res = await view(without.token);
      expect(res.status).toBe(200);
      expect(res.body.data.attributes).not.toHaveProperty('recording');
      expect(JSON.stringify(res.body)).not.toContain(recordingKey);
      expect(JSON.stringify(res.body)).not.toContain('upload.wav');
      // Highlights carry their frame, a medium of their own, signed like any other.
      expect(res.body.data.attributes.highlights).toEqual([expect.objectContaining({ timestamp_ms: 5_000, note: 'Redone kitchen', image_url: expect.stringContaining('/files/') })]);
    }

    const withRecording = await created(buyer, tourId, { include: ['recording'] });
    const res = await view(withRecording.token);
    expect(Object.keys(res.body.data.attributes).sort()).toEqual(['expires_at', 'include', 'media_urls_expire_at', 'recording', 'tour']);
    const { url } = res.body.data.attributes.recording;
    expect(res.body.data.attributes.recording).toMatchObject({ content_type: 'audio/wav' });
    const file = await request(t.callback).get(signed(url).path).buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    expect(file.status).toBe(200);
    expect(Buffer.compare(file.body as Buffer, wav)).toBe(0);
  });

  it('when media URLs are signed, then they live no longer than the configured lifetime, nor past the link\'s expiry', async () => {
    const { tourId } = await recapTour();
    const long = await created(realtor, tourId, { include: ['recording', 'highlights'], expires_in_days: 30 });
    const before = Math.floor(Date.now() / 1000);
    const res = await view(long.token);
    const after = Math.ceil(Date.now() / 1000);
    const urls = [res.body.data.attributes.recording.url, res.body.data.attributes.highlights[0].image_url].map(signed);
    for (const u of urls) {
      expect(u.expires).toBeGreaterThan(before);
      expect(u.expires).toBeLessThanOrEqual(after + URL_TTL_SECONDS);
    }

    // A link about to expire: its media expire with it, not a full lifetime later.
    const short = await created(realtor, tourId, { include: ['recording', 'highlights'] });
    await db.knex('share_links').where({ id: short.id }).update({ expires_at: db.knex.raw("now() + interval '90 seconds'") });
    const linkExpiry = new Date((await db.knex('share_links').where({ id: short.id }).first()).expires_at).getTime();
    const soon = await view(short.token);
    expect(soon.status).toBe(200);
    for (const u of [soon.body.data.attributes.recording.url, soon.body.data.attributes.highlights[0].image_url].map(signed)) {
      expect(u.expires * 1000).toBeLessThanOrEqual(linkExpiry);
    }
    expect(new Date(soon.body.data.attributes.media_urls_expire_at).getTime()).toBeLessThanOrEqual(linkExpiry);
    expect(new Date(soon.body.data.attributes.expires_at).getTime()).toBe(linkExpiry);
  });

  it('when a link has expired, then it is a 404 like an unknown token, and its owners see it as expired', async () => {
    const { tourId } = await recapTour();
    const link = await created(realtor, tourId, { include: ['summary'], expires_in_days: 1 });
    expect((await view(link.token)).status).toBe(200);
    await db.knex('share_links').where({ id: link.id }).update({ created_at: db.knex.raw("now() - interval '2 days'"), expires_at: db.knex.raw("now() - interval '1 second'") });
    const expired = await view(link.token);
    const unknown = await view(randomBytes(32).toString('base64url'));
    expect(expired.status).toBe(404);
    expect(expired.body.errors).toEqual(unknown.body.errors);
    expect(expired.body.errors).toEqual([{ code: 'NOT_FOUND', message: expect.any(String), field: null }]);
    const listed = await request(t.callback).get(`/api/v1/realtors/tours/${tourId}/share-links`).set(realtor.auth);
    expect(listed.body.data[0].attributes).toMatchObject({ state: 'expired', view_count: 1 });
  });

  it('when a party revokes a link, then the next view is a 404 at once, the revocation is audit-logged once, and revoking again changes nothing', async () => {
    const { tourId } = await recapTour();
    const link = await created(realtor, tourId, { include: ['summary', 'recording'] });
    expect((await view(link.token)).status).toBe(200);
    // The buyer may stop the realtor's share: the recording carries both voices.
    const revoked = await request(t.callback).delete(`/api/v1/buyers/tours/${tourId}/share-links/${link.id}`).set(buyer.auth);
    expect(revoked.status).toBe(200);
    expect(validate('delete', '/api/v1/buyers/tours/{id}/share-links/{link_id}', 200, revoked.body)).toBeNull();
    expect(revoked.body.data.attributes).toMatchObject({ state: 'revoked', revoked_at: expect.any(String), view_count: 1 });
    const after = await view(link.token);
    expect(after.status).toBe(404);
    expect(after.body.errors[0].code).toBe('NOT_FOUND');

    const again = await request(t.callback).delete(`/api/v1/realtors/tours/${tourId}/share-links/${link.id}`).set(realtor.auth);
    expect(again.status).toBe(200);
    expect(again.body.data.attributes.revoked_at).toBe(revoked.body.data.attributes.revoked_at);
    expect(await db.knex('audit_logs').where({ action: 'share_link_revoked', resource_id: link.id })).toEqual([expect.objectContaining({ user_id: buyer.id })]);
    expect(await db.knex('share_links').where({ id: link.id }).first()).toMatchObject({ view_count: 1, revoked_by: buyer.id });
  });

  it('when a link is viewed, then every view is counted and audit-logged without a user', async () => {
    const { tourId } = await recapTour();
    const link = await created(buyer, tourId, { include: ['highlights'] });
    for (let i = 0; i < 3; i += 1) expect((await view(link.token)).status).toBe(200);
    expect(await db.knex('share_links').where({ id: link.id }).first()).toMatchObject({ view_count: 3, last_viewed_at: expect.any(Date) });
    const audits = await db.knex('audit_logs').where({ action: 'share_link_viewed', resource_id: link.id }).orderBy('id');
    expect(audits).toHaveLength(3);
    expect(audits.every((r) => r.user_id === null && r.request_id)).toBe(true);
    expect(audits.map((r) => JSON.parse(r.details).view)).toEqual([1, 2, 3]);
    expect(JSON.parse(audits[0].details)).toMatchObject({ tour_id: tourId, ip: expect.any(String) });
  });

  it('when tokens are guessed, then every guess is the same 404 as for no link, nothing is counted, and only the digest is ever looked up', async () => {
    const { tourId } = await recapTour();
    const link = await created(realtor, tourId, { include: ['summary'] });
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const guesses = [
      ...Array.from({ length: 5 }, () => randomBytes(32).toString('base64url')),
      link.token.slice(0, -1),
      `${link.token}A`,
      flip(link.token, 0),
      flip(link.token, 42),
      link.token.toUpperCase() === link.token ? flip(link.token, 20) : link.token.toUpperCase(),
      digest(link.token),
      'a',
      '\u0000',
      'x'.repeat(2_000),
    ];
    const answers = [];
    for (const guess of guesses) {
      const res = await view(guess);
      expect({ guess: guess.slice(0, 50), status: res.status }).toEqual({ guess: guess.slice(0, 50), status: 404 });
      answers.push(res.body.errors);
    }
    // Paths a client could not have got from a link (broken percent-encoding) are not found either.
    for (const raw of ['%E0%A4%A', '%', '%zz']) {
      const res = await request(t.callback).get(`/api/v1/shared/${raw}`);
      expect({ raw, status: res.status }).toEqual({ raw, status: 404 });
      answers.push(res.body.errors);
    }
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]).toEqual([{ code: 'NOT_FOUND', message: expect.any(String), field: null }]);
    expect(await db.knex('share_links').where({ id: link.id }).first()).toMatchObject({ view_count: 0 });
    expect(await db.knex('audit_logs').where({ action: 'share_link_viewed', resource_id: link.id })).toEqual([]);

    // The token is found by its digest through the unique index: the raw token is never compared.
    const sent: unknown[][] = [];
    const onQuery = (q: { bindings?: unknown[] }) => sent.push(q.bindings ?? []);
    db.knex.on('query', onQuery);
    try {
      expect((await view(link.token)).status).toBe(200);
    } finally {
      db.knex.off('query', onQuery);
    }
    expect(sent.flat()).toContain(digest(link.token));
    expect(sent.flat()).not.toContain(link.token);
  });

  it('when someone else names the tour, then creating, listing and revoking are the same 404 as for no such tour, and nothing changes', async () => {
    const { tourId } = await recapTour();
    const link = await created(realtor, tourId, { include: ['summary'] });
    const body = { include: ['summary', 'recording'], expires_in_days: 30 };
    for (const [who, area] of [[otherRealtor, 'realtors'], [otherBuyer, 'buyers']] as const) {
      const calls = (id: number) => [
        request(t.callback).post(`/api/v1/${area}/tours/${id}/share-links`).set(who.auth).send(body),
        request(t.callback).get(`/api/v1/${area}/tours/${id}/share-links`).set(who.auth),
        request(t.callback).delete(`/api/v1/${area}/tours/${id}/share-links/${link.id}`).set(who.auth),
      ];
      const theirs = await Promise.all(calls(tourId));
      const missing = await Promise.all(calls(987_654));
      theirs.forEach((res, i) => {
        expect(res.status).toBe(404);
        expect(res.body.errors).toEqual(missing[i]!.body.errors);
      });
    }
    expect(await db.knex('share_links').where({ tour_id: tourId })).toEqual([expect.objectContaining({ id: link.id, revoked_at: null })]);
    expect(await db.knex('audit_logs').whereIn('user_id', [otherRealtor.id, otherBuyer.id]).where('action', 'like', 'share_link%')).toEqual([]);
    expect((await view(link.token)).status).toBe(200);

    // A link of another tour, named under one's own tour, is not found either.
    const mine = await recapTour();
    const res = await request(t.callback).delete(`/api/v1/realtors/tours/${mine.tourId}/share-links/${link.id}`).set(realtor.auth);
    expect(res.status).toBe(404);
    expect(await db.knex('share_links').where({ id: link.id }).first()).toMatchObject({ revoked_at: null });
  });

  it('when the body is bad, then 400 names the field and nothing is created', async () => {
    const { tourId } = await recapTour();
    const inDays = (d: number) => new Date(Date.now() + d * 86_400_000).toISOString();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{}, 'include'],
      [{ include: [] }, 'include'],
      [{ include: ['summary', 'summary'] }, 'include'],
      [{ include: ['summary', 'buyer_email'] }, 'include.1'],
      [{ include: ['summary'], expires_in_days: 31 }, 'expires_in_days'],
      [{ include: ['summary'], expires_in_days: 0 }, 'expires_in_days'],
      [{ include: ['summary'], expires_in_days: '7' }, 'expires_in_days'],
      [{ include: ['summary'], expires_at: inDays(31) }, 'expires_at'],
      [{ include: ['summary'], expires_at: new Date(Date.now() + 60_000).toISOString() }, 'expires_at'],
      [{ include: ['summary'], expires_at: inDays(-1) }, 'expires_at'],
      [{ include: ['summary'], expires_at: 'next week' }, 'expires_at'],
      [{ include: ['summary'], expires_in_days: 3, expires_at: inDays(3) }, 'expires_at'],
      [{ include: ['summary'], label: 'x'.repeat(101) }, 'label'],
      [{ include: ['summary'], token: 'mine' }, 'token'],
    ];
    for (const [body, field] of cases) {
      const res = await share(realtor, tourId, body);
      expect({ body, status: res.status, code: res.body.errors?.[0]?.code }).toEqual({ body, status: 400, code: 'VALIDATION_ERROR' });
      expect({ body, fields: res.body.errors.map((e: { field: string }) => e.field) }).toEqual({ body, fields: expect.arrayContaining([field]) });
    }
    expect(await db.knex('share_links').where({ tour_id: tourId })).toEqual([]);
    const ok = await share(realtor, tourId, { include: ['summary'], expires_at: inDays(30) });
    expect(ok.status).toBe(201);
  });

  it('when the tour was cancelled, then there is nothing to share (409); while processing, included parts are null until ready', async () => {
    const cancelled = await recapTour({ status: 'cancelled', artifacts: false });
    const refused = await share(buyer, cancelled.tourId, { include: ['summary'] });
    expect(refused.status).toBe(409);
    expect(refused.body.errors[0].code).toBe('CONFLICT');

    const processing = await recapTour({ status: 'processing', artifacts: false });
    const link = await created(buyer, processing.tourId, { include: ['summary', 'highlights', 'transcript', 'recording'] });
    const res = await view(link.token);
    expect(res.status).toBe(200);
    expect(res.body.data.attributes).toMatchObject({ summary: null, highlights: null, transcript: null, recording: null, media_urls_expire_at: null });
    expect(validate('get', '/api/v1/shared/{token}', 200, res.body)).toBeNull();
  });

  it('when SHARE_LINK_MAX_DAYS is lowered, then links are held to it; above 30 days the configuration is refused', async () => {
    expect(() => loadConfig({ SHARE_LINK_MAX_DAYS: '31' })).toThrow(/SHARE_LINK_MAX_DAYS/);
    const week = await buildTestApp({ knex: db.knex, env: sys.env, config: { DATA_DIR: t.config.paths.data, SHARE_LINK_MAX_DAYS: '7' } });
    try {
      const { tourId } = await recapTour();
      const post = (body: Record<string, unknown>) => request(week.callback).post(`/api/v1/realtors/tours/${tourId}/share-links`).set(realtor.auth).send(body);
      expect((await post({ include: ['summary'], expires_in_days: 8 })).body.errors[0]).toMatchObject({ code: 'VALIDATION_ERROR', field: 'expires_in_days' });
      expect((await post({ include: ['summary'], expires_at: new Date(Date.now() + 8 * 86_400_000).toISOString() })).body.errors[0]).toMatchObject({ code: 'VALIDATION_ERROR', field: 'expires_at' });
      expect((await post({ include: ['summary'], expires_in_days: 7 })).status).toBe(201);
    } finally {
      week.cleanup();
    }
  });

  it('when one address asks for shared recaps too often, then 429 with Retry-After, unknown tokens counted too', async () => {
    const strict = await buildTestApp({ knex: db.knex, env: sys.env, config: { DATA_DIR: t.config.paths.data, SHARE_LINK_RATE_LIMIT_MAX: '2' } });
    try {
      const { tourId } = await recapTour();
      const link = await created(realtor, tourId, { include: ['summary'] });
      expect((await request(strict.callback).get(`/api/v1/shared/${randomBytes(32).toString('base64url')}`)).status).toBe(404);
      expect((await request(strict.callback).get(`/api/v1/shared/${link.token}`)).status).toBe(200);
      const limited = await request(strict.callback).get(`/api/v1/shared/${link.token}`);
      expect(limited.status).toBe(429);
      expect(limited.body.errors[0].code).toBe('RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(validate('get', '/api/v1/shared/{token}', 429, limited.body)).toBeNull();
      // Refused before the link was read: not a view.
      expect(await db.knex('share_links').where({ id: link.id }).first()).toMatchObject({ view_count: 1 });
    } finally {
      strict.cleanup();
    }
  });
});
