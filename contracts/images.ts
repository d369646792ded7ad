/**
 * The property-images domain's contract: statuses, the failure type, the workflow id and its
 * input and output, declared once for the API, the image workflow, its activities and tests.
 */

export const IMAGE_STATUSES = ['pending', 'processing', 'ready', 'failed'] as const;
export type ImageStatus = (typeof IMAGE_STATUSES)[number];
/** Each status by name (`IMAGE_STATUS.ready`). */
export const IMAGE_STATUS = { pending: 'pending', processing: 'processing', ready: 'ready', failed: 'failed' } as const satisfies { [S in ImageStatus]: S };

/** Finished images: the workflow records an outcome once and never moves them again. */
export const IMAGE_FINAL_STATUSES: readonly ImageStatus[] = ['ready', 'failed'];
export const isImageFinal = (status: ImageStatus): boolean => IMAGE_FINAL_STATUSES.includes(status);

/** ApplicationFailure type: the original cannot be decoded (retrying cannot help). */
export const IMAGE_FAILURES = { rejected: 'ImageRejected' } as const;
export type ImageFailureType = (typeof IMAGE_FAILURES)[keyof typeof IMAGE_FAILURES];

export const imageWorkflowId = (imageId: number) => `image-${imageId}`;

export interface ImageProcessingInput {
  imageId: number;
}

export type ImageProcessingResult = { status: 'ready' } | { status: 'failed'; reason: string } | { status: 'gone' };

/** The two stored variants of an original, as the render activity reports them. */
export interface RenderedImage {
  processedKey: string;
  thumbnailKey: string;
  width: number;
  height: number;
  thumbnailWidth: number;
  thumbnailHeight: number;
}

export type ImageOutcome = ({ status: 'ready' } & RenderedImage) | { status: 'failed'; reason: string };
