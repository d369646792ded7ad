import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { forbiddenAddressReason, forbiddenHostReason } from '../../adapters/webhooks/address-policy';
import { HttpWebhookTransport, type HttpWebhookTransportOptions } from '../../adapters/webhooks/http';
import type { Resolver } from '../../adapters/webhooks/port';
import { generateWebhookSecret, signWebhook } from '../../adapters/webhooks/signing';
import { webhookTransportFor } from '../../activities/webhooks.activities';
import { webhookAttemptOffsets } from '../../contracts/webhooks';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

/**
 * The webhook sender against local receivers: signatures that the Standard Webhooks library
 * verifies, and the guard against requests into private networks (checked after DNS, and
 * again on every redirect).
 *
 * A public host is stood in for by `hooks.example.test` (and `redirector.example.test`),
 * resolved by the test's resolver to 127.0.0.2, the one address the test's address check
 * lets through; everything else gets the real check. The stand-in speaks HTTPS with the
 * fixture certificate for those names, so the real https path (SNI, certificate check) runs.
 */

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'webhooks');
const tls = { key: readFileSync(path.join(FIXTURES, 'receiver-key.pem')), cert: readFileSync(path.join(FIXTURES, 'receiver-cert.pem')) };
const STAND_IN = '127.0.0.2';

const resolver: Resolver = async (hostname) => {
  const table: Record<string, Array<{ address: string; family: 4 | 6 }>> = {
    'hooks.example.test': [{ address: STAND_IN, family: 4 }],
    'redirector.example.test': [{ address: STAND_IN, family: 4 }],
    'internal.example.test': [{ address: '127.0.0.1', family: 4 }],
    'mixed.example.test': [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.7', family: 4 }],
    'metadata.example.test': [{ address: '::ffff:169.254.169.254', family: 6 }],
  };
  const found = table[hostname];
  if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return found;
};

function transport(over: Partial<HttpWebhookTransportOptions> = {}) {
  return new HttpWebhookTransport({
    allowPrivate: false,
    timeoutMs: 5000,
    resolve: resolver,
    forbiddenReason: (ip) => (ip === STAND_IN ? null : forbiddenAddressReason(ip)),
    ca: tls.cert,
    ...over,
  });
}

const message = (url: string) => {
  const secret = generateWebhookSecret();
  const body = JSON.stringify({ type: 'booking.confirmed', timestamp: new Date().toISOString(), data: { booking: { id: 1 } } });
  return { secret, request: { url, body, headers: signWebhook(secret, 'msg_test1', new Date(), body) } };
};

describe('webhook address policy', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped 127.0.0.1: loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped 127.0.0.1: loopback'],
    ['::ffff:10.0.0.1', 'IPv4-mapped 10.0.0.1: private'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 169.254.169.254: link-local'],
    ['2002:c0a8:101::1', '6to4 192.168.1.1: private'],
    ['::127.0.0.1', 'IPv4-compatible 127.0.0.1: loopback'],
    ['example.com', 'not an IP address'],
  ])('when the address is %s, then it is refused (%s)', (address, reason) => {
    expect(forbiddenAddressReason(address)).toEqual(expect.stringContaining(reason));
  });

  it.each(['8.8.8.8', '93.184.216.34', '172.32.0.1', '192.169.0.1', '2606:4700:4700::1111', '2001:4860:4860::8888', '::ffff:8.8.8.8', '64:ff9b::808:808'])(
    'when the address is the public %s, then it is allowed',
    (address) => {
      expect(forbiddenAddressReason(address)).toBeNull();
    },
  );

  it('when a URL host is checked before any lookup, then localhost names and private literals are refused and other names wait for resolution', () => {
    expect(forbiddenHostReason('localhost')).toMatch(/loopback/);
    expect(forbiddenHostReason('LOCALHOST.')).toMatch(/loopback/);
    expect(forbiddenHostReason('api.localhost')).toMatch(/loopback/);
    expect(forbiddenHostReason('[::1]')).toMatch(/loopback/);
    expect(forbiddenHostReason('169.254.169.254')).toMatch(/link-local/);
    expect(forbiddenHostReason('hooks.example.com')).toBeNull();
    expect(forbiddenHostReason('8.8.8.8')).toBeNull();
  });
});

