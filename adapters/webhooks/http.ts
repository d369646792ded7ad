import { lookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { APP_VERSION } from '../../lib/version';
import { forbiddenAddressReason } from './address-policy';
import type { Resolver, WebhookRequest, WebhookResponse, WebhookTransport } from './port';

/**
 * Webhooks over HTTP(S) with a guard against server-side request forgery: the sender
 * resolves the host itself, checks every address it resolves to (address-policy.ts), and
 * connects to the checked address (the socket's lookup is pinned to it, while TLS still
 * verifies the certificate for the host name). Redirects are followed by hand, each hop
 * checked the same way, at most `maxRedirects` of them. One deadline covers the whole
 * attempt, redirects included. With `allowPrivate` (WEBHOOKS_ALLOW_PRIVATE, development
 * only) plain http and private addresses are allowed.
 */

export interface HttpWebhookTransportOptions {
  allowPrivate: boolean;
  /** The whole attempt: every hop, connecting, sending and reading the answer's start. */
  timeoutMs: number;
  maxRedirects?: number;
  /** Default: the operating system's resolver (getaddrinfo, as every other client here). */
  resolve?: Resolver;
  /**
   * The address check; default address-policy's. Tests pass one that lets a single local
   * address stand in for a public host.
   */
  forbiddenReason?: (address: string) => string | null;
  /** Certificate authorities to trust instead of the system's (tests' own). */
  ca?: string | Buffer;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** How much of an answer is read and kept for the log. */
const EXCERPT_BYTES = 1024;
const EXCERPT_CHARS = 500;

/** A request the guard refused before anything was sent. */
class Refused extends Error {}

class TimedOut extends Error {}

interface Answer {
  status: number;
  location: string | undefined;
  excerpt: string | null;
}

const defaultResolver: Resolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

/** The host of a URL as sockets take it: IPv6 literals without their brackets. */
const bareHost = (url: URL) => url.hostname.replace(/^\[|\]$/g, '');

/** Text for the log: no NULs or other control characters, bounded. */
function cleanText(buf: Buffer): string | null {
  if (!buf.length) return null;
  // eslint-disable-next-line no-control-regex
  return buf.toString('utf8').replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '').slice(0, EXCERPT_CHARS);
}

export class HttpWebhookTransport implements WebhookTransport {
  private readonly maxRedirects: number;
  private readonly resolve: Resolver;
  private readonly forbiddenReason: (address: string) => string | null;

  constructor(private readonly opts: HttpWebhookTransportOptions) {
    this.maxRedirects = opts.maxRedirects ?? 3;
    this.resolve = opts.resolve ?? defaultResolver;
    this.forbiddenReason = opts.forbiddenReason ?? forbiddenAddressReason;
  }

  async post(request: WebhookRequest): Promise<WebhookResponse> {
    const started = performance.now();
    const deadline = Date.now() + this.opts.timeoutMs;
    const result = (r: Omit<WebhookResponse, 'durationMs'>): WebhookResponse => ({ ...r, durationMs: Math.round(performance.now() - started) });
    let redirects = 0;
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return result({ ok: false, status: null, error: 'refused: not a valid URL', excerpt: null, redirects });
    }
    for (;;) {
      let answer: Answer;
      try {
        this.checkUrl(url);
        const address = await this.pin(url);
        answer = await this.send(url, address, request, deadline);
      } catch (err) {
        return result({ ok: false, status: null, error: this.describe(err, url), excerpt: null, redirects });
      }
      if (REDIRECT_STATUSES.has(answer.status)) {
        if (!answer.location) return result({ ok: false, status: answer.status, error: `HTTP ${answer.status} without a Location`, excerpt: answer.excerpt, redirects });
        if (redirects >= this.maxRedirects) {
          return result({ ok: false, status: answer.status, error: `refused: more than ${this.maxRedirects} redirects`, excerpt: answer.excerpt, redirects });
        }
        try {
          url = new URL(answer.location, url);
        } catch {
          return result({ ok: false, status: answer.status, error: 'refused: the redirect Location is not a valid URL', excerpt: answer.excerpt, redirects });
        }
        redirects += 1;
        continue;
      }
      const ok = answer.status >= 200 && answer.status < 300;
      return result({ ok, status: answer.status, error: ok ? null : `HTTP ${answer.status}`, excerpt: answer.excerpt, redirects });
    }
  }

  private checkUrl(url: URL): void {
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.opts.allowPrivate)) {
      throw new Refused(`${url.protocol.replace(/:$/, '')} URLs are not allowed (https only)`);
    }
    if (url.username || url.password) throw new Refused('credentials in the URL are not allowed');
  }

  /** The address to connect to: the host resolved here, every address it has checked. */
  private async pin(url: URL): Promise<{ address: string; family: 4 | 6 }> {
    const host = bareHost(url);
    const literal = isIP(host);
    const addresses = literal ? [{ address: host, family: literal as 4 | 6 }] : await this.resolve(host);
    if (!addresses.length) throw new Error(`${host} has no address`);
    if (!this.opts.allowPrivate) {
      for (const a of addresses) {
        const reason = this.forbiddenReason(a.address);
        if (reason) throw new Refused(`${literal ? a.address : `${host} resolves to ${a.address}`}, a ${reason} address`);
      }
    }
    return addresses[0]!;
  }

  private send(url: URL, target: { address: string; family: 4 | 6 }, request: WebhookRequest, deadline: number): Promise<Answer> {
    const remaining = deadline - Date.now();
    if (remaining <= 0) return Promise.reject(new TimedOut());
    const host = bareHost(url);
    // Every lookup of this request answers the checked address: the socket cannot go elsewhere.
    const pinned: LookupFunction = (_hostname, options, callback) => {
      if (options.all) (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [target]);
      else callback(null, target.address, target.family);
    };
    const client = url.protocol === 'https:' ? https : http;
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => req.destroy(new TimedOut()), remaining);
      const req = client.request(
        {
          protocol: url.protocol,
          host,
          port: url.port || undefined,
          path: `${url.pathname}${url.search}`,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(request.body),
            'user-agent': `RealtyForYou-Webhooks/${APP_VERSION}`,
            ...request.headers,
          },
          lookup: pinned,
          // A fresh connection per request: a pooled socket could have been pinned elsewhere.
          agent: false,
          ...(url.protocol === 'https:' ? { servername: isIP(host) ? undefined : host, ca: this.opts.ca } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          let settled = false;
          const finish = () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, location: res.headers.location, excerpt: cleanText(Buffer.concat(chunks).subarray(0, EXCERPT_BYTES)) });
            // The rest of the answer is not needed.
            res.destroy();
          };
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            size += chunk.length;
            if (size >= EXCERPT_BYTES) finish();
          });
          res.on('end', finish);
          res.on('error', finish);
          res.on('close', finish);
        },
      );
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(request.body);
    });
  }

  private describe(err: unknown, url: URL): string {
    if (err instanceof Refused) return `refused: ${err.message}`;
    if (err instanceof TimedOut) return `timed out after ${this.opts.timeoutMs} ms`;
    const e = err as NodeJS.ErrnoException;
    switch (e.code) {
      case 'ECONNREFUSED':
        return `connection refused by ${url.host}`;
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return `${bareHost(url)} could not be resolved`;
      case 'ECONNRESET':
        return `connection reset by ${url.host}`;
      default:
        return String(e.message || e).slice(0, 500);
    }
  }
}
