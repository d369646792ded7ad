/**
 * The workflow bundle's entry: every workflow the worker runs is exported here.
 */
export { imageProcessingWorkflow } from './image-processing.workflow';
