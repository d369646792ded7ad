import type { Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { percentile } from '../load';
import { pool } from './client';

/**
 * What the Temporal histories of the run's workflows say: how long a workflow waited for
 * its first task and each task for a worker, how long an update took from accepted to
 * completed, how long activities ran, and how many events and billable actions a tour
 * cost, counted by event type.
 *
 * Billable actions are counted the way Temporal Cloud prices them
 * (https://docs.temporal.io/cloud/actions), from the history: the workflow start (a child's
 * start is two: the parent's StartChildWorkflowExecutionInitiated and the child's own
 * start); every activity scheduled (a retry is one more ActivityTaskStarted attempt,
 * counted from `attempt`); every timer started (the implicit one of `condition` with a
 * timeout too); every signal, once, where it is received (a signal one workflow sends
 * another is one action, not two); every update accepted; every search-attribute upsert
 * command, however many attributes it carries (except one that only sets
 * TemporalChangeVersion, which `patched()` writes and Cloud does not bill); and the markers of one workflow task
 * together as one action — all the local activities (and patch markers) a workflow task
 * records cost one action, not one each. Queries, heartbeats and rejected updates are not
 * in the history and are not counted.
 */

const EventType = temporal.api.enums.v1.EventType;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** `EVENT_TYPE_WORKFLOW_TASK_STARTED` → `WorkflowTaskStarted`. */
export function eventName(type: number | null | undefined): string {
  const raw = EventType[type ?? 0] ?? `EVENT_TYPE_${type}`;
  return raw
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)(\w)/g, (_m, _s, c: string) => c.toUpperCase());
}

/**
 * Billable actions of each event of one workflow's history, in order (0 for most). A
 * marker costs an action only as the first marker of its workflow task.
 */
export function actionsOf(events: HistoryEvent[]): number[] {
  const tasksWithMarkers = new Set<string>();
  return events.map((e) => {
    switch (e.eventType) {
      case EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
        const keys = Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {});
        return keys.length && keys.every((k) => k === 'TemporalChangeVersion') ? 0 : 1;
      }
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
      case EventType.EVENT_TYPE_TIMER_STARTED:
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
      case EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
      case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        return 1;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        // The first attempt is the scheduled action; each retry is one more.
        return Math.max(0, (e.activityTaskStartedEventAttributes?.attempt ?? 1) - 1);
      case EventType.EVENT_TYPE_MARKER_RECORDED: {
        const task = String(e.markerRecordedEventAttributes?.workflowTaskCompletedEventId ?? e.eventId);
        if (tasksWithMarkers.has(task)) return 0;
        tasksWithMarkers.add(task);
        return 1;
      }
      default:
        // Among them SignalExternalWorkflowExecutionInitiated: the signal is counted where it is received.
        return 0;
    }
  });
}

