import type { Knex } from 'knex';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';

/** What activities need from the outside world; adapters join as they are built. */
export interface ActivityDeps {
  config: Config;
  logger: Logger;
  knex: Knex;
}

/**
 * Builds the activity implementations bound to their dependencies. Workflows import
 * the *type* of this object only (`typeof createActivities` via proxyActivities).
 */
export function createActivities(_deps: ActivityDeps) {
  return {};
}

export type Activities = ReturnType<typeof createActivities>;
