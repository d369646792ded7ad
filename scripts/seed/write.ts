// Writing a run's rows: accounts through the identity provider, listings and their images in batches.
import type { Knex } from 'knex';
import type { IdentityProvider } from '../../adapters/identity/port';
import type { SeedImage } from './images';
import type { PropertyPlan, UserPlan } from './plan';
import { pick, type Rng } from './random';

const BATCH = 1000;

export interface SeededUser {
  id: number;
  email: string;
  role: string;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export async function createUsers(deps: { knex: Knex; identity: IdentityProvider }, plans: UserPlan[], password: string): Promise<SeededUser[]> {
  // Each account costs a password hash (local) or an API call (Cognito): a few at a time.
  const subs = await mapLimit(plans, 4, (p) => deps.identity.adminCreateUser({ email: p.email, password, fullName: p.fullName, role: p.role }));
  const rows = plans.map((p, i) => ({ cognito_sub: subs[i]!.sub, email: p.email, full_name: p.fullName, role: p.role }));
  const out: SeededUser[] = [];
  for (let i = 0; i < rows.length; i += BATCH) {
    out.push(...(await deps.knex('users').insert(rows.slice(i, i + BATCH)).returning(['id', 'email', 'role'])));
  }
  return out;
}

/**
 * Inserts the planned listings, each with `imagesPerProperty` ready images drawn from
 * `files` by `pickImage`, in one transaction. Returns the number of image rows.
 */
export async function insertProperties(
  knex: Knex,
  opts: { plans: PropertyPlan[]; realtorIds: number[]; files: SeedImage[]; imagesPerProperty: number; pickImage: Rng; now: number },
): Promise<number> {
  const { plans, realtorIds, files, imagesPerProperty, pickImage, now } = opts;
  let images = 0;
  await knex.transaction(async (trx) => {
    for (let start = 0; start < plans.length; start += BATCH) {
      const batch = plans.slice(start, start + BATCH);
      const rows = batch.map(({ realtorIndex, ageDays, ...p }) => {
        const created = new Date(now - ageDays * 86_400_000);
        const updated = new Date(Math.min(now, created.getTime() + ageDays * 0.3 * 86_400_000));
        return { ...p, realtor_id: realtorIds[realtorIndex]!, created_at: created, updated_at: updated };
      });
      const inserted = await trx('properties').insert(rows).returning<Array<{ id: number }>>('id');
      // Sequence values are taken in VALUES order, so sorted ids line up with the batch.
      const ids = inserted.map((r) => r.id).sort((a, b) => a - b);
      if (!files.length) continue;
      const imageRows = ids.flatMap((propertyId, k) =>
        Array.from({ length: imagesPerProperty }, (_, position) => {
          const f = pick(pickImage, files);
          return {
            property_id: propertyId,
            original_key: f.originalKey,
            processed_key: f.processedKey,
            thumbnail_key: f.thumbnailKey,
            status: 'ready',
            content_type: 'image/jpeg',
            byte_size: f.byteSize,
            width: f.width,
            height: f.height,
            processed_width: f.processedWidth,
            processed_height: f.processedHeight,
            thumbnail_width: f.thumbnailWidth,
            thumbnail_height: f.thumbnailHeight,
            position,
            created_at: rows[k]!.created_at,
            updated_at: rows[k]!.created_at,
          };
        }),
      );
      for (let i = 0; i < imageRows.length; i += BATCH) await trx('property_images').insert(imageRows.slice(i, i + BATCH));
      images += imageRows.length;
    }
  });
  // Statistics and a visibility map now rather than whenever autovacuum gets there: the
  // planner sees the new rows, and counts can use index-only scans as on a settled database.
  await knex.raw('VACUUM (ANALYZE) users, properties, property_images');
  return images;
}
