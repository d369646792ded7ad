import request from 'supertest';
import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { readOutbox, type OutboxMessage } from '../support/outbox';
import { createLogger } from '../../lib/logger';
import { bookingWorkflowSettings } from '../../contracts/bookings';
import { sweepUnstartedBookings } from '../../workers/booking-sweeper';
import { bookingCalendarUid, bookingWorkflowId } from '../../contracts/bookings';
import { buildTestApp, type TestApp } from '../support/app';
import { type TestDatabase, count } from '../support/db';
import { confirmBooking, createAdmin, createBuyer, createProperty, createRealtor, nextSlot, requestBooking, type BookingOptions, type SignedIn } from '../support/factories';
import { freePort } from '../support/ports';
import { startTestSystem, type TestSystem } from '../support/system';
import { login } from '../support/users';
import { eventually } from '../support/wait';

/**
 * Bookings over HTTP, end to end: the API, the BookingWorkflow on the time-skipping
 * server, a real worker with the real activities, Postgres and the local outbox.
 */

const HOUR = 3_600_000;

interface Ics {
  method: string;
  uid: string;
  sequence: number;
  status: string;
  start: string;
}

function icsOf(m: OutboxMessage): Ics {
  const cal = m.attachments.find((a) => a.contentType.startsWith('text/calendar'));
  if (!cal) throw new Error(`no calendar attachment on "${m.subject}"`);
  const text = cal.content.toString('utf8').replace(/\r\n[ \t]/g, '');
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
  return { method: field('METHOD'), uid: field('UID'), sequence: Number(field('SEQUENCE')), status: field('STATUS'), start: field('DTSTART') };
}

const icsTime = (iso: string) => iso.replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');

