import { DeterminismViolationError } from '@temporalio/workflow';
import { committedHistories, historyFiles, installReplayRuntime, replayHistories } from './support/replay';

/**
 * Committed TourWorkflow histories (test/fixtures/histories/tour-*.json, recorded with
 * `node --import tsx test/tools/record-tour-history.ts`) replayed against the real workflow
 * bundle: a change that would break tours already running fails here. The `closure-*` ones
 * were recorded from the workflow as it was just before it became a state class; the
 * `local-*` ones from its local-steps path (started with `created`, issue 12), next to the
 * same scenarios as tours started before it ran them.
 */

const EXPECTED = [
  'tour-cancelled.json',
  'tour-closure-cancelled.json',
  'tour-closure-lifecycle.json',
  'tour-closure-max-call-length.json',
  'tour-closure-no-show-rescheduled.json',
  'tour-closure-processing-retry.json',
  'tour-closure-recorded-notices.json',
  'tour-lifecycle.json',
  'tour-local-cancelled.json',
  'tour-local-lifecycle.json',
  'tour-local-max-call-length.json',
  'tour-local-no-show-rescheduled.json',
  'tour-local-processing-retry.json',
  'tour-local-recorded-notices.json',
  'tour-max-call-length.json',
  'tour-no-show-rescheduled.json',
  'tour-processing-retry.json',
  'tour-recorded-notices.json',
];

const files = historyFiles('tour-');
const histories = () => committedHistories(files);
const replay = (workflowsPath: string) => replayHistories(workflowsPath, 'tour-replay', histories());

describe('TourWorkflow replay of committed histories', () => {
  beforeAll(installReplayRuntime);

  it('when the fixtures are read, then every scenario is there as a whole, finished TourWorkflow history', () => {
    expect(files).toEqual(EXPECTED);
    for (const { workflowId, history } of histories()) {
      const events = history.events ?? [];
      expect({ workflowId, type: events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name }).toEqual({ workflowId, type: 'tourWorkflow' });
      expect({ workflowId, completed: Boolean(events.at(-1)?.workflowExecutionCompletedEventAttributes) }).toEqual({ workflowId, completed: true });
    }
  });

  it('when the committed histories are replayed against the current workflows bundle, then none of them fails', async () => {
    const results = await replay(require.resolve('../../workflows'));
    expect(results.map((r) => ({ workflowId: r.workflowId, error: r.error ? String(r.error) : null }))).toEqual(
      EXPECTED.map((f) => ({ workflowId: f.replace(/\.json$/, ''), error: null })),
    );
  });

  it('when the workflow code changes incompatibly, then replaying the same histories reports non-determinism for each', async () => {
    const results = await replay(require.resolve('../fixtures/workflows/tour-changed.workflow'));
    expect(results).toHaveLength(EXPECTED.length);
    for (const r of results) expect({ workflowId: r.workflowId, error: r.error }).toEqual({ workflowId: r.workflowId, error: expect.any(DeterminismViolationError) });
  });
});
