import Koa from 'koa';
import Router from '@koa/router';
import cors from '@koa/cors';
import helmet from 'koa-helmet';
import type { Knex } from 'knex';
import type { Client } from '@temporalio/client';
import type { Adapters } from '../adapters';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import type { TemporalProbe } from '../lib/temporal';
import { ACCESS_TABLE } from './access-table';
import { AuditLogService } from './audit-logs/service';
import { auditLogRoutes } from './audit-logs/routes';
import { AuthService } from './auth/service';
import { authRoutes } from './auth/routes';
import { docsRoutes } from './docs/routes';
import { signedFiles } from './files/routes';
import { healthRoutes } from './health/routes';
import { guard } from './middleware/authenticate';
import { UserCache } from './middleware/user-cache';
import { errorHandler } from './middleware/error-handler';
import { routesWithAllowedMethods } from './middleware/allowed-methods';
import { jsonBody } from './middleware/json-body';
import { httpMetrics } from './middleware/metrics';
import { createRateLimits } from './middleware/rate-limit';
import { requestContext } from './middleware/request-id';
import { temporalScope } from './middleware/temporal-scope';
import { createWorkerPresence } from './worker-presence';
import { buildOpenApiDocument } from './openapi';
import { mountRoutes, type AnyRouteSpec } from './routing';
import { UserService } from './users/service';
import { BookingService } from './bookings/service';
import { bookingRoutes } from './bookings/routes';
import { AvailabilityService } from './availability/service';
import { availabilityRoutes } from './availability/routes';
import { FeedbackService } from './feedback/service';
import { feedbackRoutes } from './feedback/routes';
import { TourService } from './tours/service';
import { tourRoutes } from './tours/routes';
import { ShareLinkService } from './share-links/service';
import { shareLinkRoutes } from './share-links/routes';
import { sharedRecapRateLimit } from './share-links/rate-limit';
import { TourSearchService } from './tour-search/service';
import { tourSearchRoutes } from './tour-search/routes';
import { PropertyService, type ImageProcessingStarter } from './properties/service';
import { propertyRoutes } from './properties/routes';
import { bookingWorkflowSettings } from '../contracts/bookings';
import { startImageProcessing } from './workflow-starters';
import { userRoutes } from './users/routes';
import { WebhookService } from './webhooks/service';
import { webhookRoutes } from './webhooks/routes';
import { webhookDeliverySettings } from '../contracts/webhooks';

export interface AppDeps {
  config: Config;
  logger: Logger;
  knex: Knex;
  /** Starts, signals, updates and queries workflows. */
  temporal: Client;
  temporalProbe: TemporalProbe;
  adapters: Adapters;
}

/** Every API route, in one list: mounted, documented and role-tested from here. */
/** `userCache` is the guard's: services that change a user make it forget them. */
export function apiRoutes(deps: AppDeps, userCache = new UserCache()): AnyRouteSpec[] {
  const { knex, adapters, logger, config } = deps;
  const users = new UserService({ knex, identity: adapters.identity, storage: adapters.storage, logger, users: userCache });
  const images: ImageProcessingStarter = { start: (imageId) => startImageProcessing(deps.temporal, config.temporal.taskQueue, imageId) };
  const properties = new PropertyService({ knex, storage: adapters.storage, images, logger, limits: { maxPixels: config.images.maxPixels } });
  const bookings = new BookingService({
    knex,
    temporal: deps.temporal,
    taskQueue: config.temporal.taskQueue,
    minNoticeMinutes: config.bookings.minNoticeMinutes,
    maxAheadDays: config.bookings.maxAheadDays,
    commandWaitMs: config.temporal.commandWaitMs,
    workflowSettings: bookingWorkflowSettings(config),
    logger,
  });
  const tours = new TourService({
    knex,
    temporal: deps.temporal,
    storage: adapters.storage,
    logger,
    commandWaitMs: config.temporal.commandWaitMs,
    earlyStartMinutes: config.tours.earlyStartMinutes,
    notesGraceMinutes: config.tours.notesGraceMinutes,
  });
  return [
    ...authRoutes(new AuthService({ knex, identity: adapters.identity, notifier: adapters.notifier, logger, users: userCache }), adapters.storage),
    ...propertyRoutes(properties, adapters.storage, { imageMaxBytes: config.images.maxBytes, imageMaxFiles: config.images.maxFiles }),
    ...bookingRoutes(bookings),
    ...availabilityRoutes(new AvailabilityService({ knex, minNoticeMinutes: config.bookings.minNoticeMinutes, maxAheadDays: config.bookings.maxAheadDays })),
    // Before the tour routes: `/tours/search` is not a tour id for `/tours/:id`.
    ...tourSearchRoutes(new TourSearchService({ knex })),
    ...tourRoutes(tours, { recordingMaxBytes: config.tours.recordingMaxBytes }),
    ...feedbackRoutes(new FeedbackService({ knex, temporal: deps.temporal, logger })),
    ...shareLinkRoutes(
      new ShareLinkService({ knex, storage: adapters.storage, limits: config.shareLinks, mediaUrlTtlSeconds: config.storage.urlTtlSeconds, publicBaseUrl: config.publicBaseUrl }),
      config.shareLinks,
    ),
    ...userRoutes(users, adapters.storage, config.storage.avatarMaxBytes),
    ...auditLogRoutes(new AuditLogService({ knex })),
    ...webhookRoutes(
      new WebhookService({ knex, temporal: deps.temporal, taskQueue: config.temporal.taskQueue, settings: webhookDeliverySettings(config), allowPrivate: config.webhooks.allowPrivate, logger }),
    ),
  ];
}

