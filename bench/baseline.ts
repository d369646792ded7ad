/**
 * The benchmark's baseline: the buyer search written by hand on bare Koa + @koa/router +
 * node-postgres, with no validation library, ORM, auth or middleware stack. It sends the
 * same SQL text the app sends for a search (copied from knex's `query` event; the bench
 * checks they still match), in the same order (page, then realtors and images together,
 * then the count), and answers with the same JSON envelope, signed image URLs included.
 *
 * Run by bench/run.ts as its own process:
 *   node --import tsx bench/baseline.ts --url postgres://… --port 4000 --secret <hex> --base-url http://127.0.0.1:3000
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { parseArgs } from 'node:util';
import Koa from 'koa';
import Router from '@koa/router';
import pg from 'pg';

export interface BaselineFilters {
  city?: string;
  min_price?: number;
  max_price?: number;
  sort: 'price' | '-price' | 'newest' | 'sqft';
  page: number;
  per_page: number;
}

const COLUMNS = [
  'id', 'realtor_id', 'address', 'mls_id', 'description', 'price', 'bedrooms', 'bathrooms', 'sqft', 'status',
  'city', 'state', 'postal_code', 'property_type', 'latitude', 'longitude', 'deleted_at', 'created_at', 'updated_at',
].map((c) => `"properties"."${c}"`).join(', ');

const ORDER: Record<BaselineFilters['sort'], string> = {
  price: 'properties.price ASC NULLS LAST, properties.id ASC',
  '-price': 'properties.price DESC NULLS LAST, properties.id DESC',
  sqft: 'properties.sqft ASC NULLS LAST, properties.id ASC',
  newest: 'properties.created_at DESC, properties.id DESC',
};

export interface BaselineSql {
  page: { text: string; values: unknown[] };
  count: { text: string; values: unknown[] };
}

/** The page and count statements, word for word what knex builds for the app's search. */
export function searchSql(f: BaselineFilters): BaselineSql {
  const values: unknown[] = ['active', 'coming_soon'];
  const where = ['"properties"."deleted_at" is null', `"properties"."status" in ($1, $2)`];
  if (f.min_price !== undefined) where.push(`"properties"."price" >= $${values.push(f.min_price)}`);
  if (f.max_price !== undefined) where.push(`"properties"."price" <= $${values.push(f.max_price)}`);
  if (f.city) where.push(`lower(properties.city) = lower($${values.push(f.city)})`);
  const from = `select ${COLUMNS} from "properties" where ${where.join(' and ')}`;
  const pageValues = [...values, f.per_page];
  let page = `${from} order by ${ORDER[f.sort]} limit $${pageValues.length}`;
  const offset = (f.page - 1) * f.per_page;
  if (offset > 0) page += ` offset $${pageValues.push(offset)}`;
  return {
    page: { text: page, values: pageValues },
    count: { text: `select count(*) as "count" from (${from}) as "temp"`, values },
  };
}

const placeholders = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');

export const realtorsSql = (ids: number[]) => ({
  text: `select "id", "full_name" from "users" where "users"."id" in (${placeholders(ids.length)})`,
  values: ids,
});

export const imagesSql = (propertyIds: number[]) => ({
  text: `select "property_images".* from "property_images" where "property_images"."property_id" in (${placeholders(propertyIds.length)}) and "status" = $${propertyIds.length + 1}`,
  values: [...propertyIds, 'ready'],
});

export interface BaselineOptions {
  pool: pg.Pool;
  /** Secret and origin of the signed image URLs, as the app's local storage makes them. */
  secret: string;
  baseUrl: string;
  urlTtlSeconds: number;
  version: string;
}

interface PropertyRow {
  id: string;
  realtor_id: string;
  price: string | null;
  latitude: string | null;
  longitude: string | null;
  created_at: Date;
  updated_at: Date;
  [column: string]: unknown;
}

interface ImageRow {
  id: string;
  property_id: string;
  status: string;
  position: number;
  processed_key: string | null;
  thumbnail_key: string | null;
  processed_width: number | null;
  processed_height: number | null;
  thumbnail_width: number | null;
  thumbnail_height: number | null;
  failure_reason: string | null;
  created_at: Date;
}

const num = (v: string | null) => (v === null ? null : Number(v));

function parseFilters(query: Record<string, string | string[] | undefined>): BaselineFilters | string {
  const one = (k: string) => (typeof query[k] === 'string' ? (query[k] as string) : undefined);
  const number = (k: string) => (one(k) === undefined ? undefined : Number(one(k)));
  const sort = (one('sort') ?? 'newest') as BaselineFilters['sort'];
  const f: BaselineFilters = {
    city: one('city')?.trim() || undefined,
    min_price: number('min_price'),
    max_price: number('max_price'),
    sort,
    page: number('page') ?? 1,
    per_page: Math.min(number('per_page') ?? 20, 100),
  };
  if (!(sort in ORDER)) return 'sort';
  for (const k of ['min_price', 'max_price', 'page', 'per_page'] as const) {
    const v = f[k];
    if (v !== undefined && (!Number.isFinite(v) || v < 0)) return k;
  }
  return f;
}

