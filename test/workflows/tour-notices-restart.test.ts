import { readOutbox } from '../support/outbox';
import { RestartableWorker } from '../support/restartable-worker';
import { createBuyer, createProperty, createRealtor, createTour, serverSlot, type SignedIn } from '../support/factories';
import { notifierStuckAt } from '../support/stuck-notifier';
import { startTestSystem, TOURS_STARTABLE_NOW, type TestSystem } from '../support/system';
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
  let sys: TestSystem;
  let worker: RestartableWorker;
  let buyer: SignedIn;
  let realtor: SignedIn;

  beforeAll(async () => {
    sys = await startTestSystem({ config: { ...TOURS_STARTABLE_NOW, TEMPORAL_TASK_QUEUE: 'rfy-tour-notices' } });
    worker = new RestartableWorker(sys.env, sys.t, sys.db.knex);
    sys.onStop(() => worker.running && worker.stop());
    [buyer, realtor] = await Promise.all([createBuyer(sys.t, 'Nia Buyer'), createRealtor(sys.t, 'Omar Realtor')]);
  });

  afterAll(() => sys?.stop());

  const rows = (tourId: number, kind: string): Promise<Row[]> =>
    sys.db.knex('notifications').where('idempotency_key', 'like', `${kind}:${tourId}:%`).orderBy('recipient').select('idempotency_key', 'template', 'recipient', 'status', 'attempts');

  async function expectOneEach(tourId: number, kind: string, template: string): Promise<void> {
    const sent = await eventually(`both ${kind} mails`, async () => {
      const r = await rows(tourId, kind);
      return r.length === 2 && r.every((n) => n.status === 'sent') && r;
    }, 60_000);
    // Let anything late (a duplicate attempt) happen before counting.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await rows(tourId, kind)).toEqual(sent);
    expect(sent.map((n) => [n.template, n.recipient, n.attempts])).toEqual([buyer.email, realtor.email].sort().map((e) => [template, e, 1]));
    const mails = (await readOutbox(sys.t.config.email.outboxDir)).filter((m) => m.idempotencyKey.startsWith(`${kind}:${tourId}:`));
    expect(mails.map((m) => m.to).sort()).toEqual([buyer.email, realtor.email].sort());
  }

  it('when the worker stops half-way through the tour_start and then the tour_end notice, then each person still gets exactly one of each', async () => {
    await worker.start();
    const propertyId = await createProperty(sys.t, realtor, { address: '9 Notice Lane', city: 'Springfield' });
    const { tourId } = await createTour(sys.t, { realtor, buyer }, { propertyId, scheduledAt: await serverSlot(sys.env) });
    await worker.stop();

    /** One of the two `kind` mails goes out, then the worker goes away; the next worker (left running) finishes the notice. */
    const haltHalfWay = async (action: 'start' | 'end', kind: string, template: string) => {
      const halted = notifierStuckAt(sys.t.adapters.notifier, template);
      await worker.start({ notifier: halted.notifier });
      expect((await sys.http().post(`/api/v1/realtors/tours/${tourId}/${action}`).set(realtor.auth)).status).toBe(200);
      await halted.stuck;
      // The two go out at once: the other's send may still be finishing when this one hangs.
      await eventually(`one ${kind} mail sent`, async () => (await rows(tourId, kind)).filter((r) => r.status === 'sent').length === 1, 30_000);
      expect((await rows(tourId, kind)).filter((r) => r.status === 'sent')).toHaveLength(1);
      await worker.stop();
      await worker.start();
      await expectOneEach(tourId, kind, template);
    };

    await haltHalfWay('start', 'tour_start', 'tour-start');
    await worker.stop();
    await haltHalfWay('end', 'tour_end', 'tour-end');
    await eventually('the tour completed', async () => (await sys.db.knex('tours').where({ id: tourId }).first()).status === 'completed', 60_000);
    await worker.stop();
  }, 240_000);
});
