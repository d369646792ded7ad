import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { BOOKING_WORKFLOW_TYPE, bookingWorkflowId, confirmUpdate, type ActorRef, type BookingWorkflowInput, type BookingWorkflowSettings, type ConfirmResult } from '../contracts/bookings';
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

/** The update id of an auto-confirmation: one per booking, so a retried call attaches to the first. */
export const AUTO_CONFIRM_UPDATE_ID = 'auto-confirm';

/**
 * A request to an auto-confirm listing: starts the booking's workflow (or finds it running)
 * and sends it the confirm update as the listing's realtor in the same call
 * (Update-with-Start), so the confirmation is the workflow's own, with the same tour, call,
 * emails and overlap checks as a confirmation by hand. Answers when it is done.
 */
export async function confirmBookingWithStart(
  client: Client,
  taskQueue: string,
  bookingId: number,
  settings: BookingWorkflowSettings,
  realtor: ActorRef & { auto: true },
): Promise<ConfirmResult> {
  const input: BookingWorkflowInput = { ...settings, bookingId };
  const startWorkflowOperation = new WithStartWorkflowOperation(BOOKING_WORKFLOW_TYPE, {
    taskQueue,
    workflowId: bookingWorkflowId(bookingId),
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  return client.workflow.executeUpdateWithStart(confirmUpdate, { args: [realtor], updateId: AUTO_CONFIRM_UPDATE_ID, startWorkflowOperation });
}
