/**
 * The workflow bundle's entry: every workflow the worker runs is exported here.
 */
export { imageProcessingWorkflow } from './image-processing.workflow';
export { bookingWorkflow } from './booking.workflow';
export { tourWorkflow } from './tour.workflow';
export { webhookDeliveryWorkflow } from './webhook-delivery.workflow';
export { feedbackWorkflow } from './feedback.workflow';
