import { condition, defineQuery, defineSignal, getExternalWorkflowHandle, log, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { PropertyId, RealtorId, TourStage } from './search-attributes';

/**
 * One per tour (id `tour-<id>`), started when its booking is confirmed; the only writer
 * of the tour's and its call's status. This first version follows the schedule: it is
 * cancelled with its booking, or it completes at its scheduled end and tells the booking.
 * Live calls and post-tour processing extend it.
 */

export const tourWorkflowId = (tourId: number) => `tour-${tourId}`;

export interface TourWorkflowInput {
  tourId: number;
  bookingId: number;
}

export type TourStageValue = 'scheduled' | 'in_progress' | 'processing' | 'completed' | 'cancelled' | 'processing_failed';

export const tourCancelSignal = defineSignal('cancelTour');
/** The booking workflow's signal a finished tour sends (named here to avoid an import cycle). */
export const TOUR_FINISHED_SIGNAL = 'tourFinished';
export const tourRescheduleSignal = defineSignal<[string, number]>('rescheduleTour');
export const tourStageQuery = defineQuery<TourStageValue>('stage');

const db = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export async function tourWorkflow(input: TourWorkflowInput): Promise<TourStageValue> {
  const tour = await db.loadTourForWorkflow(input.tourId);
  if (!tour) return 'cancelled';
  let stage: TourStageValue = tour.status as TourStageValue;
  let scheduledAt = tour.scheduledAt;
  let durationMinutes = tour.durationMinutes;
  let cancelRequested = false;
  let version = 0;
  setHandler(tourStageQuery, () => stage);
  setHandler(tourCancelSignal, () => {
    cancelRequested = true;
    version += 1;
  });
  setHandler(tourRescheduleSignal, (at, minutes) => {
    scheduledAt = at;
    durationMinutes = minutes;
    version += 1;
  });
  upsertSearchAttributes([
    { key: TourStage, value: stage },
    { key: PropertyId, value: tour.propertyId },
    { key: RealtorId, value: tour.realtorId },
  ]);

  while (stage === 'scheduled') {
    const seen = version;
    const endMs = Date.parse(scheduledAt) + durationMinutes * 60_000;
    const wait = endMs - Date.now();
    if (!cancelRequested && wait > 0 && (await condition(() => version !== seen, wait))) continue;
    stage = cancelRequested ? 'cancelled' : 'completed';
    await db.setTourStage(input.tourId, stage);
    upsertSearchAttributes([{ key: TourStage, value: stage }]);
  }
  if (stage === 'completed') {
    try {
      await getExternalWorkflowHandle(`booking-${input.bookingId}`).signal(TOUR_FINISHED_SIGNAL, 'completed');
    } catch (err) {
      // The booking may have ended already (e.g. cancelled at the last moment).
      log.info('booking not told of the finished tour', { error: String(err) });
    }
  }
  return stage;
}
