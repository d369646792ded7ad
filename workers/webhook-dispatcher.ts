import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { startWebhookDeliveryWorkflow, webhookDeliverySettings, type WebhookDeliverySettings } from '../contracts/webhooks';
import { domainEventsRepository } from '../db/repositories/domain-events.repository';
import { webhooksRepository } from '../db/repositories/webhooks.repository';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';

/**
 * The outbox relay: turns each domain event not dispatched yet into one delivery per
 * matching enabled endpoint, and starts one webhookDeliveryWorkflow per delivery.
 *
 * Why a loop in the worker rather than a workflow: the outbox table already is the durable
 * state, so the relay only has to be restartable, not durable itself. Its steps are each
 * safe to repeat (the events are claimed with FOR UPDATE SKIP LOCKED, so several workers
 * share the queue; a delivery is unique per event and endpoint; a delivery's workflow id is
 * its own and starting it again is a no-op), and a workflow polling the table would only
 * add history and continue-as-new bookkeeping. A crash between creating deliveries and
 * starting their workflows is mended by the next pass: every pending delivery whose workflow
 * was never started is started (the same sweep covers a redelivery whose start from the API
 * failed).
 */

export interface DispatcherOptions {
  knex: Knex;
  client: Client;
  taskQueue: string;
  settings: WebhookDeliverySettings;
  logger: Logger;
  /** Events claimed per pass. */
  batchSize?: number;
}

export interface DispatchPass {
  /** Events marked dispatched. */
  events: number;
  /** Deliveries created for them. */
  deliveries: number;
  /** Delivery workflows started (new ones and swept ones). */
  started: number[];
}

/** One pass: dispatch a batch of events, then start every delivery not started yet. */
export async function dispatchWebhookEvents(opts: DispatcherOptions): Promise<DispatchPass> {
  const batch = opts.batchSize ?? 100;
  const { events, deliveries } = await opts.knex.transaction(async (trx) => {
    const claimed = await domainEventsRepository(trx).lockUndispatched(batch);
    let created = 0;
    for (const event of claimed) {
      const endpoints = await webhooksRepository(trx).endpoints.matching(event.type, event.realtor_id);
      created += (await webhooksRepository(trx).deliveries.createForEvent(event.id, endpoints)).length;
    }
    await domainEventsRepository(trx).markDispatched(claimed.map((e) => e.id));
    return { events: claimed.length, deliveries: created };
  });

  const started: number[] = [];
  const repo = webhooksRepository(opts.knex);
  for (const id of await repo.deliveries.unstarted(batch)) {
    try {
      await startWebhookDeliveryWorkflow(opts.client, opts.taskQueue, id, opts.settings);
      await repo.deliveries.markStarted([id]);
      started.push(id);
    } catch (err) {
      opts.logger.warn({ err, deliveryId: id }, 'webhook delivery workflow not started; the next pass retries');
    }
  }
  if (events || started.length) opts.logger.info({ events, deliveries, started: started.length }, 'webhook events dispatched');
  return { events, deliveries, started };
}

/** Runs passes every `intervalMs` (a full batch is followed at once by the next pass). */
export function startWebhookDispatcher(opts: DispatcherOptions & { intervalMs: number }): { stop(): Promise<void> } {
  const batch = opts.batchSize ?? 100;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = (async () => {
      let more = false;
      try {
        const pass = await dispatchWebhookEvents(opts);
        more = pass.events >= batch || pass.started.length >= batch;
      } catch (err) {
        opts.logger.warn({ err }, 'webhook dispatch pass failed; retrying');
      }
      if (!stopped) timer = setTimeout(tick, more ? 0 : opts.intervalMs);
    })();
  };
  timer = setTimeout(tick, opts.intervalMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/** The dispatcher as the configuration sets it up (npm start and the production worker). */
export function startConfiguredWebhookDispatcher(config: Config, knex: Knex, client: Client, logger: Logger): { stop(): Promise<void> } {
  return startWebhookDispatcher({
    knex,
    client,
    taskQueue: config.temporal.taskQueue,
    settings: webhookDeliverySettings(config),
    intervalMs: config.webhooks.dispatchIntervalMs,
    logger: logger.child({ component: 'webhook-dispatcher' }),
  });
}
