import { ApplicationFailure } from '@temporalio/activity';
import type { Knex } from 'knex';
import { recordAudit } from '../db/audit';
import { ImageRejectedError, renderWebp } from '../adapters/images/inspect';
import type { ObjectStorage } from '../adapters/storage/port';
import type { Logger } from '../lib/logger';
import { IMAGE_FAILURES, IMAGE_STATUS, isImageFinal, type ImageOutcome, type RenderedImage } from '../contracts/images';
import { propertiesRepository } from '../db/repositories/properties.repository';
import { imageProcessingSeconds } from './kpis';

/** The property-image pipeline's side effects. Each is safe to retry. */

export const LARGE = { width: 1200, height: 800, fit: 'inside' } as const;
export const THUMBNAIL = { width: 300, height: 200, fit: 'cover' } as const;

export type { ImageOutcome, RenderedImage };

interface Deps {
  knex: Knex;
  storage: ObjectStorage;
  logger: Logger;
  maxPixels: number;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

export function createImageActivities(deps: Deps) {
  return {
    /**
     * Renders both variants from the original and stores them under keys derived from
     * the image id, so a retry overwrites instead of adding files. Null when the image row
     * no longer exists. A file that cannot be decoded fails for good (ImageRejected).
     */
    async renderPropertyImage(imageId: number): Promise<RenderedImage | null> {
      const images = propertiesRepository(deps.knex).images;
      const row = await images.byId(imageId);
      if (!row) return null;
      await images.moveStatus(imageId, IMAGE_STATUS.pending, IMAGE_STATUS.processing);
      const original = await readAll((await deps.storage.get(row.original_key)).body);
      const base = row.original_key.replace(/\/[^/]+$/, '');
      // Each render attempt is timed: it is work done (and CPU spent) whether or not a retry follows.
      const stop = imageProcessingSeconds.startTimer();
      try {
        const [large, thumb] = await Promise.all([renderWebp(original, LARGE, deps.maxPixels), renderWebp(original, THUMBNAIL, deps.maxPixels)]);
        const processedKey = `${base}/large.webp`;
        const thumbnailKey = `${base}/thumbnail.webp`;
        await deps.storage.put(processedKey, large.data, 'image/webp');
        await deps.storage.put(thumbnailKey, thumb.data, 'image/webp');
        stop({ outcome: 'rendered' });
        return { processedKey, thumbnailKey, width: large.width, height: large.height, thumbnailWidth: thumb.width, thumbnailHeight: thumb.height };
      } catch (err) {
        stop({ outcome: err instanceof ImageRejectedError ? 'rejected' : 'error' });
        if (err instanceof ImageRejectedError) throw ApplicationFailure.nonRetryable(err.message, IMAGE_FAILURES.rejected);
        throw err;
      }
    },

    /**
     * Records the outcome on the row, with its audit entry, once. 'gone' when the row was
     * deleted meanwhile (its rendered files are removed then).
     */
    async completePropertyImage(imageId: number, outcome: ImageOutcome): Promise<'done' | 'gone'> {
      const result = await deps.knex.transaction(async (trx) => {
        const images = propertiesRepository(trx).images;
        const row = await images.byId(imageId, { forUpdate: true });
        if (!row) return 'gone' as const;
        if (isImageFinal(row.status)) return 'done' as const;
        if (outcome.status === IMAGE_STATUS.ready) await images.markReady(imageId, outcome);
        else await images.markFailed(imageId, outcome.reason);
        await recordAudit(trx, {
          actorId: null,
          action: outcome.status === IMAGE_STATUS.ready ? 'property_image_ready' : 'property_image_failed',
          resourceType: 'property_image',
          resourceId: imageId,
          details: { property_id: row.property_id, status: { from: row.status, to: outcome.status }, ...(outcome.status === IMAGE_STATUS.failed ? { reason: outcome.reason } : {}) },
        });
        return 'done' as const;
      });
      if (result === 'gone' && outcome.status === IMAGE_STATUS.ready) {
        await deps.storage.delete(outcome.processedKey);
        await deps.storage.delete(outcome.thumbnailKey);
      }
      return result;
    },
  };
}
