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
