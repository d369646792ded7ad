import type { Knex } from 'knex';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createApp } from '../../api/app';
import { getConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import type { TemporalProbe } from '../../lib/temporal';

/** The real app, wired to a test database and the time-skipping server's client. */
export function buildTestApp(deps: { knex: Knex; env: TestWorkflowEnvironment; temporalProbe?: TemporalProbe }) {
  const config = getConfig();
  const temporalProbe: TemporalProbe = deps.temporalProbe ?? {
    check: async () => {
      await deps.env.connection.healthService.check({});
    },
    close: async () => undefined,
  };
  return createApp({ config, logger: createLogger(config, 'test-api'), knex: deps.knex, temporal: deps.env.client, temporalProbe });
}
