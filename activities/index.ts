import type { Knex } from 'knex';
import type { TourAnalyst, TranscriptionProvider } from '../adapters/ai/port';
import type { Notifier } from '../adapters/email/notifier';
import type { MeetingProvider } from '../adapters/meetings/port';
import type { ObjectStorage } from '../adapters/storage/port';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { createBookingActivities } from './bookings.activities';
import { createImageActivities } from './images.activities';
import { createTourActivities } from './tours.activities';
import { createWebhookActivities, webhookTransportFor } from './webhooks.activities';
import { createFeedbackActivities } from './feedback.activities';
import type { WebhookTransport } from '../adapters/webhooks/port';

/** What activities need from the outside world. */
export interface ActivityDeps {
  config: Config;
  logger: Logger;
  knex: Knex;
  storage: ObjectStorage;
  notifier: Notifier;
  meetings: MeetingProvider;
  transcriber: TranscriptionProvider;
  analyst: TourAnalyst;
  /** Default: HTTP(S) with the SSRF guard, as the configuration sets it (WEBHOOKS_*). */
  webhookTransport?: WebhookTransport;
}

/**
 * Builds the activity implementations bound to their dependencies. Workflows import
 * the *type* of this object only (`proxyActivities<Activities>`).
 */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createBookingActivities({ knex: deps.knex, notifier: deps.notifier, logger: deps.logger }),
    ...createTourActivities({
      knex: deps.knex,
      storage: deps.storage,
      meetings: deps.meetings,
      transcriber: deps.transcriber,
      analyst: deps.analyst,
      notifier: deps.notifier,
      logger: deps.logger,
      recordCalls: deps.config.tours.recordCalls,
      publicBaseUrl: deps.config.publicBaseUrl,
    }),
    ...createWebhookActivities({
      knex: deps.knex,
      notifier: deps.notifier,
      logger: deps.logger,
      transport: deps.webhookTransport ?? webhookTransportFor(deps.config),
      publicBaseUrl: deps.config.publicBaseUrl,
    }),
    ...createFeedbackActivities({ knex: deps.knex, notifier: deps.notifier, logger: deps.logger, publicBaseUrl: deps.config.publicBaseUrl }),
    ...createImageActivities({ knex: deps.knex, storage: deps.storage, logger: deps.logger, maxPixels: deps.config.images.maxPixels }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
