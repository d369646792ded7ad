import type { WorkflowHandle } from '@temporalio/client';

/** One event of a workflow's history, as the client fetches it. */
export type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

export interface LocalActivityMarker {
  activity_type: string;
  attempt: number;
  /**
   * Server time of the workflow task that ran it (the WorkflowTaskStarted before its
   * marker): a local activity runs in the worker without the server, so this is its time.
   */
  taskStartedAt: number;
}

/** The local activities a history recorded (its `core_local_activity` markers), in order. */
export function localActivityMarkers(events: HistoryEvent[]): LocalActivityMarker[] {
  let taskStartedAt = 0;
  return events.flatMap((e) => {
    if (e.workflowTaskStartedEventAttributes) taskStartedAt = Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6);
    const m = e.markerRecordedEventAttributes;
    if (m?.markerName !== 'core_local_activity') return [];
    const { activity_type, attempt } = JSON.parse(Buffer.from(m.details!.data!.payloads![0]!.data!).toString('utf8')) as { activity_type: string; attempt: number };
    return [{ activity_type, attempt, taskStartedAt }];
  });
}

/** Workflow (server) time at which the workflow ran its local activity `name` the i-th time. */
export async function localActivityAt(handle: WorkflowHandle, name: string, i = 0): Promise<number> {
  const at = localActivityMarkers((await handle.fetchHistory()).events ?? []).filter((m) => m.activity_type === name)[i]?.taskStartedAt;
  if (at === undefined) throw new Error(`no local ${name} #${i} in the history`);
  return at;
}
