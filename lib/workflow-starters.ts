import type { Client } from '@temporalio/client';
import { bookingWorkflow, bookingWorkflowId, type BookingWorkflowInput } from '../workflows/booking.workflow';
import type { Config } from './config';
import { imageProcessingWorkflow, imageWorkflowId } from '../workflows/image-processing.workflow';

/**
 * Starting a lifecycle workflow, shared by the API and the worker's sweeper. Each start
 * is idempotent: the id is derived from the row, and an existing run is kept.
 */
export type BookingWorkflowSettings = Omit<BookingWorkflowInput, 'bookingId'>;

/** The configured timings a booking's workflow (and its tour's) runs with. */
export function bookingWorkflowSettings(config: Pick<Config, 'bookings' | 'tours'>): BookingWorkflowSettings {
  return {
    expiryLeadMinutes: config.bookings.expiryLeadMinutes,
    tour: {
      maxCallMinutes: config.tours.maxCallMinutes,
      emptyCallEndMinutes: config.tours.emptyCallEndMinutes,
      noShowGraceMinutes: config.tours.noShowGraceMinutes,
    },
  };
}

export async function startBookingWorkflow(client: Client, taskQueue: string, bookingId: number, settings: BookingWorkflowSettings): Promise<void> {
  await client.workflow.start(bookingWorkflow, {
    taskQueue,
    workflowId: bookingWorkflowId(bookingId),
    args: [{ ...settings, bookingId }],
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