describe('bookings API with the BookingWorkflow', () => {
  let sys: TestSystem;
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  let t: TestApp;
  let realtor: SignedIn;
  let otherRealtor: SignedIn;
  let buyer: SignedIn;
  let otherBuyer: SignedIn;
  let admin: SignedIn;
  let propertyId: number;
  let otherPropertyId: number;
  const http = () => request(t.callback);

  async function book(who: SignedIn, body: Record<string, unknown>, headers: Record<string, string> = {}) {
    return http().post('/api/v1/buyers/bookings').set(who.auth).set(headers).send(body);
  }

  /** A pending booking the test stands on (its request is not what it checks). */
  const created = async (who: SignedIn, property: number, opts: BookingOptions = {}): Promise<number> => (await requestBooking(t, who, property, opts)).id;

  /** The outbox messages of one booking (their idempotency keys name it). */
  async function mailOf(bookingId: number): Promise<OutboxMessage[]> {
    return (await readOutbox(t.config.email.outboxDir)).filter((m) => m.idempotencyKey.startsWith(`booking:${bookingId}:`));
  }

  function waitForMail(bookingId: number, template: string, to: SignedIn): Promise<OutboxMessage> {
    const kind = template.replace(/^booking-/, '');
    return eventually(`${template} to ${to.email}`, async () =>
      (await mailOf(bookingId)).find((m) => m.idempotencyKey.includes(`:${kind}:`) && m.to === to.email),
    );
  }

  const row = (id: number) => db.knex('bookings').where({ id }).first();
  const audits = (id: number) => db.knex('audit_logs').where({ resource_type: 'booking', resource_id: id }).orderBy('id');

  beforeAll(async () => {
    sys = await startTestSystem({ worker: true });
    ({ db, env, t } = sys);
    [realtor, otherRealtor, buyer, otherBuyer, admin] = await Promise.all([
      createRealtor(t, 'Rita Realtor'),
      createRealtor(t, 'Rob Realtor'),
      createBuyer(t, 'Bea Buyer'),
      createBuyer(t, 'Ben Buyer'),
      createAdmin(t, db.knex),
    ]);
    propertyId = await createProperty(t, realtor, { address: '12 Oak Street' });
    otherPropertyId = await createProperty(t, otherRealtor, { address: '7 Elm Road', status: 'coming_soon' });
  });

  afterAll(() => sys?.stop());

  describe('buyer → realtor flow', () => {
    it('when a buyer requests, the realtor confirms, the buyer reschedules and then cancels, then every step shows in the API, the database and the mail', async () => {
      const scheduledAt = nextSlot();
      const res = await book(buyer, { property_id: propertyId, scheduled_at: scheduledAt, duration_minutes: 45, notes: 'Is the attic finished?' });
      expect(res.status).toBe(201);
      expect(res.headers['idempotent-replayed']).toBeUndefined();
      expect(res.body.data).toMatchObject({
        type: 'booking',
        attributes: {
          property_id: propertyId,
          buyer_id: buyer.id,
          realtor_id: realtor.id,
          scheduled_at: scheduledAt,
          ends_at: new Date(Date.parse(scheduledAt) + 45 * 60_000).toISOString(),
          duration_minutes: 45,
          status: 'pending',
          notes: 'Is the attic finished?',
          decline_reason: null,
          cancellation_reason: null,
        },
        relationships: { property: { data: { id: String(propertyId), type: 'property', attributes: { address: '12 Oak Street' } } }, tour: { data: null } },
      });
      const id = Number(res.body.data.id);

      // The workflow picks the row up and mails the request to the realtor only.
      const requestMail = await waitForMail(id, 'booking-request', realtor);
      expect(requestMail.subject).toBe('New tour request for 12 Oak Street, Springfield');
      expect(requestMail.text).toContain('Bea Buyer');
      expect(requestMail.text).toContain('Is the attic finished?');
      expect((await row(id)).workflow_started_at).toBeInstanceOf(Date);

      // The realtor sees it in the list and on its own.
      const list = await http().get('/api/v1/realtors/bookings?per_page=100').set(realtor.auth);
      expect(list.status).toBe(200);
      expect(list.body.data.map((b: { id: string }) => b.id)).toContain(String(id));
      const got = await http().get(`/api/v1/realtors/bookings/${id}`).set(realtor.auth);
      expect(got.status).toBe(200);
      expect(got.body.data.attributes.status).toBe('pending');

      // Confirm: the booking, its tour and the tour's call, in one answer.
      const confirm = await http().put(`/api/v1/realtors/bookings/${id}/confirm`).set(realtor.auth);
      expect(confirm.status).toBe(200);
      const { booking, tour, call } = confirm.body.data;
      expect(booking).toMatchObject({ id: String(id), type: 'booking', attributes: { status: 'confirmed' }, relationships: { tour: { data: { id: tour.id, type: 'tour' } } } });
      expect(tour).toMatchObject({
        type: 'tour',
        attributes: { booking_id: id, property_id: propertyId, realtor_id: realtor.id, buyer_id: buyer.id, status: 'scheduled', scheduled_at: scheduledAt, duration_minutes: 45 },
      });
      expect(call).toMatchObject({ type: 'call', attributes: { tour_id: Number(tour.id), status: 'created' } });
      expect(await db.knex('tours').where({ id: Number(tour.id) }).first()).toMatchObject({ booking_id: id, status: 'scheduled', duration_minutes: 45 });
      expect(await db.knex('calls').where({ id: Number(call.id) }).first()).toMatchObject({ tour_id: Number(tour.id), status: 'created' });
      expect(await count(db.knex('tours').where({ booking_id: id }))).toBe(1);

      // Both get the confirmation with an invite; the UID names the booking.
      const uid = bookingCalendarUid(id);
      const confirmedToBuyer = await waitForMail(id, 'booking-confirmed', buyer);
      const confirmedToRealtor = await waitForMail(id, 'booking-confirmed', realtor);
      for (const m of [confirmedToBuyer, confirmedToRealtor]) {
        expect(icsOf(m)).toEqual({ method: 'REQUEST', uid, sequence: 0, status: 'CONFIRMED', start: icsTime(scheduledAt) });
      }

      // The buyer moves it: the tour follows, the realtor is told, the invite's SEQUENCE goes up.
      const movedTo = nextSlot();
      const moved = await http().put(`/api/v1/buyers/bookings/${id}`).set(buyer.auth).send({ scheduled_at: movedTo, duration_minutes: 60 });
      expect(moved.status).toBe(200);
      expect(moved.body.data.attributes).toMatchObject({ status: 'confirmed', scheduled_at: movedTo, duration_minutes: 60 });
      expect(await db.knex('tours').where({ id: Number(tour.id) }).first()).toMatchObject({ scheduled_at: new Date(movedTo), duration_minutes: 60 });
      const rescheduled = await waitForMail(id, 'booking-rescheduled', realtor);
      expect(icsOf(rescheduled)).toEqual({ method: 'REQUEST', uid, sequence: 1, status: 'CONFIRMED', start: icsTime(movedTo) });
      expect(rescheduled.text).toContain('Bea Buyer');

      // The buyer cancels with a reason: the realtor is told, with a CANCEL for the same event.
      const cancel = await http().delete(`/api/v1/buyers/bookings/${id}`).set(buyer.auth).send({ reason: 'Found another place' });
      expect(cancel.body.errors).toBeUndefined();
      expect(cancel.status).toBe(200);
      expect(cancel.body.data.attributes.status).toBe('cancelled');
      const cancelled = await waitForMail(id, 'booking-cancelled', realtor);
      expect(cancelled.text).toContain('Bea Buyer');
      const cancelIcs = icsOf(cancelled);
      expect(cancelIcs).toMatchObject({ method: 'CANCEL', uid, status: 'CANCELLED' });
      expect(cancelIcs.sequence).toBeGreaterThan(1);
      expect(await row(id)).toMatchObject({ status: 'cancelled', cancelled_by: buyer.id });
      // The tour's workflow cancels the tour and its call.
      await eventually('tour cancelled', async () => (await db.knex('tours').where({ id: Number(tour.id) }).first()).status === 'cancelled');
      expect((await db.knex('calls').where({ id: Number(call.id) }).first()).status).toBe('cancelled');

      // The one who cancelled is not mailed about it; nothing was sent twice.
      const mail = await mailOf(id);
      expect(mail.filter((m) => m.idempotencyKey.includes(':cancelled:') && m.to === buyer.email)).toEqual([]);
      expect(new Set(mail.map((m) => m.idempotencyKey)).size).toBe(mail.length);
      expect(mail.map((m) => `${m.idempotencyKey.split(':')[2]}→${m.to === buyer.email ? 'buyer' : 'realtor'}`).sort()).toEqual([
        'cancelled→realtor',
        'confirmed→buyer',
        'confirmed→realtor',
        'request→realtor',
        'rescheduled→realtor',
      ]);

      // A cancelled booking cannot be confirmed any more.
      const again = await http().put(`/api/v1/realtors/bookings/${id}/confirm`).set(realtor.auth);
      expect(again.status).toBe(409);
      expect(again.body.errors[0]).toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/cancelled/) });

      // Each step left its audit row, by whoever took it.
      const trail = (await audits(id)).map((a: { action: string; user_id: number | null }) => [a.action, a.user_id]);
      expect(trail).toEqual([
        ['booking_requested', buyer.id],
        ['booking_confirmed', realtor.id],
        ['booking_rescheduled', buyer.id],
        ['booking_cancelled', buyer.id],
      ]);
      const reasons = (await audits(id)).map((a: { details: string }) => JSON.parse(a.details));
      expect(reasons[2].changes.scheduled_at).toEqual({ from: scheduledAt, to: movedTo });
      expect(reasons[3]).toMatchObject({ status: { from: 'confirmed', to: 'cancelled' } });
    });

    it('when the realtor declines with a reason, then the booking is declined, the buyer is told why, and it cannot be confirmed after', async () => {
      const id = await created(buyer, propertyId);
      const res = await http().put(`/api/v1/realtors/bookings/${id}/decline`).set(realtor.auth).send({ reason: 'The house is under offer' });
      expect(res.status).toBe(200);
      expect(res.body.data.attributes).toMatchObject({ status: 'declined', decline_reason: 'The house is under offer', duration_minutes: 30 });
      const declined = await waitForMail(id, 'booking-declined', buyer);
      expect(declined.text).toContain('The house is under offer');
      expect(declined.attachments).toEqual([]);

      // Refused in the same words while its workflow runs (the workflow's validator) and once it has ended (the API, from the row).
      const confirm = await http().put(`/api/v1/realtors/bookings/${id}/confirm`).set(realtor.auth);
      expect(confirm.status).toBe(409);
      expect(confirm.body.errors[0].message).toBe('This booking is declined; it cannot be confirmed');
      // Polled, not awaited with result(): that would let the test server skip time for every test's workflows.
      const handle = env.client.workflow.getHandle(bookingWorkflowId(id));
      await eventually('the booking workflow to end', async () => (await handle.describe()).status.name === 'COMPLETED');
      const afterEnd = await http().put(`/api/v1/realtors/bookings/${id}/confirm`).set(realtor.auth);
      expect(afterEnd.status).toBe(409);
      expect(afterEnd.body.errors[0].message).toBe('This booking is declined; it cannot be confirmed');
      expect(await db.knex('tours').where({ booking_id: id }).first()).toBeUndefined();
      const trail = (await audits(id)).map((a: { action: string; user_id: number | null; details: string }) => [a.action, a.user_id, JSON.parse(a.details).reason ?? null]);
      expect(trail).toEqual([
        ['booking_requested', buyer.id, null],
        ['booking_declined', realtor.id, 'The house is under offer'],
      ]);
    });

    it('when the realtor cancels a confirmed booking with a reason in the DELETE body, then the reason is stored, audited and mailed to the buyer', async () => {
      const id = await created(buyer, propertyId);
      await confirmBooking(t, realtor, id);
      const res = await http().delete(`/api/v1/realtors/bookings/${id}`).set(realtor.auth).send({ reason: 'Seller changed plans' });
      expect(res.body.errors).toBeUndefined();
      expect(res.status).toBe(200);
      expect(res.body.data.attributes).toMatchObject({ status: 'cancelled', cancellation_reason: 'Seller changed plans' });
      const m = await waitForMail(id, 'booking-cancelled', buyer);
      expect(m.text).toContain('Seller changed plans');
      expect(icsOf(m).method).toBe('CANCEL');
      expect(await row(id)).toMatchObject({ cancelled_by: realtor.id, cancellation_reason: 'Seller changed plans' });
      const audit = await db.knex('audit_logs').where({ action: 'booking_cancelled', resource_id: id }).first();
      expect(audit.user_id).toBe(realtor.id);
      expect(JSON.parse(audit.details).reason).toBe('Seller changed plans');
    });

    it('when the realtor moves a pending request, then the buyer is told, without an invite since nothing is confirmed yet', async () => {
      const from = nextSlot();
      const id = await created(buyer, propertyId, { scheduledAt: from });
      const to = nextSlot();
      const res = await http().put(`/api/v1/realtors/bookings/${id}`).set(realtor.auth).send({ scheduled_at: to });
      expect(res.status).toBe(200);
      expect(res.body.data.attributes).toMatchObject({ status: 'pending', scheduled_at: to, duration_minutes: 30 });
      const m = await waitForMail(id, 'booking-rescheduled', buyer);
      expect(m.text).toContain('Rita Realtor');
      expect(m.attachments).toEqual([]);
      expect((await audits(id)).map((a: { action: string; user_id: number }) => [a.action, a.user_id])).toContainEqual(['booking_rescheduled', realtor.id]);
    });

    it('when a confirmed booking is moved onto a time the realtor already has a tour, then 409 saying why, and nothing moves', async () => {
      const taken = nextSlot();
      const first = await created(otherBuyer, propertyId, { scheduledAt: taken });
      await confirmBooking(t, realtor, first);
      const own = nextSlot();
      const id = await created(buyer, propertyId, { scheduledAt: own });
      await confirmBooking(t, realtor, id);

      const res = await http().put(`/api/v1/buyers/bookings/${id}`).set(buyer.auth).send({ scheduled_at: new Date(Date.parse(taken) + 15 * 60_000).toISOString() });
      expect(res.status).toBe(409);
      expect(res.body.errors[0]).toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/overlaps/) });
      expect(await row(id)).toMatchObject({ status: 'confirmed', scheduled_at: new Date(own), ics_sequence: 0 });
      expect((await db.knex('tours').where({ booking_id: id }).first()).scheduled_at).toEqual(new Date(own));

      // The booking is still live: it can be moved somewhere free.
      const free = nextSlot();
      expect((await http().put(`/api/v1/buyers/bookings/${id}`).set(buyer.auth).send({ scheduled_at: free })).status).toBe(200);
    });

    it('when an admin cancels a confirmed booking, then both sides are told', async () => {
      const id = await created(buyer, propertyId);
      await confirmBooking(t, realtor, id);
      const res = await http().delete(`/api/v1/admin/bookings/${id}`).set(admin.auth);
      expect(res.body.errors).toBeUndefined();
      expect(res.status).toBe(200);
      expect(res.body.data.attributes.status).toBe('cancelled');
      for (const who of [buyer, realtor]) {
        const m = await waitForMail(id, 'booking-cancelled', who);
        expect(m.text).toMatch(/^RealtyForYou cancelled/m);
      }
      expect((await row(id)).cancelled_by).toBe(admin.id);
    });

    it('when a pending booking is cancelled twice, then the second is 409 saying it is cancelled', async () => {
      const id = await created(buyer, propertyId);
      expect((await http().delete(`/api/v1/buyers/bookings/${id}`).set(buyer.auth)).status).toBe(200);
      const again = await http().delete(`/api/v1/buyers/bookings/${id}`).set(buyer.auth);
      expect(again.status).toBe(409);
      expect(again.body.errors[0].message).toMatch(/cancelled/);
      expect((await http().put(`/api/v1/buyers/bookings/${id}`).set(buyer.auth).send({ scheduled_at: nextSlot() })).status).toBe(409);
    });
  });

  describe('validation', () => {
    it.each([
      ['in the past', () => ({ scheduled_at: new Date(Date.now() - HOUR).toISOString() }), 'scheduled_at'],
      ['with less notice than BOOKING_MIN_NOTICE_MINUTES', () => ({ scheduled_at: new Date(Date.now() + 30 * 60_000).toISOString() }), 'scheduled_at'],
      ['of 10 minutes', () => ({ scheduled_at: nextSlot(), duration_minutes: 10 }), 'duration_minutes'],
      ['of 300 minutes', () => ({ scheduled_at: nextSlot(), duration_minutes: 300 }), 'duration_minutes'],
      ['with an unknown field', () => ({ scheduled_at: nextSlot(), status: 'confirmed' }), 'status'],
      ['without a time zone', () => ({ scheduled_at: '2027-01-01T10:00:00' }), 'scheduled_at'],
    ])('when a booking is requested %s, then 400 names the field and nothing is stored', async (_what, body, field) => {
      const before = await count(db.knex('bookings'));
      const res = await book(buyer, { property_id: propertyId, ...body() });
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
      expect(res.body.errors[0].code).toBe('VALIDATION_ERROR');
      expect(await count(db.knex('bookings'))).toEqual(before);
    });

    it('when the property is withdrawn, deleted or unknown, then 404 on property_id; coming soon is bookable', async () => {
      const withdrawn = await createProperty(t, realtor, { status: 'withdrawn' });
      for (const pid of [withdrawn, 99_999_999]) {
        const res = await book(buyer, { property_id: pid, scheduled_at: nextSlot() });
        expect(res.status).toBe(404);
        expect(res.body.errors[0]).toMatchObject({ code: 'NOT_FOUND', field: 'property_id' });
      }
      const deleted = await createProperty(t, realtor);
      expect((await http().delete(`/api/v1/realtors/properties/${deleted}`).set(realtor.auth)).status).toBe(204);
      expect((await book(buyer, { property_id: deleted, scheduled_at: nextSlot() })).status).toBe(404);
      expect((await book(buyer, { property_id: otherPropertyId, scheduled_at: nextSlot() })).status).toBe(201);
    });

    it('when a buyer reschedules into the past or too soon, then 400 on scheduled_at and the booking keeps its time', async () => {
      const at = nextSlot();
      const id = await created(buyer, propertyId, { scheduledAt: at });
      for (const when of [new Date(Date.now() - HOUR), new Date(Date.now() + 10 * 60_000)]) {
        const res = await http().put(`/api/v1/buyers/bookings/${id}`).set(buyer.auth).send({ scheduled_at: when.toISOString() });
        expect(res.status).toBe(400);
        expect(res.body.errors[0].field).toBe('scheduled_at');
      }
      expect((await row(id)).scheduled_at).toEqual(new Date(at));
    });

    it('when a buyer requests a time overlapping one of their own live bookings, then 409 on scheduled_at', async () => {
      const at = nextSlot();
      await created(buyer, propertyId, { scheduledAt: at, durationMinutes: 60 });
      const res = await book(buyer, { property_id: otherPropertyId, scheduled_at: new Date(Date.parse(at) + 30 * 60_000).toISOString() });
      expect(res.status).toBe(409);
      expect(res.body.errors[0]).toMatchObject({ code: 'CONFLICT', field: 'scheduled_at' });
    });
  });

  describe('notes', () => {
    it('when the buyer edits the notes, then they change, the time does not, and an audit row records it', async () => {
      const at = nextSlot();
      const id = await created(buyer, propertyId, { scheduledAt: at, notes: 'first' });
      const res = await http().put(`/api/v1/buyers/bookings/${id}`).set(buyer.auth).send({ notes: 'Bring the floor plan' });
      expect(res.status).toBe(200);
      expect(res.body.data.attributes).toMatchObject({ notes: 'Bring the floor plan', scheduled_at: at, status: 'pending' });
      const audit = await db.knex('audit_logs').where({ action: 'booking_notes_updated', resource_id: id }).first();
      expect(audit.user_id).toBe(buyer.id);
      expect(JSON.parse(audit.details).changes).toEqual({ notes: { from: 'first', to: 'Bring the floor plan' } });
      expect((await row(id)).ics_sequence).toBe(0);
    });

    it('when the buyer changes notes and time together and the time is refused, then 409 and the notes are not changed either', async () => {
      const mine = nextSlot();
      await created(buyer, otherPropertyId, { scheduledAt: mine });
      const at = nextSlot();
      const id = await created(buyer, propertyId, { scheduledAt: at, notes: 'before' });
      const res = await http().put(`/api/v1/buyers/bookings/${id}`).set(buyer.auth).send({ notes: 'after', scheduled_at: mine });
      expect(res.status).toBe(409);
      expect(res.body.errors[0].message).toMatch(/overlaps/);
      expect(await row(id)).toMatchObject({ notes: 'before', scheduled_at: new Date(at) });
      expect(await db.knex('audit_logs').where({ action: 'booking_notes_updated', resource_id: id }).first()).toBeUndefined();

      const both = nextSlot();
      const ok = await http().put(`/api/v1/buyers/bookings/${id}`).set(buyer.auth).send({ notes: 'after', scheduled_at: both });
      expect(ok.status).toBe(200);
      expect(ok.body.data.attributes).toMatchObject({ notes: 'after', scheduled_at: both });
    });

    it('when the realtor tries to edit the notes, then 400 on notes and they stay', async () => {
      const id = await created(buyer, propertyId, { notes: 'mine' });
      const res = await http().put(`/api/v1/realtors/bookings/${id}`).set(realtor.auth).send({ notes: 'theirs' });
      expect(res.status).toBe(400);
      expect(res.body.errors[0].field).toBe('notes');
      expect((await row(id)).notes).toBe('mine');
    });

    it('when an admin corrects the notes, then they change', async () => {
      const id = await created(buyer, propertyId, { notes: 'typo' });
      const res = await http().put(`/api/v1/admin/bookings/${id}`).set(admin.auth).send({ notes: 'fixed' });
      expect(res.status).toBe(200);
      expect(res.body.data.attributes.notes).toBe('fixed');
    });

    it('when the body is empty, then 400', async () => {
      const id = await created(buyer, propertyId);
      expect((await http().put(`/api/v1/buyers/bookings/${id}`).set(buyer.auth).send({})).status).toBe(400);
    });
  });

  describe('admin list', () => {
    const ids = {} as Record<'a' | 'b' | 'c', number>;
    const times = {} as Record<'a' | 'b' | 'c', string>;

    beforeAll(async () => {
      times.a = nextSlot();
      times.b = nextSlot();
      times.c = nextSlot();
      ids.a = await created(buyer, propertyId, { scheduledAt: times.a });
      ids.b = await created(otherBuyer, otherPropertyId, { scheduledAt: times.b });
      ids.c = await created(otherBuyer, propertyId, { scheduledAt: times.c });
      expect((await http().put(`/api/v1/realtors/bookings/${ids.c}/decline`).set(realtor.auth).send({})).status).toBe(200);
    });

    async function adminList(qs: string): Promise<Array<{ id: string; attributes: Record<string, unknown> }>> {
      const res = await http().get(`/api/v1/admin/bookings?per_page=100&${qs}`).set(admin.auth);
      if (res.status !== 200) throw new Error(`${qs}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.data;
    }
    const mine = (data: Array<{ id: string }>) => data.map((b) => Number(b.id)).filter((id) => Object.values(ids).includes(id));

    it.each([
      ['status=declined', ['c'], (b: Record<string, unknown>) => b.status === 'declined'],
      ['status=pending', ['a', 'b'], (b: Record<string, unknown>) => b.status === 'pending'],
      ['property_id=<other>', ['b'], (b: Record<string, unknown>, p: { other: number }) => b.property_id === p.other],
      ['buyer_id=<otherBuyer>', ['b', 'c'], (b: Record<string, unknown>, p: { otherBuyer: number }) => b.buyer_id === p.otherBuyer],
      ['realtor_id=<realtor>', ['a', 'c'], (b: Record<string, unknown>, p: { realtor: number }) => b.realtor_id === p.realtor],
      ['from=<b>&to=<c>', ['b'], (b: Record<string, unknown>, p: { b: string; c: string }) => String(b.scheduled_at) >= p.b && String(b.scheduled_at) < p.c],
    ] as const)('when an admin filters by %s, then exactly the matching bookings come back', async (filter, expected, matches) => {
      const params = { other: otherPropertyId, otherBuyer: otherBuyer.id, realtor: realtor.id, b: times.b, c: times.c };
      const qs = filter
        .replace('<other>', String(otherPropertyId))
        .replace('<otherBuyer>', String(otherBuyer.id))
        .replace('<realtor>', String(realtor.id))
        .replace('<b>', encodeURIComponent(times.b))
        .replace('<c>', encodeURIComponent(times.c));
      const data = await adminList(qs);
      expect(data.length).toBeGreaterThan(0);
      for (const b of data) expect(matches(b.attributes, params as never)).toBe(true);
      expect(mine(data).sort()).toEqual(expected.map((k) => ids[k]).sort());
    });

    it('when the filters are combined or paged, then all apply and the meta counts', async () => {
      expect(mine(await adminList(`buyer_id=${otherBuyer.id}&property_id=${propertyId}`))).toEqual([ids.c]);
      const all = await adminList(`buyer_id=${otherBuyer.id}`);
      expect(all.length).toBeGreaterThanOrEqual(2);
      const res = await http().get(`/api/v1/admin/bookings?per_page=1&page=2&buyer_id=${otherBuyer.id}`).set(admin.auth);
      expect(res.body.meta).toMatchObject({ current_page: 2, per_page: 1, total_count: all.length, total_pages: all.length });
      expect(res.body.data.map((b: { id: string }) => b.id)).toEqual([all[1]!.id]);
    });

    it('when a filter is malformed or unknown, then 400 names it', async () => {
      for (const [qs, field] of [['status=lost', 'status'], ['from=yesterday', 'from'], ['buyer_id=abc', 'buyer_id'], ['color=red', 'color'], [`from=${encodeURIComponent(times.c)}&to=${encodeURIComponent(times.a)}`, 'from']]) {
        const res = await http().get(`/api/v1/admin/bookings?${qs}`).set(admin.auth);
        expect(res.status).toBe(400);
        expect(res.body.errors[0].field).toBe(field);
      }
    });

    it('when a buyer lists with a filter only admins have, then 400', async () => {
      expect((await http().get(`/api/v1/buyers/bookings?buyer_id=${otherBuyer.id}`).set(buyer.auth)).status).toBe(400);
    });
  });

  describe('Idempotency-Key', () => {
    it('when a create is retried with the same key and body, then the first booking comes back, marked replayed, and only one row exists', async () => {
      const body = { property_id: propertyId, scheduled_at: nextSlot(), duration_minutes: 30 };
      const headers = { 'Idempotency-Key': `create-${Date.now()}` };
      const first = await book(buyer, body, headers);
      const second = await book(buyer, body, headers);
      expect(first.status).toBe(201);
      expect(second.status).toBe(201);
      expect(second.body.data.id).toBe(first.body.data.id);
      expect(second.headers['idempotent-replayed']).toBe('true');
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      expect(await count(db.knex('bookings').where({ buyer_id: buyer.id, scheduled_at: new Date(body.scheduled_at) }))).toBe(1);
      expect(await count(db.knex('audit_logs').where({ action: 'booking_requested', resource_id: Number(first.body.data.id) }))).toBe(1);
      expect(await count(db.knex('idempotency_keys').where({ user_id: buyer.id, key: headers['Idempotency-Key'] }))).toBe(1);
    });

    it('when the same key comes with a different body, then 422 and nothing new is stored', async () => {
      const headers = { 'Idempotency-Key': `diff-${Date.now()}` };
      const at = nextSlot();
      expect((await book(buyer, { property_id: propertyId, scheduled_at: at }, headers)).status).toBe(201);
      const before = await count(db.knex('bookings'));
      const res = await book(buyer, { property_id: propertyId, scheduled_at: nextSlot() }, headers);
      expect(res.status).toBe(422);
      expect(res.body.errors[0]).toMatchObject({ code: 'UNPROCESSABLE_ENTITY', field: 'Idempotency-Key' });
      expect(await count(db.knex('bookings'))).toEqual(before);
    });

    it('when another buyer uses the same key, then it is theirs: a new booking', async () => {
      const headers = { 'Idempotency-Key': `shared-${Date.now()}` };
      const body = { property_id: propertyId, scheduled_at: nextSlot() };
      const a = await book(buyer, body, headers);
      const b = await book(otherBuyer, body, headers);
      expect([a.status, b.status]).toEqual([201, 201]);
      expect(b.body.data.id).not.toBe(a.body.data.id);
      expect(b.headers['idempotent-replayed']).toBeUndefined();
    });

    it('when the key is malformed, then 400 on Idempotency-Key', async () => {
      const res = await book(buyer, { property_id: propertyId, scheduled_at: nextSlot() }, { 'Idempotency-Key': 'has spaces in it' });
      expect(res.status).toBe(400);
      expect(res.body.errors[0].field).toBe('Idempotency-Key');
    });
  });

  describe('who sees what', () => {
    let id: number;
    beforeAll(async () => {
      id = await created(buyer, propertyId, { notes: 'private' });
    });

    it("when another buyer lists, reads, changes or cancels a buyer's booking, then it is not listed and each call is 404", async () => {
      const list = await http().get('/api/v1/buyers/bookings?per_page=100').set(otherBuyer.auth);
      expect(list.status).toBe(200);
      expect(list.body.data.every((b: { attributes: { buyer_id: number } }) => b.attributes.buyer_id === otherBuyer.id)).toBe(true);
      const path = `/api/v1/buyers/bookings/${id}`;
      expect((await http().get(path).set(otherBuyer.auth)).status).toBe(404);
      expect((await http().put(path).set(otherBuyer.auth).send({ notes: 'x' })).status).toBe(404);
      expect((await http().put(path).set(otherBuyer.auth).send({ scheduled_at: nextSlot() })).status).toBe(404);
      expect((await http().delete(path).set(otherBuyer.auth).send({ reason: 'x' })).status).toBe(404);
      expect(await row(id)).toMatchObject({ status: 'pending', notes: 'private', ics_sequence: 0 });
    });

    it('when a buyer lists their own, then only theirs come back, soonest first', async () => {
      const res = await http().get('/api/v1/buyers/bookings?per_page=100').set(buyer.auth);
      const data = res.body.data as Array<{ id: string; attributes: { buyer_id: number; scheduled_at: string } }>;
      expect(data.map((b) => b.id)).toContain(String(id));
      expect(data.every((b) => b.attributes.buyer_id === buyer.id)).toBe(true);
      const times = data.map((b) => b.attributes.scheduled_at);
      expect([...times].sort()).toEqual(times);
    });

    it("when a realtor of other listings lists, reads, confirms, declines, reschedules or cancels, then it is not listed and each call is 404", async () => {
      const list = await http().get('/api/v1/realtors/bookings?per_page=100').set(otherRealtor.auth);
      expect(list.body.data.map((b: { id: string }) => b.id)).not.toContain(String(id));
      expect(list.body.data.every((b: { attributes: { property_id: number } }) => b.attributes.property_id === otherPropertyId)).toBe(true);
      const path = `/api/v1/realtors/bookings/${id}`;
      expect((await http().get(path).set(otherRealtor.auth)).status).toBe(404);
      expect((await http().put(`${path}/confirm`).set(otherRealtor.auth)).status).toBe(404);
      expect((await http().put(`${path}/decline`).set(otherRealtor.auth).send({})).status).toBe(404);
      expect((await http().put(path).set(otherRealtor.auth).send({ scheduled_at: nextSlot() })).status).toBe(404);
      expect((await http().delete(path).set(otherRealtor.auth)).status).toBe(404);
      expect(await row(id)).toMatchObject({ status: 'pending', ics_sequence: 0 });
    });

    it('when a buyer calls a realtor or admin booking route, then 403', async () => {
      expect((await http().put(`/api/v1/realtors/bookings/${id}/confirm`).set(buyer.auth)).status).toBe(403);
      expect((await http().get('/api/v1/admin/bookings').set(buyer.auth)).status).toBe(403);
      expect((await http().post('/api/v1/buyers/bookings').set(realtor.auth).send({ property_id: propertyId, scheduled_at: nextSlot() })).status).toBe(403);
    });
  });

  describe('when the workflow cannot be started', () => {
    let deadClient: Client;
    let dead: TestApp;

    beforeAll(async () => {
      // The same app, but its Temporal client points at a port nobody listens on and does
      // not retry, so the start fails at once.
      deadClient = new Client({ connection: Connection.lazy({ address: `127.0.0.1:${await freePort()}`, interceptors: [], connectTimeout: '2s' }) });
      dead = await buildTestApp({
        knex: db.knex,
        env: { client: deadClient } as unknown as TestWorkflowEnvironment,
        temporalProbe: { check: async () => Promise.reject(new Error('unreachable')), close: async () => undefined },
      });
    });

    afterAll(async () => {
      dead?.cleanup();
      await deadClient?.connection.close();
    });

    it('when Temporal is unreachable, then the booking is still created (201, pending, not started), and the sweeper starts its workflow later', async () => {
      const me = await login(dead, buyer.email, buyer.password);
      const res = await request(dead.callback).post('/api/v1/buyers/bookings').set(me.auth).send({ property_id: propertyId, scheduled_at: nextSlot() });
      expect(res.status).toBe(201);
      expect(res.body.data.attributes.status).toBe('pending');
      const id = Number(res.body.data.id);
      expect((await row(id)).workflow_started_at).toBeNull();
      await expect(env.client.workflow.getHandle(bookingWorkflowId(id)).describe()).rejects.toThrow();

      const started = await sweepUnstartedBookings({
        knex: db.knex,
        client: env.client,
        taskQueue: t.config.temporal.taskQueue,
        settings: bookingWorkflowSettings(t.config),
        logger: createLogger(t.config, 'test-sweeper'),
        graceSeconds: 0,
      });
      expect(started).toContain(id);
      await eventually('workflow_started_at', async () => (await row(id)).workflow_started_at);
      const description = await env.client.workflow.getHandle(bookingWorkflowId(id)).describe();
      expect(description.status.name).toBe('RUNNING');
      await waitForMail(id, 'booking-request', realtor);

      // Swept once: a second sweep leaves it alone, and the booking works as any other.
      const again = await sweepUnstartedBookings({
        knex: db.knex,
        client: env.client,
        taskQueue: t.config.temporal.taskQueue,
        settings: bookingWorkflowSettings(t.config),
        logger: createLogger(t.config, 'test-sweeper'),
        graceSeconds: 0,
      });
      expect(again).not.toContain(id);
      expect((await http().put(`/api/v1/realtors/bookings/${id}/confirm`).set(realtor.auth)).status).toBe(200);
    });

    it('when a command comes for a booking whose workflow is not started yet, then 503 and nothing changes', async () => {
      const me = await login(dead, buyer.email, buyer.password);
      const res = await request(dead.callback).post('/api/v1/buyers/bookings').set(me.auth).send({ property_id: propertyId, scheduled_at: nextSlot() });
      const id = Number(res.body.data.id);
      const confirm = await http().put(`/api/v1/realtors/bookings/${id}/confirm`).set(realtor.auth);
      expect(confirm.status).toBe(503);
      expect(confirm.body.errors[0].code).toBe('SERVICE_UNAVAILABLE');
      expect((await row(id)).status).toBe('pending');
    });
  });
});
