import { Worker } from '@temporalio/worker';
import type request from 'supertest';
import { createActivities } from '../../activities';
import { bookingWorkflowId } from '../../contracts/bookings';
import { createLogger } from '../../lib/logger';
import { readOutbox } from '../support/outbox';
import { type TestDatabase, count } from '../support/db';
import {
  confirmBooking,
  createAdmin,
  createBuyer,
  createProperty,
  createRealtor,
  requestBooking,
  serverSlot,
  type SignedIn,
} from '../support/factories';
import { startTestSystem, TOURS_STARTABLE_NOW, type TestSystem } from '../support/system';
import { eventually } from '../support/wait';

/**
 * Workflow commands safe to retry (issue 15, point 5), over HTTP against the real app, the
 * time-skipping server and a worker with the real activities: an Idempotency-Key makes a
 * repeated command answer as the first did without running twice, a repeated confirm by its
 * realtor answers 200 as the first, and a command the workflow has taken but not finished
 * within the wait is answered 202 with the resource and where to poll it.
 *
 * The worker's confirmBooking activity can be held at a gate, so that "taken but not
 * finished" is a state the test makes, not a race it hopes to win.
 */

const HOUR = 3_600_000;

/** Holds confirmBooking while closed; counts how often the activity was entered. */
class Gate {
  entered = 0;
  private release: (() => void) | undefined;
  private opened: Promise<void> = Promise.resolve();

  close(): void {
    this.opened = new Promise((resolve) => (this.release = resolve));
  }

  open(): void {
    this.release?.();
    this.release = undefined;
  }

  async pass(): Promise<void> {
    this.entered += 1;
    await this.opened;
  }
}

