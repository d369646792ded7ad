import request from 'supertest';
import { TOUR_SEARCH_KINDS } from '../../db/repositories/tour-search.repository';
import { toursRepository } from '../../db/repositories/tours.repository';
import type { TestApp } from '../support/app';
import type { TestDatabase } from '../support/db';
import { createAdmin, createBuyer, createProperty, createRealtor, insertTour, type SignedIn } from '../support/factories';
import { responseValidators, type OpenApiDocument } from '../support/openapi';
import { startTestSystem, type TestSystem } from '../support/system';

/**
 * Transcript and notes search over HTTP: a phrase said in a tour is found at its time, in
 * one's own tours only (every tour for admins), paginated, and bad input is a 400.
 */
describe('tour search over HTTP', () => {
  let sys: TestSystem;
  let db: TestDatabase;
  let t: TestApp;
  let realtor: SignedIn;
  let buyer: SignedIn;
  let otherRealtor: SignedIn;
  let otherBuyer: SignedIn;
  let admin: SignedIn;
  let mine: number;
  let theirs: number;
  let validate: (template: string, status: number, body: unknown) => unknown;

  const search = (who: SignedIn, area: 'realtors' | 'buyers' | 'admin', query: Record<string, string | number>) =>
    request(t.callback).get(`/api/v1/${area}/tours/search`).query(query).set(who.auth);

  beforeAll(async () => {
    sys = await startTestSystem();
    ({ db, t } = sys);
    [realtor, buyer, otherRealtor, otherBuyer, admin] = await Promise.all([
      createRealtor(t),
      createBuyer(t),
      createRealtor(t, 'Other Realtor'),
      createBuyer(t, 'Other Buyer'),
      createAdmin(t, db.knex),
    ]);
    const [myListing, theirListing] = await Promise.all([createProperty(t, realtor, { address: '3 Quiet Court' }), createProperty(t, otherRealtor, { address: '8 Busy Street' })]);
    mine = (await insertTour(db.knex, { property_id: myListing, buyer_id: buyer.id, status: 'completed' })).tourId;
    theirs = (await insertTour(db.knex, { property_id: theirListing, buyer_id: otherBuyer.id, status: 'completed' })).tourId;
    const repo = toursRepository(db.knex);
    const said = (start: number, text: string) => ({ start_ms: start, end_ms: start + 3_000, text, speaker: 'realtor' });
    await repo.transcripts.save({
      tour_id: mine,
      full_text: null,
      segments: [said(0, 'Hello and welcome.'), said(3_000, 'This is the living room.'), said(83_250, 'The roof was replaced two years ago with slate tiles.'), said(90_000, 'Any questions?')],
      confidence_score: null,
      language: 'en',
      model: 'test',
    });
    await repo.transcripts.save({ tour_id: theirs, full_text: null, segments: [said(12_000, 'The roof was replaced two years ago, as the listing says.')], confidence_score: null, language: 'en', model: 'test' });
    await repo.notes.add({ tour_id: mine, user_id: buyer.id, content: 'Check the slate roof warranty', tag: 'roof', timestamp_ms: 85_000 });

    const validators = responseValidators((await request(t.callback).get('/openapi.json')).body as OpenApiDocument);
    validate = (template, status, body) => validators.errorsOf('get', template, status, body);
  }, 120_000);

  afterAll(() => sys?.stop(), 60_000);

  it('when the buyer searches a phrase said in the tour, then the segment is found with its timestamp, its tour and a marked snippet', async () => {
    const res = await search(buyer, 'buyers', { q: '"roof was replaced"' });
    expect(res.status).toBe(200);
    expect(validate('/api/v1/buyers/tours/search', 200, res.body)).toBeNull();
    expect(res.body.meta).toMatchObject({ current_page: 1, per_page: 20, total_count: 1, total_pages: 1 });
    const [hit] = res.body.data;
    expect(hit.type).toBe('tour_search_hit');
    expect(hit.relationships).toEqual({ tour: { data: { id: String(mine), type: 'tour' } } });
    expect(hit.attributes).toMatchObject({
      kind: 'transcript',
      tour_id: mine,
      timestamp_ms: 83_250,
      end_ms: 86_250,
      segment_index: 2,
      text: 'The roof was replaced two years ago with slate tiles.',
      tour: { id: mine, property_address: '3 Quiet Court', status: 'completed' },
    });
    expect(hit.attributes.snippet).toMatch(/<mark>roof<\/mark> was <mark>replaced<\/mark>/);
  });

  it('when words match a note too, then both kinds come back; kind= narrows to one', async () => {
    const both = await search(realtor, 'realtors', { q: 'slate roof' });
    expect(both.body.data.map((h: { attributes: { kind: string; timestamp_ms: number } }) => [h.attributes.kind, h.attributes.timestamp_ms]).sort()).toEqual([['note', 85_000], ['transcript', 83_250]]);
    const notes = await search(realtor, 'realtors', { q: 'slate roof', kind: 'note' });
    expect(notes.body.data.map((h: { attributes: { kind: string } }) => h.attributes.kind)).toEqual(['note']);
  });

  it('when anyone searches, then they never get another user\'s tours; an admin searches every tour', async () => {
    const tours = async (who: SignedIn, area: 'realtors' | 'buyers' | 'admin') => {
      const res = await search(who, area, { q: 'roof replaced', per_page: 100 });
      expect(res.status).toBe(200);
      return [...new Set(res.body.data.map((h: { attributes: { tour_id: number } }) => h.attributes.tour_id))].sort();
    };
    expect(await tours(buyer, 'buyers')).toEqual([mine]);
    expect(await tours(realtor, 'realtors')).toEqual([mine]);
    expect(await tours(otherBuyer, 'buyers')).toEqual([theirs]);
    expect(await tours(otherRealtor, 'realtors')).toEqual([theirs]);
    expect(await tours(admin, 'admin')).toEqual([mine, theirs].sort((a, b) => a - b));
    // Nothing of theirs leaks through a word only they said.
    const onlyTheirs = await search(buyer, 'buyers', { q: 'listing says' });
    expect(onlyTheirs.body.data).toEqual([]);
    expect(onlyTheirs.body.meta.total_count).toBe(0);
  });

  it('when the results are paged, then page and per_page apply with the standard meta', async () => {
    const first = await search(admin, 'admin', { q: 'roof', per_page: 1 });
    expect(first.body.meta).toMatchObject({ current_page: 1, per_page: 1, total_count: 3, total_pages: 3 });
    const pages = [first.body.data[0].id];
    for (const page of [2, 3]) pages.push((await search(admin, 'admin', { q: 'roof', per_page: 1, page })).body.data[0].id);
    expect(new Set(pages).size).toBe(3);
    expect((await search(admin, 'admin', { q: 'roof', per_page: 1, page: 4 })).body).toMatchObject({ data: [], meta: { total_count: 3 } });
  });

  it('when the query has no word to find, then nothing is found (not an error)', async () => {
    for (const q of ['the', '!!!', '-roof']) {
      const res = await search(buyer, 'buyers', { q });
      expect({ q, status: res.status, data: res.body.data, total: res.body.meta?.total_count }).toEqual({ q, status: 200, data: [], total: 0 });
    }
  });

  it('when the query is a lone number, with or without a kind, then it is a search like any other (never a 500)', async () => {
    // The fuzzer's find: `?q=0&kind=note` answered 500 in every role's area.
    const repo = toursRepository(db.knex);
    const odd = ['0', 'a & <b> 0 </b>', `${'x'.repeat(3000)} 0`, '0\ufffd \ud83d\ude00'];
    for (const [i, content] of odd.entries()) await repo.notes.add({ tour_id: mine, user_id: buyer.id, content, tag: null, timestamp_ms: i % 2 ? null : 2_147_483_647 });
    for (const [who, area] of [[buyer, 'buyers'], [realtor, 'realtors'], [admin, 'admin']] as const) {
      for (const kind of [undefined, ...TOUR_SEARCH_KINDS]) {
        for (const q of ['0', '0 roof', '-0']) {
          const res = await search(who, area, kind ? { q, kind, page: 1, per_page: 20 } : { q });
          expect({ area, q, kind, status: res.status, errors: res.body.errors }).toEqual({ area, q, kind, status: 200, errors: undefined });
          expect(validate(`/api/v1/${area}/tours/search`, 200, res.body)).toBeNull();
          const kinds = new Set(res.body.data.map((h: { attributes: { kind: string } }) => h.attributes.kind));
          if (kind) expect([...kinds].every((k) => k === kind)).toBe(true);
          // Every odd note says 0 on its own; a search for 0 alone finds them all.
          if (q === '0' && (kind === undefined || kind === 'note')) expect(res.body.meta.total_count).toBe(odd.length);
          if (q === '-0' || kind === 'transcript' || kind === 'highlight') expect(res.body.data).toEqual([]);
        }
      }
    }
  });

  it('when the input is bad, then 400 names the field', async () => {
    const cases: Array<[Record<string, string | number>, string]> = [
      [{}, 'q'],
      [{ q: '' }, 'q'],
      [{ q: '   ' }, 'q'],
      [{ q: 'r'.repeat(201) }, 'q'],
      [{ q: 'roof', kind: 'email' }, 'kind'],
      [{ q: 'roof', page: 0 }, 'page'],
      [{ q: 'roof', per_page: 'ten' }, 'per_page'],
      [{ q: 'roof', tour_id: mine }, 'tour_id'],
    ];
    for (const [query, field] of cases) {
      const res = await search(buyer, 'buyers', query);
      expect({ query, status: res.status, code: res.body.errors?.[0]?.code }).toEqual({ query, status: 400, code: 'VALIDATION_ERROR' });
      expect({ query, fields: res.body.errors.map((e: { field: string }) => e.field) }).toEqual({ query, fields: expect.arrayContaining([field]) });
      expect(validate('/api/v1/buyers/tours/search', 400, res.body)).toBeNull();
    }
    const repeated = await request(t.callback).get('/api/v1/buyers/tours/search?q=roof&q=slate').set(buyer.auth);
    expect(repeated.status).toBe(400);
  });

  it('when /tours/search is asked for, then it is the search, not a tour id; the tour routes still answer for ids', async () => {
    const res = await request(t.callback).post('/api/v1/realtors/tours/search').set(realtor.auth);
    expect(res.status).toBe(405);
    const tour = await request(t.callback).get(`/api/v1/realtors/tours/${mine}`).set(realtor.auth);
    expect(tour.status).toBe(200);
    expect((await search(realtor, 'buyers', { q: 'roof' })).status).toBe(403);
  });
});
