import request from 'supertest';
import { Context } from '@temporalio/activity';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Notification, Notifier } from '../../adapters/email/notifier';
import { buildTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { readOutbox } from '../support/outbox';
import { RestartableWorker } from '../support/restartable-worker';
import { createTimeSkippingEnv } from '../support/temporal';
import { createProperty, createTour, serverSlot } from '../support/factories';
import { signUp, type SignedIn } from '../support/users';
import { eventually } from '../support/wait';

/**
 * The tour_start and tour_end emails across worker restarts: the real app over HTTP, the
 * real activities against Postgres and the local outbox, the TourWorkflow on the
 * time-skipping server. A worker is stopped while it is half-way through each notice (one
 * of the two people mailed); the next worker finishes it, and each person has exactly one
 * of each.
 */


interface Row {
  idempotency_key: string;
  template: string;
  recipient: string;
  status: string;
  attempts: number;
}

describe('tour_start / tour_end notices across worker restarts', () => {
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  let t: TestApp;
  let worker: RestartableWorker;
  let buyer: SignedIn;
  let realtor: SignedIn;
  const http = () => request(t.callback);

  beforeAll(async () => {
    [db, env] = await Promise.all([createTestDatabase(), createTimeSkippingEnv()]);
    t = await buildTestApp({ knex: db.knex, env, config: { TOUR_EARLY_START_MINUTES: String(24 * 60), TEMPORAL_TASK_QUEUE: 'rfy-tour-notices' } });
    worker = new RestartableWorker(env, t, db.knex);
    [buyer, realtor] = await Promise.all([signUp(t, 'buyer', 'Nia Buyer'), signUp(t, 'realtor', 'Omar Realtor')]);
  });

  afterAll(async () => {
    if (worker?.running) await worker.stop();
    t?.cleanup();
    await Promise.all([db?.destroy(), env?.teardown()]);
  });



  /** A notifier that hangs on the second mail of `template` until its worker stops. */
  function stuckOnSecond(template: string): { notifier: Notifier; stuck: Promise<void> } {
    let signal!: () => void;
    const stuck = new Promise<void>((r) => (signal = r));
    let seen = 0;
    const notifier = new Proxy(t.adapters.notifier, {
      get(target, prop, receiver) {
        if (prop !== 'send') return Reflect.get(target, prop, receiver);
        return async (n: Notification) => {
          if (n.template === template && ++seen === 2) {
            signal();
            await Context.current().cancelled;
          }
          return target.send(n);
        };
      },
    }) satisfies Notifier;
    return { notifier, stuck };
  }

  const rows = (tourId: number, kind: string): Promise<Row[]> =>
    db.knex('notifications').where('idempotency_key', 'like', `${kind}:${tourId}:%`).orderBy('recipient').select('idempotency_key', 'template', 'recipient', 'status', 'attempts');

  async function expectOneEach(tourId: number, kind: string, template: string): Promise<void> {
    const sent = await eventually(`both ${kind} mails`, async () => {
      const r = await rows(tourId, kind);
      return r.length === 2 && r.every((n) => n.status === 'sent') && r;
    }, 60_000);
    // Let anything late (a duplicate attempt) happen before counting.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await rows(tourId, kind)).toEqual(sent);
    expect(sent.map((n) => [n.template, n.recipient, n.attempts])).toEqual([buyer.email, realtor.email].sort().map((e) => [template, e, 1]));
    const mails = (await readOutbox(t.config.email.outboxDir)).filter((m) => m.idempotencyKey.startsWith(`${kind}:${tourId}:`));
    expect(mails.map((m) => m.to).sort()).toEqual([buyer.email, realtor.email].sort());
  }

  it('when the worker stops half-way through the tour_start and then the tour_end notice, then each person still gets exactly one of each', async () => {
    await worker.start();
    const propertyId = await createProperty(t, realtor, { address: '9 Notice Lane', city: 'Springfield' });
    const { tourId } = await createTour(t, { realtor, buyer }, { propertyId, scheduledAt: await serverSlot(env) });
    await worker.stop();

    // The start: one of the two tour_start mails goes out, then the worker goes away.
    const start = stuckOnSecond('tour-start');
    await worker.start({ notifier: start.notifier });
    expect((await http().post(`/api/v1/realtors/tours/${tourId}/start`).set(realtor.auth)).status).toBe(200);
    await start.stuck;
    expect((await rows(tourId, 'tour_start')).filter((r) => r.status === 'sent')).toHaveLength(1);
    await worker.stop();
    await worker.start();
    await expectOneEach(tourId, 'tour_start', 'tour-start');
    await worker.stop();

    // The end: the same again for tour_end.
    const end = stuckOnSecond('tour-end');
    await worker.start({ notifier: end.notifier });
    expect((await http().post(`/api/v1/realtors/tours/${tourId}/end`).set(realtor.auth)).status).toBe(200);
    await end.stuck;
    expect((await rows(tourId, 'tour_end')).filter((r) => r.status === 'sent')).toHaveLength(1);
    await worker.stop();
    await worker.start();
    await expectOneEach(tourId, 'tour_end', 'tour-end');
    await eventually('the tour completed', async () => (await db.knex('tours').where({ id: tourId }).first()).status === 'completed', 60_000);
    await worker.stop();
  }, 240_000);
});
