import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';

/**
 * Upserts, as one command, only the search attributes whose value differs from what the
 * workflow already carries (given at its start, or upserted before); none when nothing
 * changed. Each UpsertWorkflowSearchAttributes command is a billable action, however many
 * attributes it carries, and attributes given at the start are free.
 */
export function upsertChanged(pairs: SearchAttributeUpdatePair[]): void {
  const current = workflowInfo().typedSearchAttributes;
  const changed = pairs.filter((p) => current.get(p.key) !== p.value);
  if (changed.length) upsertSearchAttributes(changed);
}

/**
 * The pairs as the workflow's path upserts them: only the changed ones on a local-steps
 * path, every one (one command each time, as their histories recorded) otherwise.
 */
export function upsertAttributes(pairs: SearchAttributeUpdatePair[], onlyChanged: boolean): void {
  if (onlyChanged) upsertChanged(pairs);
  else upsertSearchAttributes(pairs);
}
