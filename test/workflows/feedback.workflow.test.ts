import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  FEEDBACK_REMINDER_DELAY_MS,
  feedbackGivenSignal,
  feedbackStateQuery,
  feedbackWorkflowId,
  startFeedbackWorkflow,
  type FeedbackWorkflowState,
} from '../../contracts/feedback';
import { feedbackWorkflow } from '../../workflows/feedback.workflow';
import { FakeFeedbackNotices } from '../support/feedback-activity-fakes';
import { createTimeSkippingEnv } from '../support/temporal';
import { eventually } from '../support/wait';

/**
 * The FeedbackWorkflow on the time-skipping server, its one activity faked: the request
 * goes out once, the reminder a day later unless the buyer answered (by signal, or found by
 * the activity), and a tour that was cancelled gets neither.
 */

const QUEUE = 'feedback-workflow-test';
const HOUR = 3_600_000;

describe('FeedbackWorkflow', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  const fake = new FakeFeedbackNotices(() => env.currentTimeMs());
  const { outcomes } = fake;
  let nextTour = 1000;

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: QUEUE,
      workflowsPath: require.resolve('../../workflows/feedback.workflow'),
      activities: fake.activities,
    });
    running = worker.run();
  }, 120_000);

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  const of = (tourId: number) => fake.of(tourId);
  const handleOf = (tourId: number) => env.client.workflow.getHandle<typeof feedbackWorkflow>(feedbackWorkflowId(tourId));

  it('when nobody answers, then the buyer is asked once and reminded once, a day later', async () => {
    const tourId = (nextTour += 1);
    await startFeedbackWorkflow(env.client, QUEUE, tourId);
    const state: FeedbackWorkflowState = await handleOf(tourId).result();
    expect(state).toEqual({ tourId, requested: true, reminded: true, answered: false });
    const [request, reminder, ...more] = of(tourId);
    expect([request?.kind, reminder?.kind, more]).toEqual(['request', 'reminder', []]);
    expect(reminder!.atMs - request!.atMs).toBeGreaterThanOrEqual(FEEDBACK_REMINDER_DELAY_MS);
  });

  it('when the buyer answers within the day, then no reminder is sent, then or later', async () => {
    const tourId = (nextTour += 1);
    await startFeedbackWorkflow(env.client, QUEUE, tourId);
    await eventually('the request', () => of(tourId).length === 1);
    await handleOf(tourId).signal(feedbackGivenSignal);
    expect(await handleOf(tourId).result()).toEqual({ tourId, requested: true, reminded: false, answered: true });
    await env.sleep(FEEDBACK_REMINDER_DELAY_MS + HOUR);
    expect(of(tourId).map((s) => s.kind)).toEqual(['request']);
  });

  it('when the answer came but its signal did not, then the reminder activity finds it and sends nothing', async () => {
    const tourId = (nextTour += 1);
    outcomes.set(`${tourId}:reminder`, 'answered');
    await startFeedbackWorkflow(env.client, QUEUE, tourId);
    expect(await handleOf(tourId).result()).toEqual({ tourId, requested: true, reminded: false, answered: true });
    expect(of(tourId).map((s) => s.kind)).toEqual(['request']);
  });

  it('when the tour or its booking was cancelled, then there is no request and no reminder', async () => {
    const tourId = (nextTour += 1);
    outcomes.set(`${tourId}:request`, 'cancelled');
    await startFeedbackWorkflow(env.client, QUEUE, tourId);
    expect(await handleOf(tourId).result()).toEqual({ tourId, requested: false, reminded: false, answered: false });
    expect(of(tourId)).toEqual([]);
  });

  it('when the workflow is started again, while it waits or after it finished, then it is the same one and asks once', async () => {
    const tourId = (nextTour += 1);
    await startFeedbackWorkflow(env.client, QUEUE, tourId);
    await eventually('the request', () => of(tourId).length === 1);
    const first = (await handleOf(tourId).describe()).runId;
    await startFeedbackWorkflow(env.client, QUEUE, tourId);
    expect((await handleOf(tourId).describe()).runId).toBe(first);
    expect(await handleOf(tourId).query(feedbackStateQuery)).toMatchObject({ requested: true, reminded: false });
    await handleOf(tourId).result();
    // Finished: a late start (a retried activity) does not begin another run.
    await startFeedbackWorkflow(env.client, QUEUE, tourId);
    expect((await handleOf(tourId).describe()).runId).toBe(first);
    expect(of(tourId).map((s) => s.kind)).toEqual(['request', 'reminder']);
  });
});
