import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

/**
 * One per uploaded property image (id `image-<imageId>`): renders the large WebP and the
 * thumbnail from the stored original, then marks the row ready — or failed with the
 * reason when the original cannot be decoded. Storage I/O retries with backoff.
 */

export const imageWorkflowId = (imageId: number) => `image-${imageId}`;

export interface ImageProcessingInput {
  imageId: number;
}

export type ImageProcessingResult = { status: 'ready' } | { status: 'failed'; reason: string } | { status: 'gone' };

export const IMAGE_REJECTED = 'ImageRejected';

const { renderPropertyImage } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 8, nonRetryableErrorTypes: [IMAGE_REJECTED] },
});

const { completePropertyImage } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

function reasonOf(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return cause.message;
  return 'The image could not be processed';
}

export async function imageProcessingWorkflow(input: ImageProcessingInput): Promise<ImageProcessingResult> {
  let rendered;
  try {
    rendered = await renderPropertyImage(input.imageId);
  } catch (err) {
    const reason = reasonOf(err);
    await completePropertyImage(input.imageId, { status: 'failed', reason });
    return { status: 'failed', reason };
  }
  // The image (or its listing) was deleted while it waited: nothing left to do.
  if (!rendered) return { status: 'gone' };
  const outcome = await completePropertyImage(input.imageId, { status: 'ready', ...rendered });
  return outcome === 'gone' ? { status: 'gone' } : { status: 'ready' };
}
