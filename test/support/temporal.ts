import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { closedChannelGuardPlugin } from '../../lib/closed-channel-guard';
import { getConfig } from '../../lib/config';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';

// temporal.api.enums.v1.IndexedValueType
const INDEXED_VALUE_TYPE: Record<string, number> = { KEYWORD: 2, INT: 3 };

/**
 * The time-skipping test server from the project's toolchain (never downloaded), with the
 * custom search attributes registered as the dev server does at start.
 */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: getConfig().temporal.testServerPath } },
    // A client retry still due when a test file tears the environment down must not fail that file.
    plugins: [closedChannelGuardPlugin],
  });
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTES.map((k) => [k.name, INDEXED_VALUE_TYPE[k.type]!])),
  });
  return env;
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

/** The test server's clock: read it, move it forward, and pick whole-minute start times. */
export function serverClock(env: () => TestWorkflowEnvironment) {
  const MINUTE = 60_000;
  const now = () => env().currentTimeMs();
  return {
    now,
    /** Moves server time forward to `atMs` (never back). */
    async sleepUntil(atMs: number): Promise<void> {
      const ms = atMs - (await now());
      if (ms > 0) await env().sleep(ms);
    },
    /** A whole minute at least `ms` from now. */
    async startIn(ms: number): Promise<number> {
      return Math.ceil(((await now()) + ms) / MINUTE) * MINUTE;
    },
  };
}
