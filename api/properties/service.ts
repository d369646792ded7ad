import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { QueryBuilder } from 'objection';
import { Property, PropertyImage, User } from '../../db/models';
import { changedFields, recordAudit } from '../../db/audit';
import { ImageRejectedError, inspectImage, type InspectedImage } from '../../adapters/images/inspect';
import type { ObjectStorage } from '../../adapters/storage/port';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { paginate } from '../pagination';
import type { Actor, UploadedFile } from '../routing';
import { propertyPolicy } from './policy';
import type { SearchFilters } from './schemas';

/** Everything but the generated search vector. */
const COLUMNS = [
  'id', 'realtor_id', 'address', 'mls_id', 'description', 'price', 'bedrooms', 'bathrooms', 'sqft', 'status',
  'city', 'state', 'postal_code', 'property_type', 'latitude', 'longitude', 'deleted_at', 'created_at', 'updated_at',
].map((c) => `properties.${c}`);

const EXTENSIONS: Record<string, string> = { jpeg: 'jpg', png: 'png', webp: 'webp', heif: 'heic', avif: 'avif' };

export interface ImageProcessingStarter {
  /** Starts the image's processing workflow; idempotent per image id. */
  start(imageId: number): Promise<void>;
}

export interface PropertyServiceDeps {
  knex: Knex;
  storage: ObjectStorage;
  images: ImageProcessingStarter;
  logger: Logger;
  limits: { maxPixels: number };
}

type ListingInput = Partial<Pick<Property, 'address' | 'mls_id' | 'description' | 'bedrooms' | 'bathrooms' | 'sqft' | 'status' | 'city' | 'state' | 'postal_code' | 'property_type'>> & {
  price?: number | null;
  latitude?: number | null;
  longitude?: number | null;
  realtor_id?: number;
};

/** Numeric columns come back from pg as strings; compare and store them as such. */
function toRow(input: ListingInput): Record<string, unknown> {
  const row: Record<string, unknown> = { ...input };
  for (const k of ['price', 'latitude', 'longitude'] as const) {
    if (input[k] !== undefined) row[k] = input[k] === null ? null : k === 'price' ? input[k].toFixed(2) : input[k].toFixed(6);
  }
  return row;
}

export function applySearch(query: QueryBuilder<Property>, f: Partial<SearchFilters>): QueryBuilder<Property> {
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
  switch (f.sort ?? 'newest') {
    case 'price':
      return query.orderByRaw('properties.price ASC NULLS LAST, properties.id ASC');
    case '-price':
      return query.orderByRaw('properties.price DESC NULLS LAST, properties.id DESC');
    case 'sqft':
      return query.orderByRaw('properties.sqft ASC NULLS LAST, properties.id ASC');
    default:
      return query.orderByRaw('properties.created_at DESC, properties.id DESC');
  }
}

export class PropertyService {
  constructor(private readonly deps: PropertyServiceDeps) {}

  private query(actor: Actor, trx?: Knex.Transaction): QueryBuilder<Property> {
    return propertyPolicy.scope(actor, Property.query(trx ?? this.deps.knex).select(COLUMNS));
  }

  /** Realtor and images come in two batched queries for the whole page, never one per item. */
  private withGraph(query: QueryBuilder<Property>, actor: Actor): QueryBuilder<Property> {
    return query
      .withGraphFetched('[realtor(name), images(visible)]')
      .modifiers({
        name: (b) => b.select('id', 'full_name'),
        visible: (b) => (propertyPolicy.showsUnfinishedImages(actor) ? b : b.where('status', 'ready')),
      });
  }

  private async find(actor: Actor, id: number, trx?: Knex.Transaction): Promise<Property> {
    const property = await this.query(actor, trx).findById(id);
    if (!property) throw new NotFoundError('Property');
    return property;
  }

  async search(actor: Actor, f: SearchFilters) {
    const query = applySearch(this.query(actor), f);
    return paginate(this.withGraph(query, actor), f);
  }

  async get(actor: Actor, id: number): Promise<Property> {
    const property = await this.withGraph(this.query(actor), actor).findById(id);
    if (!property) throw new NotFoundError('Property');
    return property;
  }

  async create(actor: Actor, input: ListingInput): Promise<Property> {
    propertyPolicy.assertCanCreate(actor);
    const id = await this.deps.knex.transaction(async (trx) => {
      const row = await Property.query(trx)
        .insert({ ...toRow(input), realtor_id: actor.user.id } as Partial<Property>)
        .returning('id');
      await recordAudit(trx, { actorId: actor.user.id, action: 'property_created', resourceType: 'property', resourceId: row.id, details: { fields: input }, requestId: actor.requestId });
      return row.id;
    });
    return this.get(actor, id);
  }

