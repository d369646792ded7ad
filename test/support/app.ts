import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import type Koa from 'koa';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { buildAdapters, type Adapters } from '../../adapters';
import { createApp } from '../../api/app';
import { loadConfig, type Config } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import type { TemporalProbe } from '../../lib/temporal';

export interface TestApp {
  app: Koa;
  callback: ReturnType<Koa['callback']>;
  config: Config;
  adapters: Adapters;
  dataDir: string;
  cleanup(): void;
}

/**
 * The real app, wired to a test database, a throw-away data folder (keys, outbox,
 * files) and the time-skipping server's client. `env` overrides configuration.
 */
export async function buildTestApp(deps: {
  knex: Knex;
  env: TestWorkflowEnvironment;
  temporalProbe?: TemporalProbe;
  config?: Record<string, string>;
}): Promise<TestApp> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'rfy-app-'));
  const config = loadConfig({
    ...process.env,
    DATA_DIR: dataDir,
    AUTH_RATE_LIMIT_MAX: '100000',
    AUTH_ACCOUNT_RATE_LIMIT_MAX: '100000',
    API_RATE_LIMIT_MAX: '0',
    // Commands answer 202 when their workflow takes longer than this; on a busy CI machine
    // a test that expects the final answer must not see a 202 (tests of 202 hold the worker).
    WORKFLOW_COMMAND_WAIT_MS: '30000',
    // The time-skipping server moves workflow time, not the activities' clocks: a reminder's
    // activity started ahead waits its head start in real time.
    BOOKING_REMINDER_HEADSTART_SECONDS: '2',
    ...deps.config,
  });
  const logger = createLogger(config, 'test-api');
  const adapters = buildAdapters(config, deps.knex, logger);
  await adapters.identity.init();
  const temporalProbe: TemporalProbe = deps.temporalProbe ?? {
    check: async () => {
      await deps.env.connection.healthService.check({});
    },
    close: async () => undefined,
  };
  const app = createApp({ config, logger, knex: deps.knex, temporal: deps.env.client, temporalProbe, adapters });
  return { app, callback: app.callback(), config, adapters, dataDir, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
}
