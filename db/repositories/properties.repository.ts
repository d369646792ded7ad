import type { Knex } from 'knex';
import { createHash } from 'node:crypto';
import { IMAGE_STATUS, type ImageStatus } from '../../contracts/images';
import { TOUR_CANCELLABLE } from '../../contracts/tours';

/** The listing standard's StandardStatus values, in lower snake case (also a CHECK in the database). */
export const PROPERTY_STATUSES = ['active', 'coming_soon', 'pending', 'active_under_contract', 'closed', 'withdrawn', 'expired'] as const;
export type PropertyStatus = (typeof PROPERTY_STATUSES)[number];
/** Statuses a buyer may browse and book. */
export const AVAILABLE_STATUSES = ['active', 'coming_soon'] as const satisfies readonly PropertyStatus[];
export const PROPERTY_TYPES = ['single_family', 'condominium', 'townhouse', 'multi_family', 'manufactured', 'land', 'other'] as const;
export const PROPERTY_SORTS = ['price', '-price', 'newest', 'sqft'] as const;
export type PropertySort = (typeof PROPERTY_SORTS)[number];

/** A `properties` row without its generated search vector. Numeric columns stay strings, as pg returns them. */
export interface PropertyRecord {
  id: number;
  realtor_id: number;
  address: string;
  mls_id: string | null;
  description: string | null;
  price: string | null;
  bedrooms: number | null;
  bathrooms: number | null;
  sqft: number | null;
  status: PropertyStatus;
  city: string | null;
  state: string | null;
  postal_code: string | null;
  property_type: string | null;
  latitude: string | null;
  longitude: string | null;
  deleted_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface PropertyImageRecord {
  id: number;
  property_id: number;
  original_key: string;
  processed_key: string | null;
  thumbnail_key: string | null;
  status: ImageStatus;
  failure_reason: string | null;
  content_type: string | null;
  byte_size: number | null;
  width: number | null;
  height: number | null;
  processed_width: number | null;
  processed_height: number | null;
  thumbnail_width: number | null;
  thumbnail_height: number | null;
  position: number;
  created_at: Date;
  updated_at: Date;
}

/** What a listing shows of an image. */
export type ListedImage = Pick<
  PropertyImageRecord,
  'id' | 'status' | 'position' | 'processed_key' | 'thumbnail_key' | 'processed_width' | 'processed_height' | 'thumbnail_width' | 'thumbnail_height' | 'failure_reason' | 'created_at'
>;

/** A property as listed: its row, its realtor's name and its images in display order. */
export interface PropertyListing extends PropertyRecord {
  realtor: { id: number; full_name: string };
  images: ListedImage[];
}

/** Who may see what: undeleted rows always; then one realtor's, or some statuses only. */
export interface PropertyScope {
  realtorId?: number;
  statuses?: readonly PropertyStatus[];
}

export interface PropertySearch {
  q?: string;
  min_price?: number;
  max_price?: number;
  min_bedrooms?: number;
  min_bathrooms?: number;
  city?: string;
  postal_code?: string;
  property_type?: string;
  status?: PropertyStatus;
  realtor_id?: number;
  sort?: PropertySort;
  page: number;
  per_page: number;
}

export type NewProperty = Omit<PropertyRecord, 'id' | 'deleted_at' | 'created_at' | 'updated_at' | 'status'> & { status?: PropertyStatus };
export type NewPropertyImage = Pick<PropertyImageRecord, 'property_id' | 'original_key' | 'status' | 'content_type' | 'byte_size' | 'width' | 'height' | 'position'>;

const COLUMNS = [
  'id', 'realtor_id', 'address', 'mls_id', 'description', 'price', 'bedrooms', 'bathrooms', 'sqft', 'status',
  'city', 'state', 'postal_code', 'property_type', 'latitude', 'longitude', 'deleted_at', 'created_at', 'updated_at',
].map((c) => `properties.${c}`);

/** Ties are broken by id, so a page boundary never shows one row twice or skips one. */
const ORDER: Record<PropertySort, string> = {
  price: 'properties.price ASC NULLS LAST, properties.id ASC',
  '-price': 'properties.price DESC NULLS LAST, properties.id DESC',
  sqft: 'properties.sqft ASC NULLS LAST, properties.id ASC',
  newest: 'properties.created_at DESC, properties.id DESC',
};

/**
 * A timestamp as milliseconds since the epoch, rounded down as pg's own timestamptz parser
 * rounds (so `new Date(ms)` is the Date a plain row would give), without parsing text.
 */
const epochMs = (column: string) => `floor(extract(epoch FROM ${column}) * 1000)`;

/**
 * A listing as one JSON object built by Postgres in the shape of PropertyListing: the row,
 * its realtor and its images in display order. Numeric columns go as text (as pg returns
 * them) and timestamps as epoch milliseconds, turned into Dates in place by toListing.
 */
const listingJson = (readyImagesOnly: boolean) => `json_build_object(
  'id', properties.id, 'realtor_id', properties.realtor_id, 'address', properties.address,
  'mls_id', properties.mls_id, 'description', properties.description, 'price', properties.price::text,
  'bedrooms', properties.bedrooms, 'bathrooms', properties.bathrooms, 'sqft', properties.sqft,
  'status', properties.status, 'city', properties.city, 'state', properties.state,
  'postal_code', properties.postal_code, 'property_type', properties.property_type,
  'latitude', properties.latitude::text, 'longitude', properties.longitude::text,
  'deleted_at', ${epochMs('properties.deleted_at')}, 'created_at', ${epochMs('properties.created_at')},
  'updated_at', ${epochMs('properties.updated_at')},
  'realtor', json_build_object('id', properties.realtor_id, 'full_name', coalesce(users.full_name, '')),
  'images', coalesce((
    SELECT json_agg(json_build_object(
      'id', i.id, 'status', i.status, 'position', i.position,
      'processed_key', i.processed_key, 'thumbnail_key', i.thumbnail_key,
      'processed_width', i.processed_width, 'processed_height', i.processed_height,
      'thumbnail_width', i.thumbnail_width, 'thumbnail_height', i.thumbnail_height,
      'failure_reason', i.failure_reason, 'created_at', ${epochMs('i.created_at')}) ORDER BY i.position, i.id)
    FROM property_images i WHERE i.property_id = properties.id${readyImagesOnly ? ` AND i.status = 'ready'` : ''}), '[]'::json))`;

/** What Postgres sends: a PropertyListing with epoch milliseconds where it has Dates. */
type Epoch<T, K extends keyof T> = Omit<T, K> & { [P in K]: null extends T[P] ? number | null : number };
type ListingJson = Epoch<PropertyRecord, 'created_at' | 'updated_at' | 'deleted_at'> & {
  realtor: PropertyListing['realtor'];
  images: Array<Epoch<ListedImage, 'created_at'>>;
};

/** The parsed JSON is this call's own: its timestamps become Dates in place, nothing is copied. */
function toListing(row: ListingJson): PropertyListing {
  const listing = row as unknown as PropertyListing;
  listing.created_at = new Date(row.created_at);
  listing.updated_at = new Date(row.updated_at);
  listing.deleted_at = row.deleted_at === null ? null : new Date(row.deleted_at);
  for (const image of row.images) (image as unknown as ListedImage).created_at = new Date(image.created_at);
  return listing;
}

/** A WHERE clause with `?` placeholders and its values, in order. */
interface Where {
  sql: string;
  values: Knex.RawBinding[];
}

function statusLiteral(status: PropertyStatus): string {
  if (!(PROPERTY_STATUSES as readonly string[]).includes(status)) throw new Error(`Unknown property status: ${JSON.stringify(status)}`);
  return `'${status}'`;
}

/** Scope, then filters: the same conditions in the same order for every shape of search. */
function whereOf(scope: PropertyScope, f: Partial<PropertySearch>): Where {
  const sql = ['properties.deleted_at IS NULL'];
  const values: Knex.RawBinding[] = [];
  const add = (condition: string, ...v: Knex.RawBinding[]) => {
    sql.push(condition);
    values.push(...v);
  };
  if (scope.realtorId !== undefined) add('properties.realtor_id = ?', scope.realtorId);
  // The scope's statuses are written into the text, not bound: they come from the policy's
  // constants, and only a literal list lets a prepared statement's generic plan prove the
  // partial indexes' `status IN ('active', 'coming_soon')` and use them.
  if (scope.statuses) add(`properties.status IN (${scope.statuses.map(statusLiteral).join(', ')})`);
  if (f.q) add(`properties.search @@ websearch_to_tsquery('english', ?)`, f.q);
  if (f.min_price !== undefined) add('properties.price >= ?', f.min_price);
  if (f.max_price !== undefined) add('properties.price <= ?', f.max_price);
  if (f.min_bedrooms !== undefined) add('properties.bedrooms >= ?', f.min_bedrooms);
  if (f.min_bathrooms !== undefined) add('properties.bathrooms >= ?', f.min_bathrooms);
  if (f.city) add('lower(properties.city) = lower(?)', f.city);
  if (f.postal_code) add('properties.postal_code = ?', f.postal_code);
  if (f.property_type) add('properties.property_type = ?', f.property_type);
  if (f.status) add('properties.status = ?', f.status);
  if (f.realtor_id) add('properties.realtor_id = ?', f.realtor_id);
  return { sql: sql.join(' AND '), values };
}

/**
 * The search statement for one shape of query (which filters are set, which sort, which
 * images). One round trip answers the page and the total:
 *
 * - `page` takes the page's rows in index order and stops after them (LIMIT/OFFSET);
 * - its listings, realtor names and images are built as JSON for those rows only;
 * - the total is a plain `count(*)` over the filter, from the partial index that fits it,
 *   without reading every matching row into a sort or a window as `count(*) OVER ()` must
 *   (an index-only scan where the index holds every column the filter uses). It runs only
 *   when the page cannot tell it: a short page that is not past the end already says the
 *   total is offset + rows (`CASE` evaluates its subqueries lazily, so the count then costs
 *   nothing).
 *
 * Its result is always one row of (bigint, json), whatever the tables look like, so a
 * prepared copy of it never goes stale.
 */
function searchStatement(where: string, order: string, readyImagesOnly: boolean): string {
  return `WITH page AS MATERIALIZED (
  SELECT ${COLUMNS.join(', ')} FROM properties WHERE ${where} ORDER BY ${order} LIMIT ? OFFSET ?
)
SELECT
  CASE WHEN (SELECT count(*) FROM page) < ?::bigint AND ((SELECT count(*) FROM page) > 0 OR ?::bigint = 0)
    THEN ?::bigint + (SELECT count(*) FROM page)
    ELSE (SELECT count(*) FROM properties WHERE ${where})
  END AS total,
  coalesce((
    SELECT json_agg(${listingJson(readyImagesOnly)} ORDER BY ${order})
    FROM page properties LEFT JOIN users ON users.id = properties.realtor_id
  ), '[]'::json) AS items`;
}

/**
 * Statement texts by shape, each with the name it is prepared under: Postgres parses and
 * plans a named statement once per connection (and, when its generic plan is as good as
 * one planned with the values, never again) instead of on every search; the text is
 * built once per shape. The shapes a client can ask for are finitely many (filters set or
 * not, four sorts) but still thousands, each costing backend memory on every pooled
 * connection, so only the first MAX_PREPARED shapes seen are kept and named; rarer ones
 * are built each time and run unnamed, as plain queries are.
 *
 * Named statements need a session per connection (a direct connection, or a pooler in
 * session mode); a transaction-mode pooler would need them turned off.
 */
const MAX_PREPARED = 64;
const statements = new Map<string, { text: string; name: string }>();

function statement(shape: string, build: () => string): { text: string; name?: string } {
  const known = statements.get(shape);
  if (known) return known;
  const text = build();
  if (statements.size >= MAX_PREPARED) return { text };
  const made = { text, name: `rfy_listing_${createHash('sha256').update(text).digest('hex').slice(0, 16)}` };
  statements.set(shape, made);
  return made;
}

/** A raw statement with `?` placeholders, run as a named prepared statement when it has a name. */
function run(db: Knex | Knex.Transaction, s: { text: string; name?: string }, values: readonly Knex.RawBinding[]) {
  const query = db.raw(s.text, values);
  return s.name ? query.options({ name: s.name }) : query;
}

/** The `properties` aggregate: listings and their images. Takes the knex instance or the caller's transaction. */
export function propertiesRepository(db: Knex | Knex.Transaction) {
  return {
    /**
     * One page of matches and the number of all matches, in one statement (see
     * searchStatement). The total is exact, which `total_pages` needs; an estimate would be
     * cheaper on huge result sets but wrong on small ones.
     */
    async search(scope: PropertyScope, f: PropertySearch, opts: { readyImagesOnly: boolean }): Promise<{ items: PropertyListing[]; total: number }> {
      const order = ORDER[f.sort ?? 'newest'];
      const where = whereOf(scope, f);
      const offset = (f.page - 1) * f.per_page;
      const readyOnly = opts.readyImagesOnly;
      const stmt = statement(`search|${where.sql}|${order}|${readyOnly}`, () => searchStatement(where.sql, order, readyOnly));
      const values = [...where.values, f.per_page, offset, f.per_page, offset, offset, ...where.values];
      const { rows } = (await run(db, stmt, values)) as { rows: Array<{ total: number; items: ListingJson[] }> };
      const { total, items } = rows[0]!;
      return { items: items.map(toListing), total: Number(total) };
    },

    async findListing(scope: PropertyScope, id: number, opts: { readyImagesOnly: boolean }): Promise<PropertyListing | undefined> {
      const where = whereOf(scope, {});
      const readyOnly = opts.readyImagesOnly;
      const stmt = statement(`listing|${where.sql}|${readyOnly}`, () => `SELECT ${listingJson(readyOnly)} AS item
FROM properties LEFT JOIN users ON users.id = properties.realtor_id
WHERE ${where.sql} AND properties.id = ?`);
      const { rows } = (await run(db, stmt, [...where.values, id])) as { rows: Array<{ item: ListingJson }> };
      return rows[0] && toListing(rows[0].item);
    },

    async find(scope: PropertyScope, id: number): Promise<PropertyRecord | undefined> {
      const where = whereOf(scope, {});
      return (await db('properties').select(COLUMNS).whereRaw(where.sql, where.values).where('properties.id', id).first()) as PropertyRecord | undefined;
    },

    /** Serialises writers of one listing (image positions, deletion checks). */
    async lock(id: number): Promise<void> {
      await db.raw('SELECT id FROM properties WHERE id = ? FOR UPDATE', [id]);
    },

    async insert(row: NewProperty): Promise<number> {
      const [inserted] = await db('properties').insert(row).returning('id');
      return Number((inserted as { id: number }).id);
    },

    async patch(id: number, patch: Partial<NewProperty>): Promise<void> {
      await db('properties').where({ id }).update(patch);
    },

    /** Hidden but kept, for the bookings that refer to it. */
    async softDelete(id: number): Promise<void> {
      await db('properties').where({ id }).update({ deleted_at: new Date() });
    },

    async delete(id: number): Promise<void> {
      await db('property_images').where({ property_id: id }).delete();
      await db('properties').where({ id }).delete();
    },

    /** Confirmed future bookings plus scheduled or running tours: a listing with any stays. */
    async upcomingTourCount(id: number, now: Date): Promise<number> {
      const [bookings] = await db('bookings').where({ property_id: id, status: 'confirmed' }).where('scheduled_at', '>', now).count<Array<{ count: string }>>('* as count');
      const [tours] = await db('tours').where({ property_id: id }).whereIn('status', TOUR_CANCELLABLE).count<Array<{ count: string }>>('* as count');
      return Number(bookings!.count) + Number(tours!.count);
    },

    async hasBookings(id: number): Promise<boolean> {
      return Boolean(await db('bookings').where({ property_id: id }).first('id'));
    },

    images: {
      async of(propertyId: number, opts: { forUpdate?: boolean } = {}): Promise<PropertyImageRecord[]> {
        const q = db('property_images').where({ property_id: propertyId }).orderBy([{ column: 'position' }, { column: 'id' }]);
        if (opts.forUpdate) q.forUpdate();
        return (await q) as PropertyImageRecord[];
      },

      async find(propertyId: number, imageId: number): Promise<PropertyImageRecord | undefined> {
        return (await db('property_images').where({ id: imageId, property_id: propertyId }).first()) as PropertyImageRecord | undefined;
      },

      async nextPosition(propertyId: number): Promise<number> {
        const [max] = await db('property_images').where({ property_id: propertyId }).max<Array<{ max: number | null }>>('position as max');
        return (max?.max ?? -1) + 1;
      },

      async insert(row: NewPropertyImage): Promise<PropertyImageRecord> {
        const [inserted] = await db('property_images').insert(row).returning('*');
        return inserted as PropertyImageRecord;
      },

      async setPosition(imageId: number, position: number): Promise<void> {
        await db('property_images').where({ id: imageId }).update({ position });
      },

      async delete(imageIds: number[]): Promise<void> {
        if (imageIds.length) await db('property_images').whereIn('id', imageIds).delete();
      },

      /** An image by id alone (the processing pipeline knows no property); locked with `forUpdate` inside a transaction. */
      async byId(imageId: number, opts: { forUpdate?: boolean } = {}): Promise<PropertyImageRecord | undefined> {
        const q = db('property_images').where({ id: imageId });
        if (opts.forUpdate) q.forUpdate();
        return (await q.first()) as PropertyImageRecord | undefined;
      },

      /** Moves the image from `from` to `to`, only if it is still in `from`; true when it moved. */
      async moveStatus(imageId: number, from: ImageStatus, to: ImageStatus): Promise<boolean> {
        return (await db('property_images').where({ id: imageId, status: from }).update({ status: to })) > 0;
      },

      async markReady(imageId: number, r: { processedKey: string; thumbnailKey: string; width: number; height: number; thumbnailWidth: number; thumbnailHeight: number }): Promise<void> {
        await db('property_images').where({ id: imageId }).update({
          status: IMAGE_STATUS.ready,
          processed_key: r.processedKey,
          thumbnail_key: r.thumbnailKey,
          processed_width: r.width,
          processed_height: r.height,
          thumbnail_width: r.thumbnailWidth,
          thumbnail_height: r.thumbnailHeight,
          failure_reason: null,
        });
      },

      async markFailed(imageId: number, reason: string): Promise<void> {
        await db('property_images').where({ id: imageId }).update({ status: IMAGE_STATUS.failed, failure_reason: reason.slice(0, 2000) });
      },
    },
  };
}

export type PropertiesRepository = ReturnType<typeof propertiesRepository>;
