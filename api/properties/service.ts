import { IMAGE_STATUS } from '../../contracts/images';
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { changedFields, recordAudit } from '../../db/audit';
import {
  propertiesRepository,
  type NewProperty,
  type PropertyImageRecord,
  type PropertyListing,
  type PropertyRecord,
} from '../../db/repositories/properties.repository';
import { usersRepository } from '../../db/repositories/users.repository';
import { ImageRejectedError, inspectImage, type InspectedImage } from '../../adapters/images/inspect';
import type { ObjectStorage } from '../../adapters/storage/port';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import type { PageMeta } from '../envelope';
import type { Actor, UploadedFile } from '../routing';
import { propertyPolicy } from './policy';
import type { SearchFilters } from './schemas';

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

type ListingInput = Partial<Pick<PropertyRecord, 'address' | 'mls_id' | 'description' | 'bedrooms' | 'bathrooms' | 'sqft' | 'status' | 'city' | 'state' | 'postal_code' | 'property_type'>> & {
  price?: number | null;
  latitude?: number | null;
  longitude?: number | null;
  realtor_id?: number;
};

/** Numeric columns come back from pg as strings; compare and store them as such. */
function toRow(input: ListingInput): Partial<NewProperty> {
  const row: Record<string, unknown> = { ...input };
  for (const k of ['price', 'latitude', 'longitude'] as const) {
    if (input[k] !== undefined) row[k] = input[k] === null ? null : k === 'price' ? input[k].toFixed(2) : input[k].toFixed(6);
  }
  return row as Partial<NewProperty>;
}

export class PropertyService {
  constructor(private readonly deps: PropertyServiceDeps) {}

  private async find(actor: Actor, id: number, trx?: Knex.Transaction): Promise<PropertyRecord> {
    const property = await propertiesRepository(trx ?? this.deps.knex).find(propertyPolicy.scope(actor), id);
    if (!property) throw new NotFoundError('Property');
    return property;
  }

  /** One statement for the page, its realtors, its images and the total (see the repository). */
  async search(actor: Actor, f: SearchFilters): Promise<{ items: PropertyListing[]; meta: PageMeta }> {
    const readyImagesOnly = !propertyPolicy.showsUnfinishedImages(actor);
    const { items, total } = await propertiesRepository(this.deps.knex).search(propertyPolicy.scope(actor), f, { readyImagesOnly });
    return { items, meta: { current_page: f.page, per_page: f.per_page, total_pages: Math.ceil(total / f.per_page), total_count: total } };
  }

  async get(actor: Actor, id: number): Promise<PropertyListing> {
    const readyImagesOnly = !propertyPolicy.showsUnfinishedImages(actor);
    const property = await propertiesRepository(this.deps.knex).findListing(propertyPolicy.scope(actor), id, { readyImagesOnly });
    if (!property) throw new NotFoundError('Property');
    return property;
  }

  async create(actor: Actor, input: ListingInput): Promise<PropertyListing> {
    propertyPolicy.assertCanCreate(actor);
    const id = await this.deps.knex.transaction(async (trx) => {
      const id = await propertiesRepository(trx).insert({ ...toRow(input), realtor_id: actor.user.id } as NewProperty);
      await recordAudit(trx, { actorId: actor.user.id, action: 'property_created', resourceType: 'property', resourceId: id, details: { fields: input }, requestId: actor.requestId });
      return id;
    });
    return this.get(actor, id);
  }