  async update(actor: Actor, id: number, input: ListingInput): Promise<Property> {
    await this.deps.knex.transaction(async (trx) => {
      const property = await this.find(actor, id, trx);
      propertyPolicy.assertCanChange(actor, property);
      if (input.realtor_id !== undefined && input.realtor_id !== property.realtor_id) {
        propertyPolicy.assertCanReassign(actor);
        const realtor = await User.query(trx).findById(input.realtor_id).whereNull('deleted_at');
        if (!realtor || realtor.role !== 'realtor') throw new ValidationError([{ field: 'realtor_id', message: 'must be the id of a realtor' }]);
      }
      const patch = toRow(input);
      const changes = changedFields(property as unknown as Record<string, unknown>, patch);
      if (!Object.keys(changes).length) return;
      await Property.query(trx).patch(patch as Partial<Property>).where('id', id);
      await recordAudit(trx, { actorId: actor.user.id, action: 'property_updated', resourceType: 'property', resourceId: id, details: { changes }, requestId: actor.requestId });
    });
    return this.get(actor, id);
  }

  /**
   * A listing with upcoming confirmed tours stays (withdraw it instead). One that no
   * booking ever referred to is removed with its images; otherwise it is hidden but kept
   * for the bookings' history.
   */
  async remove(actor: Actor, id: number): Promise<void> {
    const keys = await this.deps.knex.transaction(async (trx) => {
      const property = await this.find(actor, id, trx);
      propertyPolicy.assertCanChange(actor, property);
      await trx.raw('SELECT id FROM properties WHERE id = ? FOR UPDATE', [id]);
      const upcoming = await trx('bookings')
        .where({ property_id: id, status: 'confirmed' })
        .where('scheduled_at', '>', new Date())
        .count<{ count: string }[]>('* as count');
      const upcomingTours = await trx('tours')
        .where({ property_id: id })
        .whereIn('status', ['scheduled', 'in_progress'])
        .count<{ count: string }[]>('* as count');
      const n = Number(upcoming[0]!.count) + Number(upcomingTours[0]!.count);
      if (n > 0) {
        throw new ConflictError(`This listing has ${n} upcoming confirmed tour(s); cancel them or set its status to withdrawn instead`, 'status');
      }
      const images = await PropertyImage.query(trx).where({ property_id: id });
      const referenced = Number((await trx('bookings').where({ property_id: id }).count<{ count: string }[]>('* as count'))[0]!.count) > 0;
      if (referenced) {
        await Property.query(trx).patch({ deleted_at: new Date() } as Partial<Property>).where('id', id);
      } else {
        await trx('property_images').where({ property_id: id }).delete();
        await trx('properties').where({ id }).delete();
      }
      await recordAudit(trx, { actorId: actor.user.id, action: 'property_deleted', resourceType: 'property', resourceId: id, details: { address: property.address, kept_for_history: referenced }, requestId: actor.requestId });
      return referenced ? [] : images.flatMap((i) => [i.original_key, i.processed_key, i.thumbnail_key]);
    });
    await this.deleteFiles(keys);
  }

  private async deleteFiles(keys: Array<string | null>): Promise<void> {
    for (const key of keys) {
      if (key) await this.deps.storage.delete(key).catch((err) => this.deps.logger.warn({ err, key }, 'file not deleted'));
    }
  }

