import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createTimeSkippingEnv } from '../support/temporal';
import { durableTimerWorkflow } from '../fixtures/workflows/durable-timer.workflow';

const SEVEN_DAYS_MS = 7 * 24 * 60 * 60 * 1000;

describe('time-skipping test server from the project toolchain', () => {
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
  });

  afterAll(async () => {
    await env?.teardown();
  });

  it('when a workflow sleeps on a 7-day durable timer, then it completes within the test timeout with 7 days of workflow time passed', async () => {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'time-skipping-test',
      workflowsPath: require.resolve('../fixtures/workflows/durable-timer.workflow'),
    });
    const result = await worker.runUntil(
      env.client.workflow.execute(durableTimerWorkflow, {
        args: ['7 days'],
        workflowId: `durable-timer-${Date.now()}`,
        taskQueue: 'time-skipping-test',
      }),
    );
    expect(result.after - result.before).toBeGreaterThanOrEqual(SEVEN_DAYS_MS);
  });
});