export interface Distribution {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function distribution(values: number[]): Distribution {
  const s = [...values].sort((a, b) => a - b);
  const r = (n: number) => (Number.isNaN(n) ? 0 : Math.round(n));
  return { count: s.length, p50: r(percentile(s, 50)), p95: r(percentile(s, 95)), p99: r(percentile(s, 99)), max: r(s[s.length - 1] ?? NaN) };
}

export interface WorkflowKindStats {
  workflows: number;
  completed: number;
  /** Over the completed workflows only. */
  eventsPerWorkflow: number;
  actionsPerWorkflow: number;
  /** Events per workflow by type, highest first. */
  eventsByType: Array<{ type: string; perWorkflow: number; actions: number }>;
}

export interface HistoryStats {
  firstTaskMs: Distribution;
  taskScheduleToStartMs: Distribution;
  taskStartToCompleteMs: Distribution;
  updateAcceptedToCompletedMs: Distribution;
  activityScheduleToStartMs: Distribution;
  /** Started → completed per activity type. */
  activityRunMs: Array<{ type: string } & Distribution>;
  kinds: Record<string, WorkflowKindStats>;
  /** Events and actions of one booking and its tour together (completed workflows). */
  perTour: { events: number; actions: number };
}

interface Collected {
  firstTask: number[];
  scheduleToStart: number[];
  startToComplete: number[];
  update: number[];
  activityWait: number[];
  activityRun: Map<string, number[]>;
}

function collect(events: HistoryEvent[], into: Collected): void {
  const ms = (e: HistoryEvent) => tsToMs(e.eventTime);
  const byId = new Map<number, HistoryEvent>();
  const accepted = new Map<string, number>();
  let firstTaskSeen = false;
  for (const e of events) {
    const id = Number(e.eventId);
    byId.set(id, e);
    switch (e.eventType) {
      case EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED: {
        const scheduled = byId.get(Number(e.workflowTaskStartedEventAttributes?.scheduledEventId));
        if (scheduled) into.scheduleToStart.push(ms(e) - ms(scheduled));
        if (!firstTaskSeen) into.firstTask.push(ms(e) - ms(events[0]!));
        firstTaskSeen = true;
        break;
      }
      case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: {
        const started = byId.get(Number(e.workflowTaskCompletedEventAttributes?.startedEventId));
        if (started) into.startToComplete.push(ms(e) - ms(started));
        break;
      }
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: {
        const updateId = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.updateId;
        if (updateId) accepted.set(updateId, ms(e));
        break;
      }
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED: {
        const at = accepted.get(e.workflowExecutionUpdateCompletedEventAttributes?.meta?.updateId ?? '');
        if (at !== undefined) into.update.push(ms(e) - at);
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
        const scheduled = byId.get(Number(e.activityTaskStartedEventAttributes?.scheduledEventId));
        if (scheduled) into.activityWait.push(ms(e) - ms(scheduled));
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
        const a = e.activityTaskCompletedEventAttributes;
        const started = byId.get(Number(a?.startedEventId));
        const scheduled = byId.get(Number(a?.scheduledEventId));
        const type = scheduled?.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
        if (started) {
          const list = into.activityRun.get(type) ?? [];
          list.push(ms(e) - ms(started));
          into.activityRun.set(type, list);
        }
        break;
      }
    }
  }
}

/** Fetches and analyses the histories of `workflowIds`, grouped by kind (e.g. booking, tour). */
export async function analyseHistories(client: Client, workflowIds: Record<string, string[]>, concurrency = 8): Promise<HistoryStats> {
  const into: Collected = { firstTask: [], scheduleToStart: [], startToComplete: [], update: [], activityWait: [], activityRun: new Map() };
  const kinds: Record<string, WorkflowKindStats> = {};
  let totalEvents = 0;
  let totalActions = 0;
  for (const [kind, ids] of Object.entries(workflowIds)) {
    const byType = new Map<string, { events: number; actions: number }>();
    let events = 0;
    let actions = 0;
    let completed = 0;
    await pool(ids, concurrency, async (id) => {
      const history = await client.workflow.getHandle(id).fetchHistory();
      const list = history.events ?? [];
      collect(list, into);
      // Events and actions per workflow count whole lives only: a workflow still waiting has not spent them all yet.
      if (list.at(-1)?.eventType !== EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED) return;
      completed += 1;
      events += list.length;
      const perEvent = actionsOf(list);
      for (const [i, e] of list.entries()) {
        const name = eventName(e.eventType);
        const n = perEvent[i]!;
        actions += n;
        const t = byType.get(name) ?? { events: 0, actions: 0 };
        t.events += 1;
        t.actions += n;
        byType.set(name, t);
      }
    });
    const per = (n: number) => (completed ? n / completed : 0);
    kinds[kind] = {
      workflows: ids.length,
      completed,
      eventsPerWorkflow: per(events),
      actionsPerWorkflow: per(actions),
      eventsByType: [...byType.entries()].map(([type, v]) => ({ type, perWorkflow: per(v.events), actions: per(v.actions) })).sort((a, b) => b.perWorkflow - a.perWorkflow),
    };
    totalEvents += per(events);
    totalActions += per(actions);
  }
  return {
    firstTaskMs: distribution(into.firstTask),
    taskScheduleToStartMs: distribution(into.scheduleToStart),
    taskStartToCompleteMs: distribution(into.startToComplete),
    updateAcceptedToCompletedMs: distribution(into.update),
    activityScheduleToStartMs: distribution(into.activityWait),
    activityRunMs: [...into.activityRun.entries()].map(([type, v]) => ({ type, ...distribution(v) })).sort((a, b) => b.count - a.count),
    kinds,
    perTour: { events: totalEvents, actions: totalActions },
  };
}
