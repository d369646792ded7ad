/**
 * node --import tsx test/tools/record-feedback-history.ts [outDir]
 *
 * Records FeedbackWorkflow histories (test/fixtures/histories/feedback-*.json) that
 * test/workflows/feedback-replay.test.ts replays: the real workflow on the time-skipping
 * test server with its one activity faked, each story's history saved as proto JSON (the
 * format of `temporal workflow show --output json` and the Web UI's download).
 *
 * A file is named after the path its workflow ran: `feedback-local-*` when the history has
 * the 'feedback-notices-local' patch marker (its emails sent as local activities, in the
 * workflow task that asked for them), `feedback-activity-*` when not (recorded with the
 * workflow of commit 8908eca, before that patch). Re-record only on purpose: a committed
 * history stands for feedback workflows already waiting out their day in production.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { feedbackGivenSignal, feedbackWorkflowId, startFeedbackWorkflow, type FeedbackNoticeKind } from '../../contracts/feedback';
import { FEEDBACK_NOTICES_LOCAL_PATCH } from '../../workflows/feedback.workflow';
import { historyToJson, patchIds } from '../fixtures/history-json';
import { FakeFeedbackNotices } from '../support/feedback-activity-fakes';
import { createTimeSkippingEnv } from '../support/temporal';
import { eventually } from '../support/wait';
import { runRecorder } from './run-recorder';

const TASK_QUEUE = 'record-feedback-history';

export const DEFAULT_OUT_DIR = path.join(__dirname, '..', 'fixtures', 'histories');

/** Runs each story and writes its history; returns the paths written. */
export async function recordFeedbackHistories(outDir = DEFAULT_OUT_DIR): Promise<string[]> {
  const env = await createTimeSkippingEnv();
  // The environment's own client: the server skips time while a result is awaited (the day's wait).
  const { client } = env;
  const fake = new FakeFeedbackNotices(() => env.currentTimeMs());
  const sent = (tourId: number, kind: FeedbackNoticeKind) => fake.of(tourId).some((s) => s.kind === kind);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowsPath: require.resolve('../../workflows'),
    activities: fake.activities,
  });
  const written: string[] = [];
  mkdirSync(outDir, { recursive: true });
  const save = async (story: string, handle: WorkflowHandle) => {
    const history = await handle.fetchHistory();
    const local = patchIds(history).includes(FEEDBACK_NOTICES_LOCAL_PATCH);
    const file = path.join(outDir, `feedback-${local ? 'local' : 'activity'}-${story}.json`);
    writeFileSync(file, historyToJson(history));
    written.push(file);
  };

  try {
    await worker.runUntil(async () => {
      // Answered within the day: asked once, the signal ends the wait, no reminder.
      {
        await startFeedbackWorkflow(client, TASK_QUEUE, 1);
        const handle = client.workflow.getHandle(feedbackWorkflowId(1));
        await eventually('the request', async () => sent(1, 'request'), 15_000, 20);
        await handle.signal(feedbackGivenSignal);
        await handle.result();
        await save('answered', handle);
      }
      // Nobody answers: asked, then reminded a day later.
      {
        await startFeedbackWorkflow(client, TASK_QUEUE, 2);
        const handle = client.workflow.getHandle(feedbackWorkflowId(2));
        await handle.result();
        if (!sent(2, 'reminder')) throw new Error('tour 2 was not reminded');
        await save('reminded', handle);
      }
      // The activity finds the feedback already given: nothing sent, no wait.
      {
        fake.outcomes.set('3:request', 'answered');
        await startFeedbackWorkflow(client, TASK_QUEUE, 3);
        const handle = client.workflow.getHandle(feedbackWorkflowId(3));
        await handle.result();
        await save('already-answered', handle);
      }
    });
  } finally {
    await env.teardown();
  }
  return written;
}

if (require.main === module) runRecorder('record-feedback-history', () => recordFeedbackHistories(process.argv[2]));