export function createBaselineApp(opts: BaselineOptions): Koa {
  const sign = (key: string) => {
    const expires = Math.floor(Date.now() / 1000) + opts.urlTtlSeconds;
    const signature = createHmac('sha256', opts.secret).update(`GET\n${key}\n${expires}`).digest('hex');
    return `${opts.baseUrl}/files/${key.split('/').map(encodeURIComponent).join('/')}?expires=${expires}&signature=${signature}`;
  };
  const image = (i: ImageRow) => {
    const ready = i.status === 'ready';
    return {
      id: String(i.id),
      type: 'property_image',
      attributes: {
        status: i.status,
        position: i.position,
        url: ready && i.processed_key ? sign(i.processed_key) : null,
        thumbnail_url: ready && i.thumbnail_key ? sign(i.thumbnail_key) : null,
        width: i.processed_width,
        height: i.processed_height,
        thumbnail_width: i.thumbnail_width,
        thumbnail_height: i.thumbnail_height,
        failure_reason: i.failure_reason,
        created_at: i.created_at.toISOString(),
      },
    };
  };

  const router = new Router();
  router.get('/api/v1/buyers/properties', async (ctx) => {
    const f = parseFilters(ctx.query);
    if (typeof f === 'string') {
      ctx.status = 422;
      ctx.body = { success: false, errors: [{ code: 'VALIDATION_ERROR', message: 'invalid', field: f }] };
      return;
    }
    const sql = searchSql(f);
    const rows = (await opts.pool.query<PropertyRow>(sql.page)).rows;
    const ids = rows.map((r) => Number(r.id));
    const realtorIds = [...new Set(rows.map((r) => Number(r.realtor_id)))];
    const [realtors, images] = ids.length
      ? await Promise.all([
          opts.pool.query<{ id: string; full_name: string }>(realtorsSql(realtorIds)),
          opts.pool.query<ImageRow>(imagesSql(ids)),
        ])
      : [{ rows: [] }, { rows: [] }];
    const total = Number((await opts.pool.query<{ count: string }>(sql.count)).rows[0]?.count ?? 0);

    const names = new Map(realtors.rows.map((r) => [String(r.id), r.full_name]));
    const byProperty = new Map<string, ImageRow[]>();
    for (const img of images.rows) {
      const list = byProperty.get(String(img.property_id)) ?? [];
      list.push(img);
      byProperty.set(String(img.property_id), list);
    }
    const data = rows.map((p) => ({
      id: String(p.id),
      type: 'property',
      attributes: {
        address: p.address,
        mls_id: p.mls_id,
        description: p.description,
        price: num(p.price),
        bedrooms: p.bedrooms,
        bathrooms: p.bathrooms,
        sqft: p.sqft,
        status: p.status,
        city: p.city,
        state: p.state,
        postal_code: p.postal_code,
        property_type: p.property_type,
        latitude: num(p.latitude),
        longitude: num(p.longitude),
        created_at: p.created_at.toISOString(),
        updated_at: p.updated_at.toISOString(),
      },
      relationships: {
        realtor: { data: { id: String(p.realtor_id), type: 'user', attributes: { full_name: names.get(String(p.realtor_id)) ?? '' } } },
        images: {
          data: (byProperty.get(String(p.id)) ?? [])
            .sort((a, b) => a.position - b.position || Number(a.id) - Number(b.id))
            .map(image),
        },
      },
    }));
    const requestId = randomUUID();
    ctx.set('X-Request-Id', requestId);
    ctx.body = {
      success: true,
      data,
      meta: {
        timestamp: new Date().toISOString(),
        version: opts.version,
        request_id: requestId,
        current_page: f.page,
        per_page: f.per_page,
        total_pages: Math.ceil(total / f.per_page),
        total_count: total,
      },
    };
  });

  const app = new Koa();
  app.silent = true;
  app.use(router.routes());
  return app;
}

export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      url: { type: 'string' },
      port: { type: 'string' },
      secret: { type: 'string' },
      'base-url': { type: 'string' },
      'pool-max': { type: 'string', default: '10' },
      'ttl-seconds': { type: 'string', default: '900' },
      version: { type: 'string', default: '0.0.0' },
    },
    strict: true,
  });
  if (!values.url || !values.port || !values.secret || !values['base-url']) {
    throw new Error('usage: baseline.ts --url <postgres url> --port <n> --secret <hex> --base-url <origin>');
  }
  const pool = new pg.Pool({ connectionString: values.url, max: Number(values['pool-max']) });
  const app = createBaselineApp({
    pool,
    secret: values.secret,
    baseUrl: values['base-url'],
    urlTtlSeconds: Number(values['ttl-seconds']),
    version: values.version,
  });
  const server: Server = app.listen(Number(values.port), '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const stop = () => {
    server.close();
    server.closeIdleConnections();
    void pool.end().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`baseline failed: ${String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  });
}
