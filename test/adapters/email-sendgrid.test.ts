import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildIcs } from '../../adapters/email/ics';
import { EmailPermanentError, type EmailMessage, type EmailSender } from '../../adapters/email/port';
import { SendGridEmailSender } from '../../adapters/email/sendgrid';

const API_KEY = 'SG.test-key';
const FROM = 'RealtyForYou <no-reply@realtyforyou.com>';

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Never answer (for timeouts). */
  hang?: boolean;
}

/**
 * A local stand-in for SendGrid's v3 mail send: `POST /v3/mail/send` with a Bearer key and
 * a JSON body, answered 202 with an `x-message-id` unless a reply is queued.
 */
class FakeSendGrid {
  readonly received: Received[] = [];
  readonly replies: Reply[] = [];
  accepted = 0;
  private server = http.createServer((req, res) => this.handle(req, res));

  constructor(private readonly apiKey = API_KEY) {}

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      try {
        body = JSON.parse(raw);
      } catch {
        // left as text; the checks below reject it
      }
      this.received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const reply = this.reply(req, body);
      if (reply.hang) return;
      if (reply.status === 202) this.accepted++;
      res.writeHead(reply.status, { ...(reply.body === undefined ? {} : { 'content-type': 'application/json' }), ...reply.headers });
      res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    });
  }

  private reply(req: http.IncomingMessage, body: unknown): Reply {
    if (req.method !== 'POST' || req.url !== '/v3/mail/send') {
      return { status: 404, body: { errors: [{ message: 'not found', field: null, help: null }] } };
    }
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) {
      return {
        status: 401,
        body: { errors: [{ message: 'The provided authorization grant is invalid, expired, or revoked', field: null, help: null }] },
      };
    }
    if (!String(req.headers['content-type']).startsWith('application/json') || typeof body !== 'object' || body === null) {
      return { status: 400, body: { errors: [{ message: 'Bad Request', field: null, help: null }] } };
    }
    const queued = this.replies.shift();
    if (queued) return queued;
    return { status: 202, headers: { 'x-message-id': `msg-${this.received.length}` } };
  }
}

function message(overrides: Partial<EmailMessage> = {}): EmailMessage {
  return {
    to: 'bob@example.com',
    subject: 'Confirmed: your tour of 12 Oak Street',
    text: 'Hi Bob,\n\nYour tour is confirmed.\n',
    html: '<p>Hi Bob,</p><p>Your tour is confirmed.</p>',
    idempotencyKey: 'booking:42:confirmed:buyer',
    ...overrides,
  };
}

/** What the Notifier and an activity retry policy do together: retry until sent or permanent. */
async function sendWithRetries(sender: EmailSender, msg: EmailMessage, attempts = 5): Promise<{ messageId: string }> {
  let last: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await sender.send(FROM, msg);
    } catch (err) {
      if (err instanceof EmailPermanentError) throw err;
      last = err;
    }
  }
  throw last;
}

