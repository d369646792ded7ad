import type { Knex } from 'knex';
import type { ShareLinkPart } from '../../contracts/share-links';
import { pageOf, type Page, type PageRequest } from './page';

/**
 * Share links of tour recaps: plain records, shared by the share-links API. Tokens never
 * reach this module, only their digests. Takes the knex instance or the caller's transaction.
 */

export interface ShareLinkRecord {
  id: number;
  tour_id: number;
  created_by: number;
  /** The role of whoever made the link (realtor or buyer), for the owners' list. */
  created_by_role: string;
  include: ShareLinkPart[];
  label: string | null;
  expires_at: Date;
  revoked_at: Date | null;
  revoked_by: number | null;
  view_count: number;
  last_viewed_at: Date | null;
  created_at: Date;
}

export interface NewShareLink {
  tour_id: number;
  created_by: number;
  token_hash: string;
  include: ShareLinkPart[];
  label: string | null;
  created_at: Date;
  expires_at: Date;
}

const COLUMNS = ['s.id', 's.tour_id', 's.created_by', 'u.role as created_by_role', 's.include', 's.label', 's.expires_at', 's.revoked_at', 's.revoked_by', 's.view_count', 's.last_viewed_at', 's.created_at'];

function record(row: Record<string, unknown> | undefined): ShareLinkRecord | undefined {
  if (!row) return undefined;
  return {
    ...(row as unknown as ShareLinkRecord),
    id: Number(row.id),
    tour_id: Number(row.tour_id),
    created_by: Number(row.created_by),
    revoked_by: row.revoked_by === null || row.revoked_by === undefined ? null : Number(row.revoked_by),
    view_count: Number(row.view_count),
  };
}

export function shareLinksRepository(db: Knex | Knex.Transaction) {
  const withCreator = () => db('share_links as s').join('users as u', 'u.id', 's.created_by');

  /** One link of one tour; undefined when the tour has no such link. */
  const find = async (tourId: number, id: number): Promise<ShareLinkRecord | undefined> =>
    record(await withCreator().where({ 's.tour_id': tourId, 's.id': id }).first(COLUMNS));

  return {
    find,

    async create(link: NewShareLink): Promise<ShareLinkRecord> {
      const [row] = await db('share_links').insert(link).returning('id');
      return (await find(link.tour_id, Number((row as { id: number | string }).id)))!;
    },

    /** The tour's links, newest first, revoked and expired ones included. */
    async list(tourId: number, page: PageRequest): Promise<Page<ShareLinkRecord>> {
      const { items, total } = await pageOf<Record<string, unknown>>(
        withCreator().where('s.tour_id', tourId),
        (q) => q.select(COLUMNS).orderBy([{ column: 's.created_at', order: 'desc' }, { column: 's.id', order: 'desc' }]),
        page,
      );
      return { items: items.map((r) => record(r)!), total };
    },

    /** Revokes a link that is not revoked yet; false when it already was. */
    async revoke(id: number, by: number): Promise<boolean> {
      return (await db('share_links').where({ id }).whereNull('revoked_at').update({ revoked_at: db.fn.now(), revoked_by: by })) > 0;
    },

    /**
     * Counts a view of the live link with this token digest and returns it; undefined when no
     * link has that digest, or it is revoked or expired. One statement finds, checks and
     * counts, so a link revoked a moment ago is never shown and every view is counted once;
     * every refusal takes the same path (one index lookup).
     */
    async view(tokenHash: string): Promise<ShareLinkRecord | undefined> {
      const rows: Array<Record<string, unknown>> = await db('share_links')
        .where({ token_hash: tokenHash })
        .whereNull('revoked_at')
        .where('expires_at', '>', db.fn.now())
        .update({ view_count: db.raw('view_count + 1'), last_viewed_at: db.fn.now() })
        .returning(['id', 'tour_id']);
      const row = rows[0];
      return row ? find(Number(row.tour_id), Number(row.id)) : undefined;
    },
  };
}

export type ShareLinksRepository = ReturnType<typeof shareLinksRepository>;