export function createApp(deps: AppDeps): Koa {
  const { config, adapters } = deps;
  // Client addresses (rate limits, logs) come from X-Forwarded-For only as far as the
  // configured proxies reach: entries a client wrote itself are never trusted.
  const hops = config.api.trustProxyHops;
  const app = new Koa(hops > 0 ? { proxy: true, maxIpsCount: hops } : { proxy: false });
  // Errors are logged by the error handler with their request id; Koa's default
  // printer would write stacks to stderr.
  app.silent = true;

  const userCache = new UserCache();
  const routes = apiRoutes(deps, userCache);
  let document: object | undefined;
  const openApi = () => (document ??= buildOpenApiDocument(routes, ACCESS_TABLE, config.publicBaseUrl));

  app.use(httpMetrics());
  app.use(requestContext(deps.logger));
  app.use(errorHandler());
  const workerPresence = createWorkerPresence({
    connection: deps.temporal.connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    maxAgeMs: config.temporal.workerPollMaxAgeMs,
  });
  app.use(temporalScope(deps.temporal.connection, config.temporal.rpcTimeoutMs, workerPresence));
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          // Swagger UI sets inline styles.
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:'],
        },
      },
    }),
  );
  const allowed = new Set(config.api.corsOrigins);
  app.use(
    cors({
      // An origin outside the allowlist gets no CORS headers, so browsers refuse it.
      origin: (ctx) => (allowed.has(ctx.get('Origin')) ? ctx.get('Origin') : ''),
      allowHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id'],
      exposeHeaders: ['X-Request-Id', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'],
      maxAge: 600,
    }),
  );
  const limits = createRateLimits(deps.knex, config.api.rateLimits);
  // Before the body is read, so a flood of large bodies is refused cheaply.
  app.use(limits.authAddress);
  app.use(sharedRecapRateLimit(deps.knex, config.shareLinks.rateLimit));
  app.use(jsonBody(config.api.jsonBodyLimitBytes));
  app.use(limits.authAccount);
  app.use(signedFiles(adapters.storage, adapters.storageSecret));

  const root = new Router();
  const health = healthRoutes({ ...deps, workerPresence });
  root.use(health.routes());
  const docs = docsRoutes(openApi);
  root.use(docs.routes());
  if (adapters.localIdentity) {
    const local = adapters.localIdentity;
    root.get('/.well-known/jwks.json', (ctx) => {
      ctx.set('Cache-Control', 'public, max-age=300');
      ctx.body = local.jwks();
    });
  }
  const authenticate = guard({ identity: adapters.identity, knex: deps.knex, accessTable: ACCESS_TABLE, users: userCache });
  mountRoutes(root, routes, {
    // The per-user limit needs the verified user, so it runs right after the guard.
    guard: (key) => {
      const check = authenticate(key);
      return (ctx, next) => check(ctx, () => limits.apiUser(ctx, next));
    },
  });

  app.use(routesWithAllowedMethods(root));
  return app;
}