describe('webhook transport', () => {
  let publicReceiver: WebhookReceiver;
  let internal: WebhookReceiver;
  let plainInternal: WebhookReceiver;

  beforeAll(async () => {
    [publicReceiver, internal, plainInternal] = await Promise.all([
      startWebhookReceiver({ host: STAND_IN, tls }),
      startWebhookReceiver({ host: '127.0.0.1', tls }),
      startWebhookReceiver({ host: '127.0.0.1' }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([publicReceiver?.close(), internal?.close(), plainInternal?.close()]);
  });

  beforeEach(() => {
    for (const r of [publicReceiver, internal, plainInternal]) {
      r.requests.length = 0;
      r.respond(() => ({ status: 200, body: 'ok' }));
    }
  });

  const publicUrl = (host: string, p = '/hook') => `https://${host}:${publicReceiver.port}${p}`;

  it('when a public https endpoint answers 200, then the POST carries the signed body, and the signature verifies with the standardwebhooks library', async () => {
    const { secret, request } = message(publicUrl('hooks.example.test'));
    const res = await transport().post(request);
    expect(res).toMatchObject({ ok: true, status: 200, error: null, excerpt: 'ok', redirects: 0 });
    expect(publicReceiver.requests).toHaveLength(1);
    const got = publicReceiver.requests[0]!;
    expect(got).toMatchObject({ method: 'POST', path: '/hook', body: request.body });
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers.host).toBe(`hooks.example.test:${publicReceiver.port}`);
    expect(new Webhook(secret).verify(got.body, got.headers)).toEqual(JSON.parse(request.body));
    // And a signature made with another secret does not.
    expect(() => new Webhook(generateWebhookSecret()).verify(got.body, got.headers)).toThrow(/No matching signature/);
  });

  it('when the endpoint answers 500, then the attempt failed with its status and the start of its body', async () => {
    publicReceiver.respond(() => ({ status: 500, body: 'database is down' }));
    const res = await transport().post(message(publicUrl('hooks.example.test')).request);
    expect(res).toMatchObject({ ok: false, status: 500, error: 'HTTP 500', excerpt: 'database is down' });
  });

  it('when the URL is https://localhost, then it is refused and nothing is sent', async () => {
    const res = await transport({ resolve: undefined }).post(message(`https://localhost:${internal.port}/hook`).request);
    expect(res).toMatchObject({ ok: false, status: null });
    expect(res.error).toMatch(/^refused: localhost resolves to (127\.0\.0\.1|::1), a loopback address$/);
    expect(internal.requests).toHaveLength(0);
  });

  it('when a host name resolves to 127.0.0.1, then it is refused after resolution and nothing is sent', async () => {
    const res = await transport().post(message(`https://internal.example.test:${internal.port}/hook`).request);
    expect(res.error).toBe('refused: internal.example.test resolves to 127.0.0.1, a loopback address');
    expect(internal.requests).toHaveLength(0);
  });

  it('when one of a name\'s addresses is private, then the name is refused', async () => {
    const res = await transport().post(message('https://mixed.example.test/hook').request);
    expect(res.error).toBe('refused: mixed.example.test resolves to 10.0.0.7, a private address');
  });

  it.each([
    ['https://127.0.0.1:PORT/hook', /127\.0\.0\.1, a loopback address/],
    ['https://[::ffff:127.0.0.1]:PORT/hook', /IPv4-mapped 127\.0\.0\.1: loopback/],
    ['https://169.254.169.254/latest/meta-data', /link-local/],
    ['https://metadata.example.test/latest', /IPv4-mapped 169\.254\.169\.254: link-local/],
  ])('when the URL is %s, then it is refused before connecting', async (url, reason) => {
    const res = await transport().post(message(url.replace('PORT', String(internal.port))).request);
    expect(res.ok).toBe(false);
    expect(res.error).toMatch(reason);
    expect(internal.requests).toHaveLength(0);
  });

  it('when the URL is plain http, then it is refused unless private targets are allowed (development)', async () => {
    const url = `http://127.0.0.1:${plainInternal.port}/hook`;
    expect((await transport().post(message(url).request)).error).toBe('refused: http URLs are not allowed (https only)');
    expect(plainInternal.requests).toHaveLength(0);
    const allowed = await transport({ allowPrivate: true }).post(message(url).request);
    expect(allowed).toMatchObject({ ok: true, status: 200 });
    expect(plainInternal.requests).toHaveLength(1);
  });

  it('when a public endpoint redirects to a host that resolves to 127.0.0.1, then the redirect is refused and the internal server gets nothing', async () => {
    publicReceiver.respond(() => ({ status: 302, headers: { location: `https://internal.example.test:${internal.port}/admin` } }));
    const res = await transport().post(message(publicUrl('redirector.example.test')).request);
    expect(res).toMatchObject({ ok: false, status: null, redirects: 1, error: 'refused: internal.example.test resolves to 127.0.0.1, a loopback address' });
    expect(publicReceiver.requests).toHaveLength(1);
    expect(internal.requests).toHaveLength(0);
  });

  it('when a public endpoint redirects to a private IP literal, then the redirect is refused', async () => {
    publicReceiver.respond(() => ({ status: 307, headers: { location: `https://127.0.0.1:${internal.port}/admin` } }));
    const res = await transport().post(message(publicUrl('redirector.example.test')).request);
    expect(res.error).toBe('refused: 127.0.0.1, a loopback address');
    expect(internal.requests).toHaveLength(0);
  });

  it('when a public endpoint redirects to another public URL, then the same signed body is POSTed there', async () => {
    publicReceiver.respond((req) => (req.path === '/moved' ? { status: 308, headers: { location: '/final' } } : { status: 204 }));
    const { secret, request } = message(publicUrl('redirector.example.test', '/moved'));
    const res = await transport().post(request);
    expect(res).toMatchObject({ ok: true, status: 204, redirects: 1 });
    expect(publicReceiver.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /moved', 'POST /final']);
    const final = publicReceiver.requests[1]!;
    expect(new Webhook(secret).verify(final.body, final.headers)).toEqual(JSON.parse(request.body));
  });

  it('when redirects go on past three, then the attempt fails without following the fourth', async () => {
    publicReceiver.respond((_req, n) => ({ status: 302, headers: { location: `/hop-${n + 1}` } }));
    const res = await transport().post(message(publicUrl('hooks.example.test', '/hop-0')).request);
    expect(res).toMatchObject({ ok: false, status: 302, redirects: 3, error: 'refused: more than 3 redirects' });
    expect(publicReceiver.requests).toHaveLength(4);
  });

  it('when the endpoint does not answer in time, then the attempt fails as timed out', async () => {
    const silent = await startWebhookReceiver({ host: '127.0.0.1' });
    silent.respond(() => null);
    try {
      const res = await transport({ allowPrivate: true, timeoutMs: 1000 }).post(message(`${silent.origin}/hook`).request);
      expect(res).toMatchObject({ ok: false, status: null, error: 'timed out after 1000 ms' });
    } finally {
      await silent.close();
    }
  });

  it('when the certificate does not match the host, then nothing is delivered', async () => {
    // The stand-in's certificate names hooks.example.test; the transport is asked for its IP.
    const res = await transport().post(message(`https://${STAND_IN}:${publicReceiver.port}/hook`).request);
    expect(res.ok).toBe(false);
    expect(res.error).toMatch(/certificate|altnames|IP/i);
  });
});

describe('webhook transport as configured', () => {
  it('when WEBHOOKS_ALLOW_PRIVATE is off (the default), then the configured transport refuses localhost with the real resolver and address check', async () => {
    const receiver = await startWebhookReceiver({ host: '127.0.0.1', tls });
    try {
      const res = await webhookTransportFor({ webhooks: { allowPrivate: false, timeoutMs: 2000, retryWindowMs: 0, disableAfterMs: 0, dispatchIntervalMs: 1000 } }).post(
        message(`https://localhost:${receiver.port}/hook`).request,
      );
      expect(res.error).toMatch(/^refused: localhost resolves to .*loopback address$/);
      expect(receiver.requests).toHaveLength(0);
    } finally {
      await receiver.close();
    }
  });
});

describe('webhook retry schedule', () => {
  const MIN = 60_000;
  const H = 60 * MIN;

  it('when the window is 24 hours, then eight attempts are due: at once, after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, and the last at the 24th hour', () => {
    expect(webhookAttemptOffsets(24 * H)).toEqual([0, 5_000, 5_000 + 5 * MIN, 5_000 + 35 * MIN, 5_000 + 2 * H + 35 * MIN, 5_000 + 7 * H + 35 * MIN, 5_000 + 17 * H + 35 * MIN, 24 * H]);
  });

  it('when the window is shorter than the schedule, then it ends with an attempt at the window\'s end', () => {
    expect(webhookAttemptOffsets(10 * MIN)).toEqual([0, 5_000, 5_000 + 5 * MIN, 10 * MIN]);
    expect(webhookAttemptOffsets(5_000)).toEqual([0, 5_000]);
  });

  it('when the window is longer, then the last delay repeats until it is used up', () => {
    const offsets = webhookAttemptOffsets(48 * H);
    expect(offsets.at(-1)).toBe(48 * H);
    expect(offsets.slice(7, -1)).toEqual([5_000 + 27 * H + 35 * MIN, 5_000 + 37 * H + 35 * MIN, 5_000 + 47 * H + 35 * MIN]);
  });
});
