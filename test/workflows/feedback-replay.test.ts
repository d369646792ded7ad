import { DeterminismViolationError } from '@temporalio/workflow';
import { FEEDBACK_NOTICES_LOCAL_PATCH } from '../../workflows/feedback.workflow';
import { patchIds, type History } from '../fixtures/history-json';
import { committedHistories, historyFiles, installReplayRuntime, replayHistories } from './support/replay';

/**
 * Committed FeedbackWorkflow histories (test/fixtures/histories/feedback-*.json, recorded by
 * `node --import tsx test/tools/record-feedback-history.ts`) replayed against the real
 * workflow bundle. feedback-activity-*.json were recorded before 'feedback-notices-local'
 * (commit 8908eca: each email an activity) and stand for feedback workflows still waiting
 * out their day when that change ships; feedback-local-*.json are the workflow as it runs
 * now (each email a local activity in the task that asks for it).
 */

/** What each recorded story must contain, so a re-recording cannot quietly lose a path. */
const EXPECTED: Record<string, { signals: string[]; timersFired: number; emails: { activities: number; local: number }; workflowTasks: number; local: boolean; state: object }> = {
  'feedback-activity-already-answered': { signals: [], timersFired: 0, emails: { activities: 1, local: 0 }, workflowTasks: 2, local: false, state: { requested: false, reminded: false, answered: true } },
  'feedback-activity-answered': { signals: ['feedbackGiven'], timersFired: 0, emails: { activities: 1, local: 0 }, workflowTasks: 3, local: false, state: { requested: true, reminded: false, answered: true } },
  'feedback-activity-reminded': { signals: [], timersFired: 1, emails: { activities: 2, local: 0 }, workflowTasks: 4, local: false, state: { requested: true, reminded: true, answered: false } },
  'feedback-local-already-answered': { signals: [], timersFired: 0, emails: { activities: 0, local: 1 }, workflowTasks: 1, local: true, state: { requested: false, reminded: false, answered: true } },
  'feedback-local-answered': { signals: ['feedbackGiven'], timersFired: 0, emails: { activities: 0, local: 1 }, workflowTasks: 2, local: true, state: { requested: true, reminded: false, answered: true } },
  'feedback-local-reminded': { signals: [], timersFired: 1, emails: { activities: 0, local: 2 }, workflowTasks: 2, local: true, state: { requested: true, reminded: true, answered: false } },
};

const files = historyFiles('feedback-');

/** Replays the committed histories (those whose name matches `only`) against the bundle of `workflowsPath`. */
const replay = (workflowsPath: string, only?: RegExp) =>
  replayHistories(workflowsPath, 'feedback-replay', committedHistories(files.filter((f) => !only || only.test(f))));

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
  beforeAll(installReplayRuntime);

  it('when the fixtures are read, then each recorded story is there as a whole, finished FeedbackWorkflow history on its path', () => {
    expect(files).toEqual(Object.keys(EXPECTED).map((name) => `${name}.json`));
    for (const { workflowId, history } of committedHistories(files)) {
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
