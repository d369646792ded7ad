import type { Knex } from 'knex';
import type { ObjectStorage } from '../adapters/storage/port';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { createImageActivities } from './images.activities';

/** What activities need from the outside world. */
export interface ActivityDeps {
  config: Config;
  logger: Logger;
  knex: Knex;
  storage: ObjectStorage;
}

/**
 * Builds the activity implementations bound to their dependencies. Workflows import
 * the *type* of this object only (`proxyActivities<Activities>`).
 */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createImageActivities({ knex: deps.knex, storage: deps.storage, logger: deps.logger, maxPixels: deps.config.images.maxPixels }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
