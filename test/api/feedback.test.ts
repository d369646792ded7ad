import type request from 'supertest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { FEEDBACK_EDIT_WINDOW_MS, FEEDBACK_REMINDER_DELAY_MS, feedbackStateQuery, feedbackWorkflowId, type FeedbackWorkflowState } from '../../contracts/feedback';
import { createFeedbackActivities } from '../../activities/feedback.activities';
import { createLogger } from '../../lib/logger';
import { count, type TestDatabase } from '../support/db';
import { createBuyers, createProperty, createRealtor, createTour, insertTour, serverSlot, type SignedIn } from '../support/factories';
import { readOutbox } from '../support/outbox';
import { startTestSystem, TOURS_STARTABLE_NOW, type TestSystem } from '../support/system';
import { eventually } from '../support/wait';

/**
 * Buyer feedback over HTTP, against real PostgreSQL and a worker on the time-skipping
 * server: a tour's end asks its buyer once (an email linking to the endpoint) and reminds
 * them a day later unless they answered; feedback is given once, changed for a week, read by
 * the tour's realtor and aggregated per listing; nobody else reaches it.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('buyer feedback API', () => {
  let sys: TestSystem;
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  let realtor: SignedIn;
  let otherRealtor: SignedIn;
  let buyer: SignedIn;
  let otherBuyer: SignedIn;
  let panel: SignedIn[];
  let listing: number;
  let otherListing: number;
  const http = () => sys.http();
  let slot = 0;

  const url = (tourId: number) => `/api/v1/buyers/tours/${tourId}/feedback`;
  const give = (who: SignedIn, tourId: number, body: object) => http().post(url(tourId)).set(who.auth).send(body);
  const edit = (who: SignedIn, tourId: number, body: object) => http().put(url(tourId)).set(who.auth).send(body);
  const audits = (action: string) => count(db.knex('audit_logs').where({ action }));
  const mailsOf = async (prefix: string) => (await readOutbox(sys.t.config.email.outboxDir)).filter((m) => m.idempotencyKey.startsWith(prefix));
  const workflowOf = (tourId: number) => env.client.workflow.getHandle(feedbackWorkflowId(tourId));

  function expect400(res: request.Response, field: string): void {
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { code: string; field: string }) => [e.code, e.field])).toContainEqual(['VALIDATION_ERROR', field]);
  }

  /** A tour the buyer booked, the realtor confirmed, started and ended: its call is over. */
  async function endedTour(): Promise<number> {
    const { tourId } = await createTour(sys.t, { realtor, buyer }, { propertyId: listing, scheduledAt: await serverSlot(env, slot++) });
    for (const step of ['start', 'end']) {
      const res = await http().post(`/api/v1/realtors/tours/${tourId}/${step}`).set(realtor.auth);
      expect([step, res.status]).toEqual([step, 200]);
    }
    return tourId;
  }

  beforeAll(async () => {
    sys = await startTestSystem({ worker: true, config: { ...TOURS_STARTABLE_NOW } });
    ({ db, env } = sys);
    [realtor, otherRealtor] = await Promise.all([createRealtor(sys.t, 'Rita Realtor'), createRealtor(sys.t, 'Rob Realtor')]);
    const people = await createBuyers(sys.t, 5, (i) => `Buyer ${i}`);
    [buyer, otherBuyer, panel] = [people[0]!, people[1]!, people.slice(2)];
    [listing, otherListing] = await Promise.all([
      createProperty(sys.t, realtor, { address: '7 Feedback Lane', city: 'Springfield' }),
      createProperty(sys.t, otherRealtor, { address: '8 Elsewhere Road' }),
    ]);
  }, 180_000);

  afterAll(() => sys?.stop());

  /** Both ended at the start: tours can be started only within a day of the wall clock, which the sleeps below leave behind. */
  let unanswered: number;
  let answeredTour: number;

  it('when a tour ends, then its buyer is asked for feedback once, by email linking to the endpoint', async () => {
    unanswered = await endedTour();
    answeredTour = await endedTour();
    for (const tourId of [unanswered, answeredTour]) {
      await eventually(`the feedback request of tour ${tourId}`, async () => (await mailsOf(`feedback-request:${tourId}:`)).length > 0);
    }
    const [asked, ...more] = await mailsOf(`feedback-request:${unanswered}:`);
    expect(more).toEqual([]);
    expect(asked!.to).toContain(buyer.email);
    expect(asked!.subject).toBe('How was your tour of 7 Feedback Lane, Springfield?');
    expect(asked!.text).toContain(`${sys.t.config.publicBaseUrl}/api/v1/buyers/tours/${unanswered}/feedback`);
    expect(asked!.text).toContain('Rita Realtor');
    expect(await workflowOf(unanswered).query(feedbackStateQuery)).toEqual({ tourId: unanswered, requested: true, reminded: false, answered: false });
    expect(await mailsOf('feedback-reminder:')).toEqual([]);
  });

  it('when the buyer answers, then the realtor reads it, and the webhook event and audit row are recorded with it', async () => {
    const res = await give(buyer, answeredTour, { rating: 4, interest_level: 'very_interested', price_opinion: 'too_high', comments: '  Lovely light; the kitchen needs work.  ' });
    expect(res.status).toBe(201);
    const a = res.body.data.attributes;
    expect(res.body.data.type).toBe('tour_feedback');
    expect(a).toMatchObject({ tour_id: answeredTour, property_id: listing, buyer_id: buyer.id, realtor_id: realtor.id, rating: 4, interest_level: 'very_interested', price_opinion: 'too_high', comments: 'Lovely light; the kitchen needs work.' });
    expect(Date.parse(a.editable_until) - Date.parse(a.created_at)).toBe(FEEDBACK_EDIT_WINDOW_MS);
    // Told at once: its workflow ends, with no reminder.
    expect(await workflowOf(answeredTour).result()).toEqual({ tourId: answeredTour, requested: true, reminded: false, answered: true });

    const read = await http().get(`/api/v1/realtors/tours/${answeredTour}/feedback`).set(realtor.auth);
    expect(read.status).toBe(200);
    expect(read.body.data).toEqual(res.body.data);
    expect((await http().get(url(answeredTour)).set(buyer.auth)).body.data).toEqual(res.body.data);

    const event = await db.knex('domain_events').where({ natural_key: `feedback:${res.body.data.id}` }).first();
    expect(event).toMatchObject({ type: 'feedback.received', realtor_id: realtor.id, property_id: listing });
    expect(event.payload).toMatchObject({ feedback: { id: Number(res.body.data.id), rating: 4 }, tour: { id: answeredTour }, buyer: { id: buyer.id } });
    expect(await audits('tour_feedback_given')).toBe(1);
  });

  it('when a day passes on the server clock, then the buyer who did not answer is reminded once, and the one who did is not', async () => {
    await env.sleep(FEEDBACK_REMINDER_DELAY_MS + HOUR);
    expect((await workflowOf(unanswered).result()) as FeedbackWorkflowState).toEqual({ tourId: unanswered, requested: true, reminded: true, answered: false });
    const reminded = await mailsOf(`feedback-reminder:${unanswered}:`);
    expect(reminded.map((m) => m.subject)).toEqual(['A minute for your tour of 7 Feedback Lane, Springfield?']);
    expect(reminded[0]!.text).toContain(`/api/v1/buyers/tours/${unanswered}/feedback`);
    expect(await mailsOf(`feedback-reminder:${answeredTour}:`)).toEqual([]);
    // Once each, to the buyer only (the ledger's rows).
    const rows = await db.knex('notifications').where('idempotency_key', 'like', 'feedback-%').select('idempotency_key', 'status');
    expect(rows.map((r: { idempotency_key: string }) => r.idempotency_key).sort()).toEqual(
      [`feedback-reminder:${unanswered}:user-${buyer.id}`, `feedback-request:${answeredTour}:user-${buyer.id}`, `feedback-request:${unanswered}:user-${buyer.id}`].sort(),
    );
    expect(rows.every((r: { status: string }) => r.status === 'sent')).toBe(true);
  });

  it('when feedback is given again, then 409 points to PUT; PUT changes it within the week, audited, and not after', async () => {
    const again = await give(buyer, answeredTour, { rating: 1, interest_level: 'not_interested', price_opinion: 'too_high' });
    expect(again.status).toBe(409);
    expect(again.body.errors[0].message).toMatch(/already given feedback on this tour; change it with PUT until \d{4}-/);

    const changed = await edit(buyer, answeredTour, { rating: 2, comments: null });
    expect(changed.status).toBe(200);
    expect(changed.body.data.attributes).toMatchObject({ rating: 2, interest_level: 'very_interested', price_opinion: 'too_high', comments: null });
    expect(await audits('tour_feedback_changed')).toBe(1);
    const audit = await db.knex('audit_logs').where({ action: 'tour_feedback_changed' }).first();
    expect(JSON.parse(audit.details).changes).toEqual({ rating: { from: 4, to: 2 }, comments: { from: 'Lovely light; the kitchen needs work.', to: null } });
    // Only one row, still.
    expect(await count(db.knex('tour_feedback').where({ tour_id: answeredTour }))).toBe(1);

    // A week and a day later, it stands as it is.
    await db.knex('tour_feedback').where({ tour_id: answeredTour }).update({ created_at: new Date(Date.now() - FEEDBACK_EDIT_WINDOW_MS - DAY) });
    const late = await edit(buyer, answeredTour, { rating: 5 });
    expect(late.status).toBe(409);
    expect(late.body.errors[0].message).toMatch(/can no longer be changed: it was editable for 7 days/);
    expect((await http().get(url(answeredTour)).set(buyer.auth)).body.data.attributes.rating).toBe(2);
    expect(await audits('tour_feedback_changed')).toBe(1);
  });

  it('when the tour has not ended, or was cancelled, then feedback is refused with 409 and nothing is stored', async () => {
    const { tourId: upcoming } = await insertTour(db.knex, { property_id: listing, buyer_id: buyer.id });
    const { tourId: cancelled } = await insertTour(db.knex, { property_id: listing, buyer_id: buyer.id, status: 'cancelled' });
    const body = { rating: 3, interest_level: 'somewhat_interested', price_opinion: 'about_right' };
    const early = await give(buyer, upcoming, body);
    expect(early.status).toBe(409);
    expect(early.body.errors[0].message).toBe('Feedback opens when the tour has ended');
    expect((await give(buyer, cancelled, body)).status).toBe(409);
    expect(await count(db.knex('tour_feedback').whereIn('tour_id', [upcoming, cancelled]))).toBe(0);
    // No feedback yet: nothing to change or read.
    expect((await edit(buyer, upcoming, { rating: 3 })).status).toBe(404);
    expect((await http().get(url(upcoming)).set(buyer.auth)).status).toBe(404);
    expect((await http().get(`/api/v1/realtors/tours/${upcoming}/feedback`).set(realtor.auth)).status).toBe(404);
  });

  it('when the input is malformed, then 400 names the field and nothing is stored', async () => {
    const { tourId } = await insertTour(db.knex, { property_id: listing, buyer_id: buyer.id, status: 'completed' });
    const ok = { rating: 3, interest_level: 'somewhat_interested', price_opinion: 'about_right' };
    expect400(await give(buyer, tourId, { ...ok, rating: 0 }), 'rating');
    expect400(await give(buyer, tourId, { ...ok, rating: 6 }), 'rating');
    expect400(await give(buyer, tourId, { ...ok, rating: 3.5 }), 'rating');
    expect400(await give(buyer, tourId, { ...ok, rating: '5' }), 'rating');
    expect400(await give(buyer, tourId, { ...ok, interest_level: 'maybe' }), 'interest_level');
    expect400(await give(buyer, tourId, { rating: 3, interest_level: 'somewhat_interested' }), 'price_opinion');
    expect400(await give(buyer, tourId, { ...ok, comments: 'x'.repeat(2001) }), 'comments');
    expect400(await give(buyer, tourId, { ...ok, comments: 'a\u0000b' }), 'comments');
    expect400(await give(buyer, tourId, { ...ok, stars: 5 }), 'stars');
    expect((await give(buyer, 0, ok)).status).toBe(400);
    expect(await count(db.knex('tour_feedback').where({ tour_id: tourId }))).toBe(0);

    expect((await give(buyer, tourId, ok)).status).toBe(201);
    const empty = await edit(buyer, tourId, {});
    expect(empty.status).toBe(400);
    expect(empty.body.errors[0].message).toBe('nothing to change');
    expect400(await edit(buyer, tourId, { price_opinion: 'cheap' }), 'price_opinion');
    expect400(await http().get(`/api/v1/realtors/properties/${listing}/feedback`).query({ comment_limit: 51 }).set(realtor.auth), 'comment_limit');
    expect400(await http().get(`/api/v1/realtors/properties/${listing}/feedback`).query({ since: 'yesterday' }).set(realtor.auth), 'since');
  });

  it("when someone reaches for feedback that is not theirs, then 404 (403 outside their role) and nothing changes", async () => {
    const ok = { rating: 1, interest_level: 'not_interested', price_opinion: 'too_high', comments: 'Not mine' };
    for (const res of [
      await give(otherBuyer, answeredTour, ok),
      await edit(otherBuyer, answeredTour, { rating: 1 }),
      await http().get(url(answeredTour)).set(otherBuyer.auth),
      await http().get(`/api/v1/realtors/tours/${answeredTour}/feedback`).set(otherRealtor.auth),
      await http().get(`/api/v1/realtors/properties/${listing}/feedback`).set(otherRealtor.auth),
      await http().get('/api/v1/realtors/properties/999999/feedback').set(realtor.auth),
      await http().get('/api/v1/realtors/tours/999999/feedback').set(realtor.auth),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.errors[0].code).toBe('NOT_FOUND');
    }
    expect((await give(realtor, answeredTour, ok)).status).toBe(403);
    expect((await http().get(`/api/v1/realtors/tours/${answeredTour}/feedback`).set(buyer.auth)).status).toBe(403);
    expect((await http().get(url(answeredTour)).set(buyer.auth)).body.data.attributes.rating).toBe(2);
    expect(await count(db.knex('tour_feedback').where({ buyer_id: otherBuyer.id }))).toBe(0);
  });

  it('when the notice activity runs for a tour, then it sends only while the buyer has not answered and the tour ended and was not cancelled, and once', async () => {
    const activities = createFeedbackActivities({ knex: db.knex, notifier: sys.t.adapters.notifier, logger: createLogger(sys.t.config, 'test-worker'), publicBaseUrl: sys.t.config.publicBaseUrl });
    const { tourId: ended } = await insertTour(db.knex, { property_id: listing, buyer_id: panel[0]!.id, status: 'completed' });
    const { tourId: upcoming } = await insertTour(db.knex, { property_id: listing, status: 'scheduled' });
    const { tourId: cancelledTour } = await insertTour(db.knex, { property_id: listing, status: 'cancelled' });
    const { tourId: bookingCancelled, booking } = await insertTour(db.knex, { property_id: listing, status: 'processing' });
    await db.knex('bookings').where({ id: booking.id }).update({ status: 'cancelled' });

    expect(await activities.sendFeedbackNotice(ended, 'reminder')).toBe('sent');
    // A retry (or a second run) finds the ledger's row: nothing more goes out.
    expect(await activities.sendFeedbackNotice(ended, 'reminder')).toBe('sent');
    expect(await count(db.knex('notifications').where({ idempotency_key: `feedback-reminder:${ended}:user-${panel[0]!.id}` }))).toBe(1);
    expect((await mailsOf(`feedback-reminder:${ended}:`)).length).toBe(1);
    expect(await activities.sendFeedbackNotice(answeredTour, 'reminder')).toBe('answered');
    expect(await activities.sendFeedbackNotice(upcoming, 'request')).toBe('not_ended');
    expect(await activities.sendFeedbackNotice(cancelledTour, 'request')).toBe('cancelled');
    expect(await activities.sendFeedbackNotice(bookingCancelled, 'reminder')).toBe('cancelled');
    expect(await activities.sendFeedbackNotice(987654, 'request')).toBe('gone');
    for (const tourId of [upcoming, cancelledTour, bookingCancelled]) {
      expect([tourId, await count(db.knex('notifications').where('idempotency_key', 'like', `feedback-%:${tourId}:%`))]).toEqual([tourId, 0]);
    }
  });

  it("when several buyers gave feedback on a listing's tours, then the realtor reads the count, averages, distribution and latest comments", async () => {
    const empty = await http().get(`/api/v1/realtors/properties/${otherListing}/feedback`).set(otherRealtor.auth);
    expect(empty.status).toBe(200);
    expect(empty.body.data).toMatchObject({
      id: String(otherListing),
      type: 'property_feedback_summary',
      attributes: {
        count: 0,
        averages: { rating: null, interest_score: null, price_score: null },
        distribution: { rating: { 1: 0, 2: 0, 3: 0, 4: 0, 5: 0 }, interest_level: { not_interested: 0, somewhat_interested: 0, very_interested: 0 }, price_opinion: { too_low: 0, about_right: 0, too_high: 0 } },
        recent_comments: [],
      },
    });

    const answers = [
      { rating: 5, interest_level: 'very_interested', price_opinion: 'about_right', comments: 'Lovely garden' },
      { rating: 4, interest_level: 'somewhat_interested', price_opinion: 'too_high' },
      { rating: 2, interest_level: 'not_interested', price_opinion: 'too_high', comments: 'The street is noisy' },
    ];
    const tours: number[] = [];
    for (const [i, body] of answers.entries()) {
      const { tourId } = await insertTour(db.knex, { property_id: otherListing, buyer_id: panel[i]!.id, status: 'completed' });
      tours.push(tourId);
      expect((await give(panel[i]!, tourId, body)).status).toBe(201);
    }
    // A tour without feedback counts for nothing.
    await insertTour(db.knex, { property_id: otherListing, status: 'completed' });

    const res = await http().get(`/api/v1/realtors/properties/${otherListing}/feedback`).set(otherRealtor.auth);
    expect(res.status).toBe(200);
    const a = res.body.data.attributes;
    expect(a).toMatchObject({
      property_id: otherListing,
      count: 3,
      averages: { rating: 3.67, interest_score: 2, price_score: 0.67 },
      distribution: { rating: { 1: 0, 2: 1, 3: 0, 4: 1, 5: 1 }, interest_level: { not_interested: 1, somewhat_interested: 1, very_interested: 1 }, price_opinion: { too_low: 0, about_right: 1, too_high: 2 } },
    });
    expect(a.recent_comments.map((c: { tour_id: number; comments: string; rating: number }) => [c.tour_id, c.comments, c.rating])).toEqual([
      [tours[2], 'The street is noisy', 2],
      [tours[0], 'Lovely garden', 5],
    ]);
    const one = await http().get(`/api/v1/realtors/properties/${otherListing}/feedback`).query({ comment_limit: 1 }).set(otherRealtor.auth);
    expect(one.body.data.attributes.recent_comments.map((c: { comments: string }) => c.comments)).toEqual(['The street is noisy']);
    // Each listing its own: the realtor's first listing counts only its tours.
    const mine = await http().get(`/api/v1/realtors/properties/${listing}/feedback`).set(realtor.auth);
    expect(mine.body.data.attributes.count).toBe(2);
  });
});
