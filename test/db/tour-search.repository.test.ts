import type { Knex } from 'knex';
import { toursRepository } from '../../db/repositories/tours.repository';
import { tourSearchRepository, type ParsedSearch } from '../../db/repositories/tour-search.repository';
import { insertProperty, insertTour, insertUser } from '../support/factories';
import { createTestDatabase, type TestDatabase } from '../support/db';

/**
 * Tour search against real PostgreSQL: per-segment transcript matches with their times,
 * highlights and notes, scoping, paging, and the GIN indexes actually answering.
 */
describe('tour search repository', () => {
  let db: TestDatabase;
  let mine: { tourId: number; buyerId: number; realtorId: number };
  let theirs: { tourId: number; buyerId: number; realtorId: number };

  const SEGMENTS = [
    { start_ms: 0, end_ms: 4_200, text: 'Welcome to the house, come on in.', speaker: 'realtor' },
    { start_ms: 4_200, end_ms: 9_750, text: 'The kitchen was renovated in 2019 & has a gas range <b>new</b>.', speaker: 'realtor' },
    { start_ms: 9_750, end_ms: 15_000, text: 'What is the asking price for the house?', speaker: 'buyer' },
    { start_ms: 15_000, end_ms: 21_300, text: 'The south-facing garden gets sun all afternoon.', speaker: 'realtor' },
  ];

  async function aTour(address: string) {
    const buyerId = (await insertUser(db.knex, 'buyer')).id;
    const { id: propertyId, realtorId } = await insertProperty(db.knex, { address });
    const { tourId } = await insertTour(db.knex, { property_id: propertyId, buyer_id: buyerId, status: 'completed' });
    return { tourId, buyerId, realtorId };
  }

  async function parse(text: string): Promise<ParsedSearch> {
    const parsed = await tourSearchRepository(db.knex).parse(text);
    if (!parsed) throw new Error(`no query in ${text}`);
    return parsed;
  }

  const page = { page: 1, per_page: 20 };

  beforeAll(async () => {
    db = await createTestDatabase();
    mine = await aTour('12 Search Street');
    theirs = await aTour('99 Other Road');
    const repo = toursRepository(db.knex);
    await repo.transcripts.save({ tour_id: mine.tourId, full_text: SEGMENTS.map((s) => s.text).join(' '), segments: SEGMENTS, confidence_score: 0.9, language: 'en', model: 'test' });
    await repo.transcripts.save({
      tour_id: theirs.tourId,
      full_text: 'x',
      segments: [{ start_ms: 61_000, end_ms: 65_000, text: 'This kitchen was renovated last spring.', speaker: null }],
      confidence_score: null,
      language: 'en',
      model: 'test',
    });
    await repo.highlights.replace(mine.tourId, [{ timestamp_ms: 5_000, highlight_type: 'feature', note: 'Renovated kitchen with gas range', source: 'analysis', image_url: null }]);
    await repo.notes.add({ tour_id: mine.tourId, user_id: mine.buyerId, content: 'Ask about the garden irrigation', tag: null, timestamp_ms: 16_000 });
  });

  afterAll(async () => {
    await db?.destroy();
  });

  it('when a phrase said in a transcript is searched, then the segment is found with its start and end time', async () => {
    const { items, total } = await tourSearchRepository(db.knex).search({ buyerId: mine.buyerId }, await parse('"gas range"'), { kind: 'transcript' }, page);
    expect(total).toBe(1);
    expect(items[0]).toMatchObject({
      kind: 'transcript',
      tour_id: mine.tourId,
      segment_index: 1,
      timestamp_ms: 4_200,
      end_ms: 9_750,
      speaker: 'realtor',
      text: SEGMENTS[1]!.text,
      tour: { id: mine.tourId, property_address: '12 Search Street', status: 'completed' },
    });
    // The words found are marked; the rest of the text is escaped, never passed through as markup.
    expect(items[0]!.snippet).toContain('<mark>gas</mark>');
    expect(items[0]!.snippet).toContain('&amp;');
    expect(items[0]!.snippet).toContain('&lt;b&gt;');
    expect(items[0]!.snippet).not.toContain('<b>');
  });

  it('when a word is in a transcript, a highlight and a note, then each is a match of its kind with its time', async () => {
    const { items } = await tourSearchRepository(db.knex).search({ buyerId: mine.buyerId }, await parse('kitchen'), {}, page);
    expect(items.map((h) => [h.kind, h.timestamp_ms]).sort()).toEqual([['highlight', 5_000], ['transcript', 4_200]].sort());
    const garden = await tourSearchRepository(db.knex).search({ realtorId: mine.realtorId }, await parse('garden'), {}, page);
    expect(garden.items.map((h) => [h.kind, h.timestamp_ms]).sort()).toEqual([['note', 16_000], ['transcript', 15_000]].sort());
    // Each kind on its own.
    for (const kind of ['transcript', 'highlight', 'note'] as const) {
      const only = await tourSearchRepository(db.knex).search({ realtorId: mine.realtorId }, await parse('kitchen or garden'), { kind }, page);
      expect({ kind, kinds: [...new Set(only.items.map((h) => h.kind))], total: only.total }).toEqual({ kind, kinds: [kind], total: kind === 'transcript' ? 2 : 1 });
    }
  });

  it('when the scope is one person\'s, then only their tours are searched; an admin\'s empty scope sees all', async () => {
    const repo = tourSearchRepository(db.knex);
    const q = await parse('renovated kitchen');
    const tours = async (scope: Parameters<typeof repo.search>[0]) => [...new Set((await repo.search(scope, q, {}, page)).items.map((h) => h.tour_id))].sort();
    expect(await tours({ buyerId: mine.buyerId })).toEqual([mine.tourId]);
    expect(await tours({ realtorId: theirs.realtorId })).toEqual([theirs.tourId]);
    expect(await tours({ buyerId: theirs.buyerId, realtorId: mine.realtorId })).toEqual([]);
    expect(await tours({})).toEqual([mine.tourId, theirs.tourId].sort());
  });

  it('when a word is excluded, then segments without it match even if the transcript has it elsewhere', async () => {
    const { items } = await tourSearchRepository(db.knex).search({ buyerId: mine.buyerId }, await parse('house -price'), { kind: 'transcript' }, page);
    expect(items.map((h) => h.segment_index)).toEqual([0]);
  });

  it('when a query has only common words or only exclusions, then parse says there is nothing (or nothing indexable) to find', async () => {
    const repo = tourSearchRepository(db.knex);
    expect(await repo.parse('the and of')).toBeNull();
    expect(await repo.parse('!!! ...')).toBeNull();
    expect(await repo.parse('-price')).toMatchObject({ indexable: null });
    expect(await repo.parse('house -price')).toMatchObject({ indexable: "'hous'" });
    expect(await repo.parse('"gas range" or "wine cellar"')).toMatchObject({ query: "'gas' <-> 'rang' | 'wine' <-> 'cellar'", indexable: "'gas' & 'rang' | 'wine' & 'cellar'" });
  });

  it('when results span pages, then the pages are disjoint, ordered the same way every time, and count every match', async () => {
    const repo = tourSearchRepository(db.knex);
    const q = await parse('kitchen or garden or house');
    const all = await repo.search({}, q, {}, { page: 1, per_page: 100 });
    expect(all.total).toBe(all.items.length);
    expect(all.total).toBeGreaterThanOrEqual(6);
    const pages = [];
    for (let p = 1; p <= Math.ceil(all.total / 2); p += 1) pages.push(...(await repo.search({}, q, {}, { page: p, per_page: 2 })).items);
    expect(pages.map((h) => [h.kind, h.tour_id, h.segment_index, h.item_id])).toEqual(all.items.map((h) => [h.kind, h.tour_id, h.segment_index, h.item_id]));
    const past = await repo.search({}, q, {}, { page: 50, per_page: 2 });
    expect(past).toEqual({ items: [], total: all.total });
  });

  it('when a phrase is said late in a long tour (past the positions one tsvector counts), then its segment is still found', async () => {
    const long = await aTour('5 Long Drive');
    const filler = Array.from({ length: 6_000 }, (_, i) => ({ start_ms: i * 1_000, end_ms: i * 1_000 + 1_000, text: `word${i} filler${i} more${i}` }));
    await toursRepository(db.knex).transcripts.save({
      tour_id: long.tourId,
      full_text: null,
      segments: [...filler, { start_ms: 7_200_000, end_ms: 7_204_000, text: 'And the wine cellar is climate controlled.' }],
      confidence_score: null,
      language: 'en',
      model: 'test',
    });
    const { items } = await tourSearchRepository(db.knex).search({ buyerId: long.buyerId }, await parse('"wine cellar"'), {}, page);
    expect(items.map((h) => [h.segment_index, h.timestamp_ms])).toEqual([[6_000, 7_200_000]]);
    // The phrase still binds: its words apart are not it.
    expect((await tourSearchRepository(db.knex).search({ buyerId: long.buyerId }, await parse('"cellar wine"'), {}, page)).items).toEqual([]);
  });

  it('when transcripts hold odd segments (no text, a string time, not an object), then they are skipped, not an error', async () => {
    const odd = await aTour('1 Odd Lane');
    await db.knex('transcripts').insert({
      tour_id: odd.tourId,
      segments: JSON.stringify([{ start_ms: 'soon', end_ms: null, text: 'The attic ladder squeaks' }, 'attic', { start_ms: 1_000 }, { start_ms: 2_000.6, end_ms: 3_000, text: 'Attic storage' }]),
    });
    const { items } = await tourSearchRepository(db.knex).search({ buyerId: odd.buyerId }, await parse('attic'), {}, page);
    expect(items.map((h) => [h.segment_index, h.timestamp_ms])).toEqual(expect.arrayContaining([[0, null], [3, 2_001]]));
    expect(items).toHaveLength(2);
  });

  it('when all tours are searched with sequential scans off, then the GIN index of each source answers', async () => {
    const captured: Array<{ sql: string; bindings: unknown[] }> = [];
    const onQuery = (q: { sql: string; bindings: unknown[] }) => captured.push(q);
    db.knex.on('query', onQuery);
    try {
      await tourSearchRepository(db.knex).search({}, await parse('renovated kitchen'), {}, page);
    } finally {
      db.knex.off('query', onQuery);
    }
    const search = captured.find((q) => q.sql.includes('ts_headline'));
    expect(search).toBeDefined();
    const plan = await db.knex.transaction(async (trx: Knex.Transaction) => {
      // As autovacuum would have it; then with the whole-table ways in (sequential scans, and
      // plain index scans that walk a whole b-tree) ruled out, only an index search remains.
      await trx.raw('ANALYZE transcripts, highlights, tour_notes, tours');
      await trx.raw('SET LOCAL enable_seqscan = off');
      await trx.raw('SET LOCAL enable_indexscan = off');
      const { rows } = await trx.raw(`EXPLAIN ${search!.sql.replace(/\$\d+/g, '?')}`, search!.bindings as Knex.RawBinding[]);
      return (rows as Array<{ 'QUERY PLAN': string }>).map((r) => r['QUERY PLAN']).join('\n');
    });
    for (const index of ['idx_transcripts_search', 'idx_highlights_search', 'idx_tour_notes_search']) expect(plan).toContain(index);
  });
});
