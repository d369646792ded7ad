import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { getConfig } from '../../lib/config';

/** The time-skipping test server from the project's toolchain; never downloaded. */
export function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: getConfig().temporal.testServerPath } },
  });
}

let installed = false;

/** The SDK logs every worker state change at INFO; tests only want warnings. */
function quietRuntime(): void {
  if (installed) return;
  installed = true;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  } catch {
    // Already installed in this process by an earlier test file: keep that one.
  }
}
