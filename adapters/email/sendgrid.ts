import { createHash } from 'node:crypto';
import { Client } from '@sendgrid/client';
import { MailService } from '@sendgrid/mail';
import { EmailPermanentError, type EmailMessage, type EmailSender } from './port';

/**
 * The SendGrid email sender (v3 mail send). Each instance has its own SendGrid client, so
 * two senders with different keys or base URLs never share the library's global singleton.
 *
 * SendGrid's mail send has no idempotency keys of its own: the key travels as the
 * `X-Idempotency-Key` header and `idempotency_key` custom arg so a duplicate can be traced
 * in the activity feed and webhooks. Duplicates are prevented on this side: concurrent
 * sends of one key share one request, and a key this instance has already delivered is
 * answered from memory (the Notifier's notifications row covers other processes).
 */

export interface SendGridEmailSenderOptions {
  apiKey: string;
  /** Defaults to https://api.sendgrid.com/; tests point it at a local server. */
  baseUrl?: string;
  /** Per-request timeout; defaults to 30 seconds. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** Delivered keys remembered per instance, oldest dropped first. */
const DELIVERED_CACHE_SIZE = 10_000;

interface Address {
  email: string;
  name?: string;
}

export class SendGridEmailSender implements EmailSender {
  readonly name = 'sendgrid' as const;
  private readonly mail: MailService;
  private readonly inFlight = new Map<string, Promise<{ messageId: string }>>();
  private readonly delivered = new Map<string, string>();

  constructor(opts: SendGridEmailSenderOptions) {
    if (!opts.apiKey) throw new Error('SendGrid needs an API key');
    const client = new Client();
    // setApiKey resets the base URL to SendGrid's, so the override comes after it.
    client.setApiKey(opts.apiKey);
    if (opts.baseUrl) client.setDefaultRequest('baseUrl', opts.baseUrl);
    this.mail = new MailService();
    this.mail.setClient(client);
    this.mail.setTimeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  }

  send(from: string, message: EmailMessage): Promise<{ messageId: string }> {
    const key = message.idempotencyKey;
    if (!key) return Promise.reject(new EmailPermanentError('email has no idempotency key'));
    const known = this.delivered.get(key);
    if (known !== undefined) return Promise.resolve({ messageId: known });
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const delivery = this.deliver(from, message).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, delivery);
    return delivery;
  }

  private async deliver(from: string, message: EmailMessage): Promise<{ messageId: string }> {
    const key = message.idempotencyKey;
    if (/[\r\n]/.test(message.subject)) throw new EmailPermanentError('email subject contains a line break');
    if (/[\r\n]/.test(key)) throw new EmailPermanentError('email idempotency key contains a line break');
    const data = {
      from: parseAddress('from', from),
      to: parseAddress('to', message.to),
      subject: message.subject,
      // SendGrid requires text/plain first when both are present.
      content: [
        { type: 'text/plain', value: message.text },
        { type: 'text/html', value: message.html },
      ] as [{ type: string; value: string }, { type: string; value: string }],
      attachments: message.attachments?.map((a) => ({
        content: a.content.toString('base64'),
        filename: a.filename,
        type: a.contentType,
        disposition: 'attachment',
      })),
      headers: { 'X-Idempotency-Key': key },
      customArgs: { idempotency_key: key },
    };

    let response: { headers?: unknown };
    try {
      [response] = await this.mail.send(data);
    } catch (err) {
      throw classifyError(err);
    }
    const messageId = headerValue(response.headers, 'x-message-id') ?? fallbackMessageId(key);
    this.remember(key, messageId);
    return { messageId };
  }

  private remember(key: string, messageId: string): void {
    this.delivered.set(key, messageId);
    if (this.delivered.size > DELIVERED_CACHE_SIZE) {
      const oldest = this.delivered.keys().next().value;
      if (oldest !== undefined) this.delivered.delete(oldest);
    }
  }
}

const ADDR_SPEC = /^[^\s<>()[\]\\,;:@"]+@[^\s<>()[\]\\,;:@"]+$/;

/** `a@b`, `Name <a@b>` or `"Name" <a@b>` as SendGrid's `{ email, name }`. */
export function parseAddress(field: string, value: string): Address {
  if (/[\r\n\0]/.test(value)) throw new EmailPermanentError(`email ${field} address contains a line break`);
  const trimmed = value.trim();
  const named = /^(.*?)\s*<([^<>]+)>$/.exec(trimmed);
  const email = (named ? (named[2] ?? '') : trimmed).trim();
  if (!ADDR_SPEC.test(email) || !/^[\x21-\x7e]+$/.test(email)) {
    throw new EmailPermanentError(`invalid ${field} address: ${JSON.stringify(value)}`);
  }
  let name = named ? (named[1] ?? '').trim() : '';
  if (name.length >= 2 && name.startsWith('"') && name.endsWith('"')) name = name.slice(1, -1).replace(/\\(.)/g, '$1');
  return name ? { email, name } : { email };
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  // axios hands back AxiosHeaders (lower-cased keys); a plain object is read case-insensitively.
  const entry = Object.entries(headers as Record<string, unknown>).find(([k]) => k.toLowerCase() === name);
  const value = Array.isArray(entry?.[1]) ? (entry[1] as unknown[])[0] : entry?.[1];
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

function fallbackMessageId(key: string): string {
  return `sendgrid-${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 32)}`;
}

/**
 * `@sendgrid/client` rejects with a ResponseError (`code` = HTTP status, `response.body` =
 * SendGrid's `{ errors: [{ message, field, help }] }`) when SendGrid answered 4xx/5xx, and
 * with the axios error (`isAxiosError`, string `code` such as ECONNREFUSED or ECONNABORTED)
 * when no answer came. Anything else was thrown while building the request from our data.
 */
function classifyError(err: unknown): Error {
  const e = (err ?? {}) as { code?: unknown; response?: { body?: unknown }; isAxiosError?: unknown; message?: unknown };
  const reason = typeof e.message === 'string' && e.message ? e.message : String(err);
  if (typeof e.code === 'number' && e.response) {
    const status = e.code;
    const details = sendGridErrorMessages(e.response.body);
    const message = `SendGrid rejected the email (HTTP ${status})${details ? `: ${details}` : reason ? `: ${reason}` : ''}`;
    const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
    return permanent ? new EmailPermanentError(message, { cause: err }) : new Error(message, { cause: err });
  }
  if (e.isAxiosError === true) {
    const code = typeof e.code === 'string' ? ` (${e.code})` : '';
    return new Error(`SendGrid could not be reached${code}: ${reason}`, { cause: err });
  }
  return new EmailPermanentError(`SendGrid request could not be built: ${reason}`, { cause: err });
}

function sendGridErrorMessages(body: unknown): string {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body) as unknown;
    } catch {
      return body.trim().slice(0, 500);
    }
  }
  const errors = (parsed as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return '';
  return errors
    .map((item: unknown) => {
      const { message, field } = (item ?? {}) as { message?: unknown; field?: unknown };
      if (typeof message !== 'string') return '';
      return typeof field === 'string' && field ? `${message} (${field})` : message;
    })
    .filter(Boolean)
    .join('; ');
}
