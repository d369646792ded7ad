import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TestApp } from '../support/app';
import type { TestDatabase } from '../support/db';
import { confirmBooking, createBuyer, createProperty, createRealtor, requestBooking, type SignedIn } from '../support/factories';
import { startTestSystem, type TestSystem } from '../support/system';
import { eventually } from '../support/wait';
import { bookingCalendarUid } from '../../contracts/bookings';

/**
 * The booking mail through the real SendGrid sender, against a local server that speaks
 * SendGrid's v3 mail send: the activity's retry policy, the notifications ledger and the
 * BookingWorkflow together decide what is retried, what is given up and what goes on.
 */

const API_KEY = 'SG.booking-test-key';

interface SentMail {
  key: string;
  to: string;
  subject: string;
  status: number;
  attachments: Array<{ filename: string; type: string; content: string }>;
}

type Rule = (mail: SentMail) => { status: number; body?: unknown } | undefined;

/** `POST /v3/mail/send` with a Bearer key: 202 and an `x-message-id`, unless a rule answers. */
class FakeSendGrid {
  readonly mails: SentMail[] = [];
  readonly rules: Rule[] = [];
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v3/mail/send') return this.answer(res, 404, { errors: [{ message: 'not found' }] });
      if (req.headers.authorization !== `Bearer ${API_KEY}`) return this.answer(res, 401, { errors: [{ message: 'bad key' }] });
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        subject: string;
        personalizations: Array<{ to: Array<{ email: string }> }>;
        custom_args?: { idempotency_key?: string };
        attachments?: SentMail['attachments'];
      };
      const mail: SentMail = {
        key: body.custom_args?.idempotency_key ?? '',
        to: body.personalizations[0]!.to[0]!.email,
        subject: body.subject,
        status: 202,
        attachments: body.attachments ?? [],
      };
      const reply = this.rules.map((rule) => rule(mail)).find(Boolean);
      mail.status = reply?.status ?? 202;
      this.mails.push(mail);
      if (reply) return this.answer(res, reply.status, reply.body);
      res.writeHead(202, { 'x-message-id': `sg-${this.mails.length}` });
      res.end();
    });
  });

  private answer(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? {}));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  to(email: string, kind: string): SentMail[] {
    return this.mails.filter((m) => m.to === email && m.key.includes(`:${kind}:`));
  }
}

describe('booking mail through SendGrid', () => {
  let fake: FakeSendGrid;
  let sys: TestSystem;
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  let t: TestApp;
  let buyer: SignedIn;

  beforeAll(async () => {
    fake = new FakeSendGrid();
    const baseUrl = await fake.start();
    sys = await startTestSystem({ config: { EMAIL_PROVIDER: 'sendgrid', SENDGRID_API_KEY: API_KEY, SENDGRID_BASE_URL: baseUrl }, worker: true });
    ({ db, env, t } = sys);
    buyer = await createBuyer(t, 'Bea Buyer');
  });

  afterAll(async () => {
    await sys?.stop();
    await fake?.stop();
  });

  /** The buyer's request for a listing of `realtor`'s (a realtor of the test's own: the rules match on the address). */
  async function requestOf(realtor: SignedIn, address: string): Promise<number> {
    const propertyId = await createProperty(t, realtor, { address, price: 1 });
    return (await requestBooking(t, buyer, propertyId)).id;
  }

  const notification = (bookingId: number, kind: string, user: SignedIn) =>
    db.knex('notifications').where({ idempotency_key: `booking:${bookingId}:${kind}:once:user-${user.id}` }).first();

  it('when SendGrid answers 500 once and then 202, then the activity retries and exactly one message is accepted, recorded as sent', async () => {
    const realtor = await createRealtor(t, 'Rita Realtor');
    let failed = false;
    fake.rules.push((m) => {
      if (failed || m.to !== realtor.email || !m.key.includes(':request:')) return undefined;
      failed = true;
      return { status: 500, body: { errors: [{ message: 'Internal server error' }] } };
    });
    const bookingId = await requestOf(realtor, '1 Retry Road');

    await eventually('the first, failed attempt', () => fake.to(realtor.email, 'request').length === 1);
    const pending = await eventually('the ledger row', () => notification(bookingId, 'request', realtor));
    expect(pending.status).toBe('pending');
    // The activity's retry waits 5 s of workflow time: skip it.
    await env.sleep(6_000);
    await eventually('the retry', () => fake.to(realtor.email, 'request').length === 2);

    const sent = await eventually('the row marked sent', async () => {
      const row = await notification(bookingId, 'request', realtor);
      return row?.status === 'sent' ? row : undefined;
    });
    expect(sent).toMatchObject({ attempts: 2, last_error: null, template: 'booking-request', recipient: realtor.email });
    expect(sent.provider_message_id).toMatch(/^sg-\d+$/);
    expect(fake.to(realtor.email, 'request').map((m) => m.status)).toEqual([500, 202]);
    expect(fake.to(realtor.email, 'request').every((m) => m.key === `booking:${bookingId}:request:once:user-${realtor.id}`)).toBe(true);
  });

  it('when SendGrid refuses one recipient with a 400, then that message is not retried and is recorded as failed, and the booking goes on with its other mail', async () => {
    const realtor = await createRealtor(t, 'Rob Refused');
    fake.rules.push((m) =>
      m.to === realtor.email && m.key.includes(':request:')
        ? { status: 400, body: { errors: [{ message: 'The to email does not contain a valid address.', field: 'personalizations.0.to', help: null }] } }
        : undefined,
    );
    const bookingId = await requestOf(realtor, '2 Bounce Boulevard');

    const failed = await eventually('the row marked failed', async () => {
      const row = await notification(bookingId, 'request', realtor);
      return row?.status === 'failed' ? row : undefined;
    });
    expect(failed.attempts).toBe(1);
    expect(failed.last_error).toMatch(/HTTP 400.*does not contain a valid address/);

    // Well past any retry interval: still only the one request.
    await env.sleep(30_000);
    expect(fake.to(realtor.email, 'request')).toHaveLength(1);

    await confirmBooking(t, realtor, bookingId);
    for (const who of [buyer, realtor]) {
      const [mail] = await eventually(`confirmation to ${who.email}`, () => {
        const accepted = fake.to(who.email, 'confirmed').filter((m) => m.key.startsWith(`booking:${bookingId}:`));
        return accepted.length ? accepted : undefined;
      });
      expect(mail!.status).toBe(202);
      const invite = mail!.attachments.find((a) => a.type.startsWith('text/calendar'));
      expect(Buffer.from(invite!.content, 'base64').toString('utf8')).toContain(`UID:${bookingCalendarUid(bookingId)}`);
      const key = `booking:${bookingId}:confirmed:`;
      await eventually(`ledger row of the confirmation to ${who.email}`, async () => {
        const row = await db.knex('notifications').where('idempotency_key', 'like', `${key}%`).andWhere({ recipient: who.email }).first();
        return row?.status === 'sent';
      });
    }
    expect((await notification(bookingId, 'request', realtor)).status).toBe('failed');
    expect(fake.to(realtor.email, 'request')).toHaveLength(1);
  });

  it('when a request for a realtor with working mail goes out, then it is sent once and never again', async () => {
    const realtor = await createRealtor(t, 'Rita Realtor');
    const bookingId = await requestOf(realtor, '3 Mail Street');
    await eventually('sent', async () => (await notification(bookingId, 'request', realtor))?.status === 'sent');
    await env.sleep(10_000);
    expect(fake.to(realtor.email, 'request')).toHaveLength(1);
  });
});
