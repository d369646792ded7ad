import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { IMAGE_FAILURES, type ImageProcessingInput, type ImageProcessingResult, IMAGE_STATUS } from '../contracts/images';

/**
 * One per uploaded property image (id `image-<imageId>`): renders the large WebP and the
 * thumbnail from the stored original, then marks the row ready — or failed with the
 * reason when the original cannot be decoded. Storage I/O retries with backoff.
 */

const { renderPropertyImage } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 8, nonRetryableErrorTypes: [IMAGE_FAILURES.rejected] },
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
    await completePropertyImage(input.imageId, { status: IMAGE_STATUS.failed, reason });
    return { status: IMAGE_STATUS.failed, reason };
  }
  // The image (or its listing) was deleted while it waited: nothing left to do.
  if (!rendered) return { status: 'gone' };
  const outcome = await completePropertyImage(input.imageId, { status: IMAGE_STATUS.ready, ...rendered });
  return outcome === 'gone' ? { status: 'gone' } : { status: IMAGE_STATUS.ready };
}