  async update(actor: Actor, id: number, input: ListingInput): Promise<PropertyListing> {
    await this.deps.knex.transaction(async (trx) => {
      const property = await this.find(actor, id, trx);
      propertyPolicy.assertCanChange(actor, property);
      if (input.realtor_id !== undefined && input.realtor_id !== property.realtor_id) {
        propertyPolicy.assertCanReassign(actor);
        const realtor = await usersRepository(trx).findActiveRealtor(input.realtor_id);
        if (!realtor) throw new ValidationError([{ field: 'realtor_id', message: 'must be the id of a realtor' }]);
      }
      const patch = toRow(input);
      const changes = changedFields(property as unknown as Record<string, unknown>, patch);
      if (!Object.keys(changes).length) return;
      await propertiesRepository(trx).patch(id, patch);
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
      const repo = propertiesRepository(trx);
      await repo.lock(id);
      const n = await repo.upcomingTourCount(id, new Date());
      if (n > 0) {
        throw new ConflictError(`This listing has ${n} upcoming confirmed tour(s); cancel them or set its status to withdrawn instead`, 'status');
      }
      const images = await repo.images.of(id);
      const referenced = await repo.hasBookings(id);
      if (referenced) await repo.softDelete(id);
      else await repo.delete(id);
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
  async addImages(actor: Actor, id: number, files: UploadedFile[]): Promise<PropertyImageRecord[]> {
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
    let rows: PropertyImageRecord[];
    try {
      for (const [i, file] of files.entries()) {
        const key = `properties/${id}/images/${randomUUID()}/original.${EXTENSIONS[inspected[i]!.format]}`;
        await this.deps.storage.put(key, file.buffer, inspected[i]!.contentType);
        stored.push(key);
      }
      rows = await this.deps.knex.transaction(async (trx) => {
        const repo = propertiesRepository(trx);
        // Serialises uploads to one listing so positions stay distinct.
        await repo.lock(id);
        let position = await repo.images.nextPosition(id);
        const out: PropertyImageRecord[] = [];
        for (const [i, key] of stored.entries()) {
          const meta = inspected[i]!;
          const row = await repo.images.insert({
            property_id: id,
            original_key: key,
            status: IMAGE_STATUS.pending,
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
        await propertiesRepository(this.deps.knex).images.delete(unstarted.map((r) => r.id));
        await this.deleteFiles(unstarted.map((r) => r.original_key));
        throw new AppError(503, 'SERVICE_UNAVAILABLE', 'Image processing is unavailable; try the upload again shortly', 'images');
      }
    }
    return rows;
  }

  private async findImage(actor: Actor, id: number, imageId: number, trx?: Knex.Transaction): Promise<{ property: PropertyRecord; image: PropertyImageRecord }> {
    const property = await this.find(actor, id, trx);
    propertyPolicy.assertCanChange(actor, property);
    const image = await propertiesRepository(trx ?? this.deps.knex).images.find(id, imageId);
    if (!image) throw new NotFoundError('Image');
    return { property, image };
  }

  async deleteImage(actor: Actor, id: number, imageId: number): Promise<void> {
    const image = await this.deps.knex.transaction(async (trx) => {
      const { image } = await this.findImage(actor, id, imageId, trx);
      await propertiesRepository(trx).images.delete([imageId]);
      await recordAudit(trx, { actorId: actor.user.id, action: 'property_image_deleted', resourceType: 'property_image', resourceId: imageId, details: { property_id: id }, requestId: actor.requestId });
      return image;
    });
    await this.deleteFiles([image.original_key, image.processed_key, image.thumbnail_key]);
  }

  /** Moves an image to `position` and renumbers the others 0..n-1 around it. */
  async setImagePosition(actor: Actor, id: number, imageId: number, position: number): Promise<PropertyImageRecord> {
    return this.deps.knex.transaction(async (trx) => {
      const repo = propertiesRepository(trx);
      const { image } = await this.findImage(actor, id, imageId, trx);
      const all = await repo.images.of(id, { forUpdate: true });
      const others = all.filter((i) => i.id !== imageId);
      const target = Math.min(position, others.length);
      others.splice(target, 0, image);
      for (const [i, img] of others.entries()) {
        if (img.position !== i) await repo.images.setPosition(img.id, i);
      }
      await recordAudit(trx, { actorId: actor.user.id, action: 'property_image_moved', resourceType: 'property_image', resourceId: imageId, details: { property_id: id, position: { from: image.position, to: target } }, requestId: actor.requestId });
      return (await repo.images.find(id, imageId))!;
    });
  }
}
