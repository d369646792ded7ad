import type { Client } from '@temporalio/client';
import { imageWorkflowId } from '../contracts/images';
import { imageProcessingWorkflow } from '../workflows/image-processing.workflow';

/**
 * Starting an image's processing when it is uploaded. Idempotent: the id is derived from
 * the row, and a run that exists is kept. (A booking's workflow is started through its
 * contract, which the worker's sweeper shares.)
 */
export async function startImageProcessing(client: Client, taskQueue: string, imageId: number): Promise<void> {
  await client.workflow.start(imageProcessingWorkflow, {
    taskQueue,
    workflowId: imageWorkflowId(imageId),
    args: [{ imageId }],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
}
