import type { Knex } from 'knex';
import type { Page, PageRequest } from './page';
import type { TourScope } from './tours.repository';

/**
 * Full-text search over what was said and written in tours: transcript segments (each
 * with its start time), highlights and notes, within the tours a scope may see. Read-only:
 * the rows searched have their own writers; the GIN indexes of migration
 * 20261202030000_share_links_and_tour_search are on exactly the expressions written here.
 */

export const TOUR_SEARCH_KINDS = ['transcript', 'highlight', 'note'] as const;
export type TourSearchKind = (typeof TOUR_SEARCH_KINDS)[number];

/** The text search configuration of the indexes; a query in another one would not use them. */
const CONFIG = 'english';

/** Where a match is marked in a snippet; the snippet's other text is HTML-escaped. */
export const SNIPPET_MARK = { start: '<mark>', stop: '</mark>' } as const;
const HEADLINE_OPTIONS = `StartSel=${SNIPPET_MARK.start}, StopSel=${SNIPPET_MARK.stop}, MaxWords=35, MinWords=12, ShortWord=2, MaxFragments=2, FragmentDelimiter=" … "`;

/** A search as PostgreSQL reads it: the whole query, and the part an index can answer. */
export interface ParsedSearch {
  /** websearch_to_tsquery's result, as tsquery text. */
  query: string;
  /** Its indexable part (negations removed, see querytree), phrases loosened to all their words; null when it has none. */
  indexable: string | null;
}

export interface TourSearchHit {
  kind: TourSearchKind;
  tour_id: number;
  /** Position of the segment in the transcript (transcript matches). */
  segment_index: number | null;
  /** The highlight's or note's id. */
  item_id: number | null;
  /** Milliseconds from the tour's start: a segment's start, a highlight's or note's time. */
  timestamp_ms: number | null;
  /** A segment's end. */
  end_ms: number | null;
  speaker: string | null;
  /** The whole matched text (a segment, a highlight's note, a note's content). */
  text: string;
  /** The text around the match, HTML-escaped, with each matched word in SNIPPET_MARK. */
  snippet: string;
  rank: number;
  tour: { id: number; property_id: number; property_address: string; scheduled_at: Date; status: string };
}

export interface TourSearchFilter {
  kind?: TourSearchKind;
}

const escapeHtml = (expr: string) => `replace(replace(replace(${expr}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')`;
/** A jsonb number member as a whole number, or null when it is something else. */
const jsonMs = (member: string) => `CASE WHEN jsonb_typeof(s.seg -> '${member}') = 'number' THEN round((s.seg ->> '${member}')::numeric)::bigint END`;
/** Best first, then the latest tour, then time in the tour; the last keys make the order total (stable pages). */
const order = (p = '') => `${p}rank DESC, ${p}tour_id DESC, ${p}timestamp_ms ASC NULLS LAST, ${p}kind, coalesce(${p}segment_index, ${p}item_id)`;

