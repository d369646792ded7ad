import type { Knex } from 'knex';
import pg from 'pg';
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
 * An image as a JSON object built by Postgres. created_at goes as text and is read back
 * with pg's own timestamptz parser, so it is the same Date a plain row would give.
 */
const imageJson = (alias: string) => `json_build_object(
  'id', ${alias}.id, 'status', ${alias}.status, 'position', ${alias}.position,
  'processed_key', ${alias}.processed_key, 'thumbnail_key', ${alias}.thumbnail_key,
  'processed_width', ${alias}.processed_width, 'processed_height', ${alias}.processed_height,
  'thumbnail_width', ${alias}.thumbnail_width, 'thumbnail_height', ${alias}.thumbnail_height,
  'failure_reason', ${alias}.failure_reason, 'created_at', ${alias}.created_at::text)`;
const parseTimestamptz = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ) as (text: string) => Date;

type ListingRow = PropertyRecord & { realtor_full_name: string | null; images: Array<Omit<ListedImage, 'created_at'> & { created_at: string }>; total_count?: number };

function toListing(row: ListingRow): PropertyListing {
  const { realtor_full_name, images, total_count: _total, ...property } = row;
  return {
    ...property,
    realtor: { id: property.realtor_id, full_name: realtor_full_name ?? '' },
    images: images.map((i) => ({ ...i, created_at: parseTimestamptz(i.created_at) })),
  };
}

function applyScope(query: Knex.QueryBuilder, scope: PropertyScope): Knex.QueryBuilder {
  query.whereNull('properties.deleted_at');
  if (scope.realtorId !== undefined) query.where('properties.realtor_id', scope.realtorId);
  if (scope.statuses) query.whereIn('properties.status', scope.statuses);
  return query;
}

function applyFilters(query: Knex.QueryBuilder, f: Partial<PropertySearch>): Knex.QueryBuilder {
  if (f.q) query.whereRaw(`properties.search @@ websearch_to_tsquery('english', ?)`, [f.q]);
  if (f.min_price !== undefined) query.where('properties.price', '>=', f.min_price);
  if (f.max_price !== undefined) query.where('properties.price', '<=', f.max_price);
  if (f.min_bedrooms !== undefined) query.where('properties.bedrooms', '>=', f.min_bedrooms);
  if (f.min_bathrooms !== undefined) query.where('properties.bathrooms', '>=', f.min_bathrooms);
  if (f.city) query.whereRaw('lower(properties.city) = lower(?)', [f.city]);
  if (f.postal_code) query.where('properties.postal_code', f.postal_code);
  if (f.property_type) query.where('properties.property_type', f.property_type);
  if (f.status) query.where('properties.status', f.status);
  if (f.realtor_id) query.where('properties.realtor_id', f.realtor_id);
  return query;
}

/** The `properties` aggregate: listings and their images. Takes the knex instance or the caller's transaction. */
export function propertiesRepository(db: Knex | Knex.Transaction) {
  /**
   * Properties whose ids `hits` selects, each with its realtor's name and its images
   * (ready ones only, or all) in one statement: the images are aggregated per property
   * by a lateral subquery, so the page costs one round trip however many rows it has.
   */
  const listings = (hits: Knex.QueryBuilder, order: string, readyImagesOnly: boolean) =>
    db
      .with('hits', hits)
      .select([...COLUMNS, 'users.full_name as realtor_full_name', 'hits.total_count'])
      .select(db.raw(`coalesce(img.images, '[]'::json) AS images`))
      .from('hits')
      .join('properties', 'properties.id', 'hits.id')
      .leftJoin('users', 'users.id', 'properties.realtor_id')
      .joinRaw(
        `LEFT JOIN LATERAL (SELECT json_agg(${imageJson('i')} ORDER BY i.position, i.id) AS images
           FROM property_images i WHERE i.property_id = properties.id${readyImagesOnly ? ` AND i.status = 'ready'` : ''}) img ON true`,
      )
      .orderByRaw(order) as unknown as Promise<ListingRow[]>;

  return {
    /**
     * One page of matches and the number of all matches, in one statement. The count is
     * `count(*) OVER ()` over the ids of the matches: Postgres reads the matches once (in
     * index order where an index fits the sort) for both the page and the total, where the
     * naive search reads them twice (page, then a separate count). It stays exact, which
     * `total_pages` needs; an estimate would be cheaper on huge result sets but wrong on
     * small ones. Only a page past the end, which returns no row to carry the total,
     * costs a second statement.
     */
    async search(scope: PropertyScope, f: PropertySearch, opts: { readyImagesOnly: boolean }): Promise<{ items: PropertyListing[]; total: number }> {
      const order = ORDER[f.sort ?? 'newest'];
      const matches = () => applyFilters(applyScope(db('properties'), scope), f);
      const hits = matches()
        .select('properties.id', db.raw('count(*) OVER () AS total_count'))
        .orderByRaw(order)
        .limit(f.per_page)
        .offset((f.page - 1) * f.per_page);
      const rows = await listings(hits, order, opts.readyImagesOnly);
      if (rows.length) return { items: rows.map(toListing), total: Number(rows[0]!.total_count) };
      if (f.page === 1) return { items: [], total: 0 };
      const [counted] = await matches().count<Array<{ count: string | number }>>('* as count');
      return { items: [], total: Number(counted!.count) };
    },

    async findListing(scope: PropertyScope, id: number, opts: { readyImagesOnly: boolean }): Promise<PropertyListing | undefined> {
      const hits = applyScope(db('properties'), scope).where('properties.id', id).select('properties.id', db.raw('1 AS total_count'));
      const [row] = await listings(hits, ORDER.newest, opts.readyImagesOnly);
      return row && toListing(row);
    },

    async find(scope: PropertyScope, id: number): Promise<PropertyRecord | undefined> {
      return (await applyScope(db('properties'), scope).select(COLUMNS).where('properties.id', id).first()) as PropertyRecord | undefined;
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