describe('SendGridEmailSender', () => {
  let fake: FakeSendGrid;
  let baseUrl: string;
  let sender: SendGridEmailSender;

  beforeEach(async () => {
    fake = new FakeSendGrid();
    baseUrl = await fake.start();
    sender = new SendGridEmailSender({ apiKey: API_KEY, baseUrl, timeoutMs: 5_000 });
  });

  afterEach(async () => {
    await fake.stop();
  });

  it('when an email with an invite is sent, then SendGrid gets the exact v3 mail send body and the message id comes back', async () => {
    const ics = buildIcs({
      uid: 'booking-42@realtyforyou.com',
      sequence: 0,
      method: 'REQUEST',
      start: new Date('2026-03-03T10:00:00Z'),
      end: new Date('2026-03-03T10:30:00Z'),
      stamp: new Date('2026-02-20T08:00:00Z'),
      summary: 'Video tour: 12 Oak Street',
      organizer: { name: 'RealtyForYou', email: 'no-reply@realtyforyou.com' },
      attendees: [{ name: 'Bob Buyer', email: 'bob@example.com' }],
    });
    const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const msg = message({
      attachments: [
        { filename: 'invite.ics', contentType: 'text/calendar; charset=UTF-8; method=REQUEST', content: Buffer.from(ics, 'utf8') },
        { filename: 'floorplan.bin', contentType: 'application/octet-stream', content: binary },
      ],
    });

    const result = await sender.send(FROM, msg);

    expect(result).toEqual({ messageId: 'msg-1' });
    expect(fake.received).toHaveLength(1);
    const [request] = fake.received;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/v3/mail/send');
    expect(request?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request?.headers['content-type']).toMatch(/^application\/json/);
    expect(request?.body).toEqual({
      from: { email: 'no-reply@realtyforyou.com', name: 'RealtyForYou' },
      subject: 'Confirmed: your tour of 12 Oak Street',
      personalizations: [{ to: [{ email: 'bob@example.com' }] }],
      content: [
        { type: 'text/plain', value: 'Hi Bob,\n\nYour tour is confirmed.\n' },
        { type: 'text/html', value: '<p>Hi Bob,</p><p>Your tour is confirmed.</p>' },
      ],
      attachments: [
        {
          content: Buffer.from(ics, 'utf8').toString('base64'),
          filename: 'invite.ics',
          type: 'text/calendar; charset=UTF-8; method=REQUEST',
          disposition: 'attachment',
        },
        { content: binary.toString('base64'), filename: 'floorplan.bin', type: 'application/octet-stream', disposition: 'attachment' },
      ],
      headers: { 'X-Idempotency-Key': 'booking:42:confirmed:buyer' },
      custom_args: { idempotency_key: 'booking:42:confirmed:buyer' },
    });
    const body = request?.body as { attachments: Array<{ content: string }> };
    expect(Buffer.from(body.attachments[1]!.content, 'base64')).toEqual(binary);
  });

  it('when there are no attachments and the recipient has a display name, then no attachments key is sent and to carries the name', async () => {
    await sender.send('"Realty, For You" <no-reply@realtyforyou.com>', message({ to: 'Bob Buyer <bob@example.com>' }));
    const body = fake.received[0]?.body as Record<string, unknown>;
    expect(body).not.toHaveProperty('attachments');
    expect(body.from).toEqual({ email: 'no-reply@realtyforyou.com', name: 'Realty, For You' });
    expect(body.personalizations).toEqual([{ to: [{ email: 'bob@example.com', name: 'Bob Buyer' }] }]);
  });

  it('when SendGrid answers without x-message-id, then the id is derived from the idempotency key', async () => {
    fake.replies.push({ status: 202 }, { status: 202 });
    const first = await sender.send(FROM, message());
    const again = await new SendGridEmailSender({ apiKey: API_KEY, baseUrl }).send(FROM, message());
    expect(first.messageId).toMatch(/^sendgrid-[0-9a-f]{32}$/);
    expect(again).toEqual(first);
  });

  it('when SendGrid answers 500, then the error is retryable and a second send succeeds', async () => {
    fake.replies.push({ status: 500, body: { errors: [{ message: 'Internal server error', field: null, help: null }] } });

    const failure = await sender.send(FROM, message()).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(Error);
    expect(failure).not.toBeInstanceOf(EmailPermanentError);
    expect((failure as Error).message).toMatch(/HTTP 500/);

    await expect(sender.send(FROM, message())).resolves.toEqual({ messageId: 'msg-2' });
    expect(fake.received).toHaveLength(2);
    expect(fake.accepted).toBe(1);
  });

  it('when a retrying caller meets a 500 and is then retried again after success, then SendGrid accepts exactly one message', async () => {
    fake.replies.push({ status: 500 }, { status: 503 });

    const sent = await sendWithRetries(sender, message());
    // The activity is retried (say its database write failed after the send): same key again.
    const resent = await sendWithRetries(sender, message());

    expect(sent).toEqual({ messageId: 'msg-3' });
    expect(resent).toEqual(sent);
    expect(fake.received).toHaveLength(3);
    expect(fake.accepted).toBe(1);
    for (const r of fake.received) {
      expect((r.body as { custom_args: Record<string, string> }).custom_args).toEqual({
        idempotency_key: 'booking:42:confirmed:buyer',
      });
    }
  });

  it('when two sends of one key overlap, then they share one request', async () => {
    const [a, b] = await Promise.all([sender.send(FROM, message()), sender.send(FROM, message())]);
    expect(a).toEqual({ messageId: 'msg-1' });
    expect(b).toEqual(a);
    expect(fake.received).toHaveLength(1);
    expect(fake.accepted).toBe(1);
  });

  it("when SendGrid answers 400 with its error JSON, then it is an EmailPermanentError carrying SendGrid's message", async () => {
    fake.replies.push({
      status: 400,
      body: {
        errors: [
          {
            message: 'The from address does not match a verified Sender Identity.',
            field: 'from',
            help: 'https://sendgrid.com/docs/for-developers/sending-email/sender-identity/',
          },
        ],
      },
    });
    const failure = await sender.send(FROM, message()).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(EmailPermanentError);
    expect((failure as Error).message).toContain('The from address does not match a verified Sender Identity.');
    expect((failure as Error).message).toMatch(/HTTP 400/);
    expect(fake.accepted).toBe(0);
  });

  it('when the API key is wrong, then the 401 is an EmailPermanentError', async () => {
    const wrongKey = new SendGridEmailSender({ apiKey: 'SG.wrong-key', baseUrl });
    const failure = await wrongKey.send(FROM, message()).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(EmailPermanentError);
    expect((failure as Error).message).toMatch(/HTTP 401.*authorization grant is invalid/);
    expect(fake.received[0]?.headers.authorization).toBe('Bearer SG.wrong-key');
  });

  it.each([403, 413])('when SendGrid answers %i, then it is permanent', async (status) => {
    fake.replies.push({ status, body: { errors: [{ message: `refused ${status}`, field: null, help: null }] } });
    await expect(sender.send(FROM, message())).rejects.toThrow(EmailPermanentError);
  });

  it.each([408, 429, 502, 503])('when SendGrid answers %i, then it is retryable', async (status) => {
    fake.replies.push({ status, body: { errors: [{ message: 'try later', field: null, help: null }] } });
    const failure = await sender.send(FROM, message()).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(Error);
    expect(failure).not.toBeInstanceOf(EmailPermanentError);
    expect((failure as Error).message).toContain(`HTTP ${status}`);
    expect((failure as Error).message).toContain('try later');
  });

  it('when the connection is refused, then the error is retryable', async () => {
    const gone = new FakeSendGrid();
    const goneUrl = await gone.start();
    await gone.stop();
    const failure = await new SendGridEmailSender({ apiKey: API_KEY, baseUrl: goneUrl })
      .send(FROM, message())
      .catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(Error);
    expect(failure).not.toBeInstanceOf(EmailPermanentError);
    expect((failure as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('when SendGrid does not answer in time, then the error is retryable', async () => {
    fake.replies.push({ status: 0, hang: true });
    const quick = new SendGridEmailSender({ apiKey: API_KEY, baseUrl, timeoutMs: 200 });
    const failure = await quick.send(FROM, message()).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(Error);
    expect(failure).not.toBeInstanceOf(EmailPermanentError);
    expect((failure as Error).message).toMatch(/could not be reached/);
  });

  it.each([
    ['a from address without @', 'RealtyForYou <nobody>', message()],
    ['a recipient with a line break', FROM, message({ to: 'bob@example.com\r\nBcc: eve@example.com' })],
    ['no idempotency key', FROM, message({ idempotencyKey: '' })],
  ])('when given %s, then it fails permanently without calling SendGrid', async (_label, from, msg) => {
    await expect(sender.send(from, msg)).rejects.toThrow(EmailPermanentError);
    expect(fake.received).toHaveLength(0);
  });

  it('when two senders use different keys and servers, then each uses its own client', async () => {
    const other = new FakeSendGrid('SG.other-key');
    const otherUrl = await other.start();
    try {
      const second = new SendGridEmailSender({ apiKey: 'SG.other-key', baseUrl: otherUrl });
      await expect(second.send(FROM, message({ idempotencyKey: 'a' }))).resolves.toEqual({ messageId: 'msg-1' });
      await expect(sender.send(FROM, message({ idempotencyKey: 'b' }))).resolves.toEqual({ messageId: 'msg-1' });
      expect(other.received.map((r) => r.headers.authorization)).toEqual(['Bearer SG.other-key']);
      expect(fake.received.map((r) => r.headers.authorization)).toEqual([`Bearer ${API_KEY}`]);
    } finally {
      await other.stop();
    }
  });
});