export function tourSearchRepository(db: Knex | Knex.Transaction) {
  const scopeSql = (scope: TourScope): { sql: string; bindings: number[] } => {
    const parts: string[] = [];
    const bindings: number[] = [];
    if (scope.buyerId !== undefined) {
      parts.push('t.buyer_id = ?');
      bindings.push(scope.buyerId);
    }
    if (scope.realtorId !== undefined) {
      parts.push('t.realtor_id = ?');
      bindings.push(scope.realtorId);
    }
    return { sql: parts.length ? parts.join(' AND ') : 'TRUE', bindings };
  };

  /** The matching rows (no order, no page) as one UNION ALL, with its bindings. */
  const matches = (scope: TourScope, parsed: ParsedSearch, filter: TourSearchFilter): { sql: string; bindings: Knex.RawBinding[] } => {
    const where = scopeSql(scope);
    const branches: Array<{ sql: string; bindings: Knex.RawBinding[] }> = [];
    const wanted = (kind: TourSearchKind) => !filter.kind || filter.kind === kind;
    if (wanted('transcript')) {
      // The index finds the transcripts that can match (by the query's indexable part, so a
      // negation that one segment breaks does not hide the segments that keep it); each
      // segment is then matched on its own, so its time is the one reported.
      const prefilter = parsed.indexable === null ? 'TRUE' : `jsonb_to_tsvector('${CONFIG}', coalesce(tr.segments, '[]'::jsonb), '["string"]') @@ ?::tsquery`;
      branches.push({
        sql: `SELECT 'transcript'::text AS kind, tr.tour_id, (s.idx - 1)::int AS segment_index, NULL::bigint AS item_id,
                     ${jsonMs('start_ms')} AS timestamp_ms, ${jsonMs('end_ms')} AS end_ms,
                     CASE WHEN jsonb_typeof(s.seg -> 'speaker') = 'string' THEN s.seg ->> 'speaker' END AS speaker,
                     s.seg ->> 'text' AS body
                FROM transcripts tr
                JOIN tours t ON t.id = tr.tour_id
               CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(tr.segments) = 'array' THEN tr.segments ELSE '[]'::jsonb END) WITH ORDINALITY AS s(seg, idx)
               WHERE ${where.sql} AND ${prefilter}
                 AND jsonb_typeof(s.seg -> 'text') = 'string'
                 AND to_tsvector('${CONFIG}', s.seg ->> 'text') @@ ?::tsquery`,
        bindings: [...where.bindings, ...(parsed.indexable === null ? [] : [parsed.indexable]), parsed.query],
      });
    }
    if (wanted('highlight')) {
      branches.push({
        sql: `SELECT 'highlight'::text AS kind, h.tour_id, NULL::int AS segment_index, h.id AS item_id, h.timestamp_ms, NULL::bigint AS end_ms, NULL::text AS speaker, h.note AS body
                FROM highlights h
                JOIN tours t ON t.id = h.tour_id
               WHERE ${where.sql} AND to_tsvector('${CONFIG}', coalesce(h.note, '')) @@ ?::tsquery`,
        bindings: [...where.bindings, parsed.query],
      });
    }
    if (wanted('note')) {
      branches.push({
        sql: `SELECT 'note'::text AS kind, n.tour_id, NULL::int AS segment_index, n.id AS item_id, n.timestamp_ms, NULL::bigint AS end_ms, NULL::text AS speaker, n.content AS body
                FROM tour_notes n
                JOIN tours t ON t.id = n.tour_id
               WHERE ${where.sql} AND to_tsvector('${CONFIG}', n.content) @@ ?::tsquery`,
        bindings: [...where.bindings, parsed.query],
      });
    }
    return { sql: branches.map((b) => b.sql).join('\nUNION ALL\n'), bindings: branches.flatMap((b) => b.bindings) };
  };

  return {
    /**
     * A search as the user typed it (quotes for phrases, `or`, `-` to exclude), read by
     * websearch_to_tsquery, which never fails on syntax; null when it has no searchable
     * words (only stop words or punctuation).
     */
    async parse(text: string): Promise<ParsedSearch | null> {
      // The transcript index holds a whole transcript in one tsvector, whose word positions
      // stop counting at 16383: a phrase late in a long tour would not be found there. So the
      // index is asked for the phrase's words (every `<->`/`<N>` read as `&`), and the phrase
      // itself is matched in each segment, where positions are exact. Lexemes never hold `<`.
      const { rows } = await db.raw(
        `SELECT q::text AS query, querytree(q) AS tree, regexp_replace(querytree(q), '<(-|[0-9]+)>', '&', 'g') AS relaxed, numnode(q) AS nodes
           FROM websearch_to_tsquery('${CONFIG}', ?) AS q`,
        [text],
      );
      const row = rows[0] as { query: string; tree: string; relaxed: string; nodes: number };
      if (!row || Number(row.nodes) === 0) return null;
      return { query: row.query, indexable: row.tree === '' || row.tree === 'T' ? null : row.relaxed };
    },

    /** A page of matches, best first (then the latest tour, then time in the tour), and the count of all. */
    async search(scope: TourScope, parsed: ParsedSearch, filter: TourSearchFilter, { page, per_page }: PageRequest): Promise<Page<TourSearchHit>> {
      const m = matches(scope, parsed, filter);
      const { rows } = await db.raw(
        `WITH matches AS (${m.sql}),
              ranked AS (
                SELECT kind, tour_id, segment_index, item_id, timestamp_ms, end_ms, speaker, body,
                       ts_rank_cd(to_tsvector('${CONFIG}', body), ?::tsquery) AS rank, count(*) OVER () AS total
                  FROM matches
                 ORDER BY ${order()}
                 LIMIT ? OFFSET ?
              )
         SELECT r.*, ts_headline('${CONFIG}', ${escapeHtml('r.body')}, ?::tsquery, '${HEADLINE_OPTIONS}') AS snippet,
                t.property_id, t.scheduled_at, t.status AS tour_status, COALESCE(p.address, '') AS property_address
           FROM ranked r
           JOIN tours t ON t.id = r.tour_id
           LEFT JOIN properties p ON p.id = t.property_id
          ORDER BY ${order('r.')}`,
        [...m.bindings, parsed.query, per_page, (page - 1) * per_page, parsed.query],
      );
      let total = rows.length ? Number(rows[0].total) : 0;
      // Past the last page the window count has no row to ride on.
      if (!rows.length && page > 1) {
        const counted = await db.raw(`SELECT count(*) AS n FROM (${m.sql}) AS matches`, m.bindings);
        total = Number(counted.rows[0].n);
      }
      return {
        total,
        items: (rows as Array<Record<string, unknown>>).map((r) => ({
          kind: r.kind as TourSearchKind,
          tour_id: Number(r.tour_id),
          segment_index: r.segment_index === null ? null : Number(r.segment_index),
          item_id: r.item_id === null ? null : Number(r.item_id),
          timestamp_ms: r.timestamp_ms === null ? null : Number(r.timestamp_ms),
          end_ms: r.end_ms === null ? null : Number(r.end_ms),
          speaker: (r.speaker as string | null) ?? null,
          text: String(r.body ?? ''),
          snippet: String(r.snippet ?? ''),
          rank: Number(r.rank),
          tour: {
            id: Number(r.tour_id),
            property_id: Number(r.property_id),
            property_address: String(r.property_address),
            scheduled_at: r.scheduled_at as Date,
            status: String(r.tour_status),
          },
        })),
      };
    },
  };
}

export type TourSearchRepository = ReturnType<typeof tourSearchRepository>;
