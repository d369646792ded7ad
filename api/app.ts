import Koa from 'koa';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Knex } from 'knex';
import type { Client } from '@temporalio/client';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import type { TemporalProbe } from '../lib/temporal';
import { errorHandler } from './middleware/error-handler';
import { requestContext } from './middleware/request-id';
import { healthRoutes } from './health/routes';

export interface AppDeps {
  config: Config;
  logger: Logger;
  knex: Knex;
  /** Starts, signals, updates and queries workflows. */
  temporal: Client;
  temporalProbe: TemporalProbe;
}

export function createApp(deps: AppDeps): Koa {
  const app = new Koa({ proxy: deps.config.env === 'production' });
  // Errors are logged by the error handler with their request id; Koa's default
  // printer would write stacks to stderr.
  app.silent = true;

  app.use(requestContext(deps.logger));
  app.use(errorHandler());
  app.use(bodyParser({ enableTypes: ['json'], jsonLimit: '1mb', encoding: 'utf-8' }));

  const root = new Router();
  const health = healthRoutes(deps);
  root.use(health.routes(), health.allowedMethods({ throw: true }));

  const api = new Router({ prefix: '/api/v1' });
  root.use(api.routes(), api.allowedMethods({ throw: true }));

  app.use(root.routes());
  app.use(root.allowedMethods({ throw: true }));
  return app;
}
