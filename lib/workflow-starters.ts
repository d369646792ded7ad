import type { Client } from '@temporalio/client';
import { bookingWorkflow, bookingWorkflowId } from '../workflows/booking.workflow';
import { imageProcessingWorkflow, imageWorkflowId } from '../workflows/image-processing.workflow';

/**
 * Starting a lifecycle workflow, shared by the API and the worker's sweeper. Each start
 * is idempotent: the id is derived from the row, and an existing run is kept.
 */
export async function startBookingWorkflow(client: Client, taskQueue: string, bookingId: number, expiryLeadMinutes: number): Promise<void> {
  await client.workflow.start(bookingWorkflow, {
    taskQueue,
    workflowId: bookingWorkflowId(bookingId),
    args: [{ bookingId, expiryLeadMinutes }],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
}

export async function startImageProcessing(client: Client, taskQueue: string, imageId: number): Promise<void> {
  await client.workflow.start(imageProcessingWorkflow, {
    taskQueue,
    workflowId: imageWorkflowId(imageId),
    args: [{ imageId }],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
}