describe('workflow commands safe to retry', () => {
  let sys: TestSystem;
  let db: TestDatabase;
  let realtor: SignedIn;
  let otherRealtor: SignedIn;
  let buyer: SignedIn;
  let admin: SignedIn;
  let propertyId: number;
  /** Holds the confirmation's database step. */
  const gate = new Gate();
  /** Holds the other moves' database step (decline, cancel, expiry). */
  const transitions = new Gate();
  const http = () => sys.http();

  const confirm = (id: number, key?: string, who: SignedIn = realtor): request.Test => {
    const req = http().put(`/api/v1/realtors/bookings/${id}/confirm`).set(who.auth);
    return key ? req.set('Idempotency-Key', key) : req;
  };
  const withKey = (req: request.Test, key: string) => req.set('Idempotency-Key', key);
  let keys = 0;
  const newKey = () => `cmd-${process.pid}-${++keys}`;

  /** The first whole hour two hours ahead of the server's clock: the tour that is started (a day's early-start window reaches it). */
  let base: number;
  let slot = 0;
  /** A time of its own, an hour after the previous one. */
  const nextTime = () => new Date(base + ++slot * HOUR).toISOString();
  /** A pending booking of `buyer`'s at `at`, by default a time of its own. */
  const pending = async (at = nextTime()): Promise<number> => (await requestBooking(sys.t, buyer, propertyId, { scheduledAt: at })).id;

  const audits = (action: string, resourceType: string, id: number) => count(db.knex('audit_logs').where({ action, resource_type: resourceType, resource_id: id }));
  const confirmedMail = async (bookingId: number) =>
    (await readOutbox(sys.t.config.email.outboxDir)).filter((m) => m.idempotencyKey.startsWith(`booking:${bookingId}:confirmed:`));

  beforeAll(async () => {
    // The 202 cases hold the worker at a gate, so they answer 202 whatever the wait is; the
    // others must finish within it even on a busy CI machine. A 202 case holds the confirm's
    // local activity through two waits, which must stay well under its 30 s start-to-close
    // (at 2 × 15 s a busy run timed the attempt out and ran it a second time).
    sys = await startTestSystem({ config: { ...TOURS_STARTABLE_NOW, WORKFLOW_COMMAND_WAIT_MS: '10000' } });
    ({ db } = sys);
    const { t, env } = sys;
    const activities = createActivities({ config: t.config, logger: createLogger(t.config, 'test-worker'), knex: db.knex, ...t.adapters });
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: t.config.temporal.taskQueue,
      workflowsPath: require.resolve('../../workflows'),
      activities: {
        ...activities,
        async confirmBooking(...args: Parameters<typeof activities.confirmBooking>) {
          await gate.pass();
          return activities.confirmBooking(...args);
        },
        async transitionBooking(...args: Parameters<typeof activities.transitionBooking>) {
          await transitions.pass();
          return activities.transitionBooking(...args);
        },
      },
    });
    const running = worker.run();
    sys.onStop(async () => {
      gate.open();
      transitions.open();
      worker.shutdown();
      await running;
    });
    [realtor, otherRealtor, buyer, admin] = await Promise.all([createRealtor(t), createRealtor(t, 'Rob Realtor'), createBuyer(t), createAdmin(t, db.knex)]);
    propertyId = await createProperty(t, realtor, { address: '3 Retry Row' });
    base = Date.parse(await serverSlot(env));
  });

  afterAll(() => sys?.stop());

  describe('a confirm whose first attempt timed out', () => {
    it('when the workflow has taken it but not finished within the wait, then 202 with the pending booking and its Location; the retry with the same key is 200 with the result, one tour and one set of emails', async () => {
      const id = await pending();
      const key = newKey();
      const enteredBefore = gate.entered;
      gate.close();
      try {
        const first = await confirm(id, key);
        expect(first.status).toBe(202);
        expect(first.headers.location).toBe(`/api/v1/realtors/bookings/${id}`);
        expect(first.body.data).toMatchObject({ id: String(id), type: 'booking', attributes: { status: 'pending' } });
        expect(first.headers['idempotent-replayed']).toBeUndefined();

        // Retried while still held: attached to the same command, not a second one.
        const again = await confirm(id, key);
        expect(again.status).toBe(202);
        expect(again.headers['idempotent-replayed']).toBe('true');

        // The Location answers as any read does.
        const polled = await http().get(first.headers.location!).set(realtor.auth);
        expect(polled.status).toBe(200);
        expect(polled.body.data.attributes.status).toBe('pending');
      } finally {
        gate.open();
      }

      const done = await confirm(id, key);
      expect(done.status).toBe(200);
      expect(done.headers['idempotent-replayed']).toBe('true');
      const { booking, tour, call } = done.body.data;
      expect(booking).toMatchObject({ id: String(id), attributes: { status: 'confirmed' }, relationships: { tour: { data: { id: tour.id, type: 'tour' } } } });
      expect(tour).toMatchObject({ type: 'tour', attributes: { booking_id: id, status: 'scheduled' } });
      expect(call).toMatchObject({ type: 'call', attributes: { tour_id: Number(tour.id) } });

      // Once answered, the same key answers the same from the database.
      const later = await confirm(id, key);
      expect(later.status).toBe(200);
      expect(later.body.data).toEqual(done.body.data);

      expect(gate.entered - enteredBefore).toBe(1);
      expect(await count(db.knex('tours').where({ booking_id: id }))).toBe(1);
      expect(await count(db.knex('calls').where({ tour_id: Number(tour.id) }))).toBe(1);
      expect(await audits('booking_confirmed', 'booking', id)).toBe(1);
      // One confirmation to each of the two, in the outbox and in the ledger.
      const mail = await eventually('both confirmation emails', async () => {
        const m = await confirmedMail(id);
        return m.length >= 2 ? m : undefined;
      });
      expect(mail.map((m) => m.to).sort()).toEqual([buyer.email, realtor.email].sort());
      expect(await count(db.knex('notifications').where('idempotency_key', 'like', `booking:${id}:confirmed:%`))).toBe(2);
    });

    it('when the same confirm is sent five times at once with one key, then every answer is 200 with the same tour and only one tour exists', async () => {
      const id = await pending();
      const key = newKey();
      const responses = await Promise.all(Array.from({ length: 5 }, () => confirm(id, key)));
      expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      expect(new Set(responses.map((r) => r.body.data.tour.id)).size).toBe(1);
      expect(responses.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(4);
      expect(await count(db.knex('tours').where({ booking_id: id }))).toBe(1);
      expect(await audits('booking_confirmed', 'booking', id)).toBe(1);
    });
  });

  describe('a command that ends its workflow while the client waits', () => {
    it('when a decline is answered 202 and the workflow then ends by it, then the retry with the same key is 200 with the declined booking, declined once', async () => {
      const id = await pending();
      const key = newKey();
      const decline = () => withKey(http().put(`/api/v1/realtors/bookings/${id}/decline`).set(realtor.auth), key).send({ reason: 'Away that week' });
      transitions.close();
      try {
        const first = await decline();
        expect(first.status).toBe(202);
        expect(first.headers.location).toBe(`/api/v1/realtors/bookings/${id}`);
        expect(first.body.data.attributes.status).toBe('pending');
      } finally {
        transitions.open();
      }
      // The booking's workflow ends once declined: the retry finds the outcome in its record.
      const handle = sys.env.client.workflow.getHandle(bookingWorkflowId(id));
      await eventually('the booking workflow to end', async () => (await handle.describe()).status.name === 'COMPLETED');
      const retried = await decline();
      expect(retried.status).toBe(200);
      expect(retried.headers['idempotent-replayed']).toBe('true');
      expect(retried.body.data.attributes).toMatchObject({ status: 'declined', decline_reason: 'Away that week' });
      expect(await audits('booking_declined', 'booking', id)).toBe(1);
    });
  });

  describe('a repeated confirm without a key', () => {
    it('when the realtor confirms five times at once, then all five are 200 with the same booking, tour and call', async () => {
      const id = await pending();
      const responses = await Promise.all(Array.from({ length: 5 }, () => confirm(id)));
      expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      for (const r of responses) expect(r.body.data).toEqual(responses[0]!.body.data);
      expect(await count(db.knex('tours').where({ booking_id: id }))).toBe(1);
      expect(await audits('booking_confirmed', 'booking', id)).toBe(1);
    });

    it('when the realtor who confirmed confirms again, then 200 with the same booking, tour and call, and nothing new is made', async () => {
      const id = await pending();
      const first = await confirm(id);
      expect(first.status).toBe(200);
      const second = await confirm(id);
      expect(second.status).toBe(200);
      expect(second.body.data).toEqual(first.body.data);
      expect(await count(db.knex('tours').where({ booking_id: id }))).toBe(1);
      expect(await audits('booking_confirmed', 'booking', id)).toBe(1);
    });

    it('when another realtor, a buyer, or the realtor of a declined or cancelled booking confirms, then it is refused as before', async () => {
      const id = await pending();
      await confirmBooking(sys.t, realtor, id);
      expect((await confirm(id, undefined, otherRealtor)).status).toBe(404);
      expect((await confirm(id, undefined, buyer)).status).toBe(403);

      const declined = await pending();
      expect((await http().put(`/api/v1/realtors/bookings/${declined}/decline`).set(realtor.auth).send({})).status).toBe(200);
      const refused = await confirm(declined);
      expect(refused.status).toBe(409);
      expect(refused.body.errors[0]).toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/declined/) });

      expect((await http().delete(`/api/v1/buyers/bookings/${id}`).set(buyer.auth).send({})).status).toBe(200);
      const afterCancel = await confirm(id);
      expect(afterCancel.status).toBe(409);
      expect(afterCancel.body.errors[0].message).toMatch(/cancelled/);
    });
  });

  describe('the same key, the same answer, for each command', () => {
    /** Sends a keyed command twice: both 200, the second the first's answer replayed. Returns the first. */
    async function answeredTwice(send: () => request.Test): Promise<request.Response> {
      const first = await send();
      expect(first.status).toBe(200);
      const second = await send();
      expect(second.status).toBe(200);
      expect(second.headers['idempotent-replayed']).toBe('true');
      expect(second.body.data).toEqual(first.body.data);
      return first;
    }

    it('decline: the second answer is the first one, replayed; declined once', async () => {
      const id = await pending();
      const key = newKey();
      const first = await answeredTwice(() => withKey(http().put(`/api/v1/realtors/bookings/${id}/decline`).set(realtor.auth), key).send({ reason: 'Not available' }));
      expect(first.body.data.attributes).toMatchObject({ status: 'declined', decline_reason: 'Not available' });
      expect(await audits('booking_declined', 'booking', id)).toBe(1);
    });

    it('cancel: the second answer is the first one, replayed (the workflow has ended by then); cancelled once', async () => {
      const id = await pending();
      const key = newKey();
      const first = await answeredTwice(() => withKey(http().delete(`/api/v1/buyers/bookings/${id}`).set(buyer.auth), key).send({ reason: 'Changed my mind' }));
      expect(first.body.data.attributes).toMatchObject({ status: 'cancelled', cancellation_reason: 'Changed my mind' });
      expect(await audits('booking_cancelled', 'booking', id)).toBe(1);
    });

    it('reschedule: moved once, the invite sequence raised once', async () => {
      const id = await pending();
      const key = newKey();
      const to = new Date(base + (100 + ++slot) * HOUR).toISOString();
      const first = await answeredTwice(() => withKey(http().put(`/api/v1/buyers/bookings/${id}`).set(buyer.auth), key).send({ scheduled_at: to, duration_minutes: 45, notes: 'Moved' }));
      expect(first.body.data.attributes).toMatchObject({ scheduled_at: to, duration_minutes: 45, notes: 'Moved' });
      expect(await audits('booking_rescheduled', 'booking', id)).toBe(1);
      expect(await audits('booking_notes_updated', 'booking', id)).toBe(1);
      expect((await db.knex('bookings').where({ id }).first()).ics_sequence).toBe(1);
    });

    it('start and end of a tour: each runs once; ending through the call with the same key is the same request', async () => {
      const id = await pending(new Date(base).toISOString());
      const { tourId, callId } = await confirmBooking(sys.t, realtor, id);
      const startKey = newKey();
      const start = () => withKey(http().post(`/api/v1/realtors/tours/${tourId}/start`).set(realtor.auth), startKey);
      const started = await start();
      expect(started.status).toBe(200);
      expect(started.body.data.attributes.status).toBe('in_progress');
      const startedAgain = await start();
      expect(startedAgain.status).toBe(200);
      expect(startedAgain.headers['idempotent-replayed']).toBe('true');
      expect(startedAgain.body.data.attributes.status).toBe('in_progress');
      expect(await audits('tour_started', 'tour', tourId)).toBe(1);

      const endKey = newKey();
      const ended = await withKey(http().post(`/api/v1/realtors/tours/${tourId}/end`).set(realtor.auth), endKey);
      expect(ended.status).toBe(200);
      expect(ended.body.data.attributes.status).not.toBe('in_progress');
      const endedAgain = await withKey(http().post(`/api/v1/realtors/tours/${tourId}/end`).set(realtor.auth), endKey);
      expect(endedAgain.status).toBe(200);
      expect(endedAgain.headers['idempotent-replayed']).toBe('true');
      const throughCall = await withKey(http().post(`/api/v1/realtors/calls/${callId}/end`).set(realtor.auth), endKey);
      expect(throughCall.status).toBe(200);
      expect(throughCall.headers['idempotent-replayed']).toBe('true');
      expect(await audits('tour_ended', 'tour', tourId)).toBe(1);

      // Without a key a second start is still refused: the tour has moved on.
      expect((await http().post(`/api/v1/realtors/tours/${tourId}/start`).set(realtor.auth)).status).toBe(409);
    });

    it('admin cancel of a tour: cancelled once, the repeat answered as the first', async () => {
      const id = await pending();
      const { tourId } = await confirmBooking(sys.t, realtor, id);
      const key = newKey();
      const send = () => withKey(http().delete(`/api/v1/admin/tours/${tourId}`).set(admin.auth), key);
      const first = await send();
      expect(first.status).toBe(200);
      const second = await send();
      expect(second.status).toBe(200);
      expect(second.headers['idempotent-replayed']).toBe('true');
      expect(await audits('booking_cancelled', 'booking', id)).toBe(1);
      expect((await db.knex('bookings').where({ id }).first()).status).toBe('cancelled');
    });
  });

  describe('a key used for a different request', () => {
    it('when the same key comes with another body, another booking, another command or after a booking creation, then 422 naming it and nothing changes', async () => {
      const [a, b] = [await pending(), await pending()];
      const key = newKey();
      const decline = (id: number, reason: string) => withKey(http().put(`/api/v1/realtors/bookings/${id}/decline`).set(realtor.auth), key).send({ reason });
      expect((await decline(a, 'Busy')).status).toBe(200);

      for (const res of [await decline(a, 'Another reason'), await decline(b, 'Busy'), await confirm(b, key)]) {
        expect(res.status).toBe(422);
        expect(res.body.errors[0]).toMatchObject({ code: 'UNPROCESSABLE_ENTITY', field: 'Idempotency-Key' });
      }
      expect((await db.knex('bookings').where({ id: b }).first()).status).toBe('pending');

      // A key the buyer used to create a booking is theirs for that only.
      const createKey = newKey();
      const created = await withKey(http().post('/api/v1/buyers/bookings').set(buyer.auth), createKey).send({
        property_id: propertyId,
        scheduled_at: nextTime(),
        duration_minutes: 30,
      });
      expect(created.status).toBe(201);
      const cancel = await withKey(http().delete(`/api/v1/buyers/bookings/${created.body.data.id}`).set(buyer.auth), createKey).send({});
      expect(cancel.status).toBe(422);
      expect((await db.knex('bookings').where({ id: Number(created.body.data.id) }).first()).status).toBe('pending');
    });

    it('when a keyed command is refused, then the same key answers the same refusal and nothing changes', async () => {
      const id = await pending();
      expect((await http().put(`/api/v1/realtors/bookings/${id}/decline`).set(realtor.auth).send({})).status).toBe(200);
      const key = newKey();
      const first = await confirm(id, key);
      expect(first.status).toBe(409);
      const second = await confirm(id, key);
      expect(second.status).toBe(409);
      expect(second.body.errors[0].message).toBe(first.body.errors[0].message);
      expect(await count(db.knex('tours').where({ booking_id: id }))).toBe(0);
    });

    it('when the key is malformed, then 400 naming it', async () => {
      const id = await pending();
      const res = await confirm(id, 'not a valid key!');
      expect(res.status).toBe(400);
      expect(res.body.errors[0]).toMatchObject({ code: 'VALIDATION_ERROR', field: 'Idempotency-Key' });
      expect((await db.knex('bookings').where({ id }).first()).status).toBe('pending');
    });
  });
});
