import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { HistoryAndWorkflowId } from '@temporalio/client';
import { DefaultLogger, Runtime, Worker, type ReplayResult } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { FEEDBACK_NOTICES_LOCAL_PATCH } from '../../workflows/feedback.workflow';
import { historyFromJson, patchIds, type History } from '../fixtures/history-json';

/**
 * Committed FeedbackWorkflow histories (test/fixtures/histories/feedback-*.json, recorded by
 * `node --import tsx test/tools/record-feedback-history.ts`) replayed against the real
 * workflow bundle. feedback-activity-*.json were recorded before 'feedback-notices-local'
 * (commit 8908eca: each email an activity) and stand for feedback workflows still waiting
 * out their day when that change ships; feedback-local-*.json are the workflow as it runs
 * now (each email a local activity in the task that asks for it).
 */

const HISTORIES_DIR = path.join(__dirname, '..', 'fixtures', 'histories');

/** What each recorded story must contain, so a re-recording cannot quietly lose a path. */
const EXPECTED: Record<string, { signals: string[]; timersFired: number; emails: { activities: number; local: number }; workflowTasks: number; local: boolean; state: object }> = {
  'feedback-activity-already-answered': { signals: [], timersFired: 0, emails: { activities: 1, local: 0 }, workflowTasks: 2, local: false, state: { requested: false, reminded: false, answered: true } },
  'feedback-activity-answered': { signals: ['feedbackGiven'], timersFired: 0, emails: { activities: 1, local: 0 }, workflowTasks: 3, local: false, state: { requested: true, reminded: false, answered: true } },
  'feedback-activity-reminded': { signals: [], timersFired: 1, emails: { activities: 2, local: 0 }, workflowTasks: 4, local: false, state: { requested: true, reminded: true, answered: false } },
  'feedback-local-already-answered': { signals: [], timersFired: 0, emails: { activities: 0, local: 1 }, workflowTasks: 1, local: true, state: { requested: false, reminded: false, answered: true } },
  'feedback-local-answered': { signals: ['feedbackGiven'], timersFired: 0, emails: { activities: 0, local: 1 }, workflowTasks: 2, local: true, state: { requested: true, reminded: false, answered: true } },
  'feedback-local-reminded': { signals: [], timersFired: 1, emails: { activities: 0, local: 2 }, workflowTasks: 2, local: true, state: { requested: true, reminded: true, answered: false } },
};

const files = readdirSync(HISTORIES_DIR)
  .filter((f) => /^feedback-.+\.json$/.test(f))
  .sort();

function histories(): Array<HistoryAndWorkflowId & { history: History }> {
  return files.map((f) => ({ workflowId: f.replace(/\.json$/, ''), history: historyFromJson(JSON.parse(readFileSync(path.join(HISTORIES_DIR, f), 'utf8'))) }));
}

async function replay(workflowsPath: string, only?: RegExp): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  const chosen = histories().filter((h) => !only || only.test(h.workflowId));
  for await (const r of Worker.runReplayHistories({ workflowsPath, replayName: 'feedback-replay' }, chosen)) results.push(r);
  return results;
}

function summary(history: History) {
  const events = history.events ?? [];
  const result = events.at(-1)?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0]?.data;
  const { tourId: _tourId, ...state } = JSON.parse(Buffer.from(result!).toString('utf8')) as { tourId: number };
  return {
    type: events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name,
    signals: events.flatMap((e) => e.workflowExecutionSignaledEventAttributes?.signalName ?? []),
    timersFired: events.filter((e) => e.timerFiredEventAttributes).length,
    emails: {
      activities: events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'sendFeedbackNotice').length,
      local: events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length,
    },
    workflowTasks: events.filter((e) => e.workflowTaskCompletedEventAttributes).length,
    local: patchIds(history).includes(FEEDBACK_NOTICES_LOCAL_PATCH),
    state,
  };
}

describe('FeedbackWorkflow replay of committed histories', () => {
  beforeAll(() => {
    try {
      Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
    } catch {
      // Already installed in this process by an earlier test file: keep that one.
    }
  });

  it('when the fixtures are read, then each recorded story is there as a whole, finished FeedbackWorkflow history on its path', () => {
    expect(files).toEqual(Object.keys(EXPECTED).map((name) => `${name}.json`));
    for (const { workflowId, history } of histories()) {
      expect({ workflowId, ...summary(history) }).toEqual({ workflowId, type: 'feedbackWorkflow', ...EXPECTED[workflowId] });
    }
  });

  it('when the committed histories are replayed against the current workflows bundle, then none of them fails', async () => {
    const results = await replay(require.resolve('../../workflows'));
    expect(results.map((r) => ({ workflowId: r.workflowId, error: r.error })).sort((a, b) => a.workflowId.localeCompare(b.workflowId))).toEqual(
      Object.keys(EXPECTED).map((workflowId) => ({ workflowId, error: undefined })),
    );
  });

  it('when the emails became local activities without patched(), then the histories recorded before report non-determinism', async () => {
    const results = await replay(require.resolve('../fixtures/histories/feedback-unpatched.workflows'), /^feedback-activity-/);
    expect(results).toHaveLength(3);
    for (const r of results) expect({ workflowId: r.workflowId, error: r.error }).toEqual({ workflowId: r.workflowId, error: expect.any(DeterminismViolationError) });
  });
});