  /**
   * Every file is judged by its bytes before anything is stored, so a rejected upload
   * leaves nothing behind. Each accepted file is stored, gets a pending row, and its
   * processing workflow is started.
   */
  async addImages(actor: Actor, id: number, files: UploadedFile[]): Promise<PropertyImage[]> {
    const property = await this.find(actor, id);
    propertyPolicy.assertCanChange(actor, property);
    if (!files.length) throw new ValidationError([{ field: 'images', message: 'Attach one or more image files in the "images" field' }]);
    const inspected: InspectedImage[] = [];
    for (const [i, file] of files.entries()) {
      try {
        inspected.push(await inspectImage(file.buffer, { maxPixels: this.deps.limits.maxPixels }));
      } catch (err) {
        if (!(err instanceof ImageRejectedError)) throw err;
        const field = files.length > 1 ? `images.${i}` : 'images';
        const message = `${file.originalname || `file ${i + 1}`}: ${err.message}`;
        if (err.reason === 'unsupported_type') throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', message, field);
        throw new AppError(422, 'UNPROCESSABLE_ENTITY', message, field);
      }
    }

    const stored: string[] = [];
    let rows: PropertyImage[];
    try {
      for (const [i, file] of files.entries()) {
        const key = `properties/${id}/images/${randomUUID()}/original.${EXTENSIONS[inspected[i]!.format]}`;
        await this.deps.storage.put(key, file.buffer, inspected[i]!.contentType);
        stored.push(key);
      }
      rows = await this.deps.knex.transaction(async (trx) => {
        // Serialises uploads to one listing so positions stay distinct.
        await trx.raw('SELECT id FROM properties WHERE id = ? FOR UPDATE', [id]);
        const max = await trx('property_images').where({ property_id: id }).max<{ max: number | null }[]>('position as max');
        let position = (max[0]?.max ?? -1) + 1;
        const out: PropertyImage[] = [];
        for (const [i, key] of stored.entries()) {
          const meta = inspected[i]!;
          const row = await PropertyImage.query(trx).insertAndFetch({
            property_id: id,
            original_key: key,
            status: 'pending',
            content_type: meta.contentType,
            byte_size: files[i]!.size,
            width: meta.width,
            height: meta.height,
            position: position++,
          });
          await recordAudit(trx, { actorId: actor.user.id, action: 'property_image_added', resourceType: 'property_image', resourceId: row.id, details: { property_id: id, content_type: meta.contentType, width: meta.width, height: meta.height }, requestId: actor.requestId });
          out.push(row);
        }
        return out;
      });
    } catch (err) {
      await this.deleteFiles(stored);
      throw err;
    }

    for (const row of rows) {
      try {
        await this.deps.images.start(row.id);
      } catch (err) {
        // No row without its workflow: an image whose processing could not start is removed.
        this.deps.logger.error({ err, imageId: row.id }, 'image processing did not start');
        const unstarted = rows.slice(rows.indexOf(row));
        await this.deps.knex('property_images').whereIn('id', unstarted.map((r) => r.id)).delete();
        await this.deleteFiles(unstarted.map((r) => r.original_key));
        throw new AppError(503, 'SERVICE_UNAVAILABLE', 'Image processing is unavailable; try the upload again shortly', 'images');
      }
    }
    return rows;
  }

  private async findImage(actor: Actor, id: number, imageId: number, trx?: Knex.Transaction): Promise<{ property: Property; image: PropertyImage }> {
    const property = await this.find(actor, id, trx);
    propertyPolicy.assertCanChange(actor, property);
    const image = await PropertyImage.query(trx ?? this.deps.knex).findOne({ id: imageId, property_id: id });
    if (!image) throw new NotFoundError('Image');
    return { property, image };
  }

  async deleteImage(actor: Actor, id: number, imageId: number): Promise<void> {
    const image = await this.deps.knex.transaction(async (trx) => {
      const { image } = await this.findImage(actor, id, imageId, trx);
      await trx('property_images').where({ id: imageId }).delete();
      await recordAudit(trx, { actorId: actor.user.id, action: 'property_image_deleted', resourceType: 'property_image', resourceId: imageId, details: { property_id: id }, requestId: actor.requestId });
      return image;
    });
    await this.deleteFiles([image.original_key, image.processed_key, image.thumbnail_key]);
  }

  /** Moves an image to `position` and renumbers the others 0..n-1 around it. */
  async setImagePosition(actor: Actor, id: number, imageId: number, position: number): Promise<PropertyImage> {
    return this.deps.knex.transaction(async (trx) => {
      const { image } = await this.findImage(actor, id, imageId, trx);
      const all = await PropertyImage.query(trx).where({ property_id: id }).orderBy([{ column: 'position' }, { column: 'id' }]).forUpdate();
      const others = all.filter((i) => i.id !== imageId);
      const target = Math.min(position, others.length);
      others.splice(target, 0, image);
      for (const [i, img] of others.entries()) {
        if (img.position !== i) await trx('property_images').where({ id: img.id }).update({ position: i });
      }
      await recordAudit(trx, { actorId: actor.user.id, action: 'property_image_moved', resourceType: 'property_image', resourceId: imageId, details: { property_id: id, position: { from: image.position, to: target } }, requestId: actor.requestId });
      return (await PropertyImage.query(trx).findById(imageId))!;
    });
  }
}
