import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EmailPermanentError, type EmailMessage, type EmailSender } from './port';

/**
 * The local email sender: each message becomes a real RFC 5322 / MIME `.eml` file in an
 * outbox folder (open it in any mail client). The idempotency key names the file, so a
 * retried send of the same logical message writes nothing new and returns the same id.
 */

const CRLF = '\r\n';
const MESSAGE_ID_DOMAIN = 'realtyforyou.local';
const HEADER_LINE_LIMIT = 78;

export interface LocalEmailSenderOptions {
  outboxDir: string;
  logger?: { info(obj: object, msg: string): void };
}

// Sends of one key in this process wait for each other: the outbox check and the write
// are two steps, and two overlapping retries must not both pass the check.
const inFlight = new Map<string, Promise<{ messageId: string }>>();

export class LocalEmailSender implements EmailSender {
  readonly name = 'local' as const;
  private readonly outboxDir: string;
  private readonly logger: LocalEmailSenderOptions['logger'];

  constructor(opts: LocalEmailSenderOptions) {
    this.outboxDir = path.resolve(opts.outboxDir);
    this.logger = opts.logger;
  }

  async send(from: string, message: EmailMessage): Promise<{ messageId: string }> {
    if (!message.idempotencyKey) throw new EmailPermanentError('email has no idempotency key');
    const hash = createHash('sha256').update(message.idempotencyKey, 'utf8').digest('hex');
    const slot = `${this.outboxDir}\0${hash}`;
    const pending = inFlight.get(slot);
    if (pending) return pending;
    const delivery = this.deliver(from, message, hash).finally(() => inFlight.delete(slot));
    inFlight.set(slot, delivery);
    return delivery;
  }

  private async deliver(from: string, message: EmailMessage, hash: string): Promise<{ messageId: string }> {
    const messageId = `<${hash.slice(0, 32)}@${MESSAGE_ID_DOMAIN}>`;
    const suffix = `-${hash.slice(0, 24)}.eml`;
    // Render before touching the outbox: a message that cannot be rendered is a permanent
    // failure whether or not an earlier attempt got through.
    const date = new Date();
    const raw = renderMessage(from, message, { messageId, date, boundarySeed: hash });

    await mkdir(this.outboxDir, { recursive: true });
    const existing = (await readdir(this.outboxDir)).find((name) => name.endsWith(suffix) && !name.startsWith('.'));
    if (existing) {
      this.logger?.info({ messageId, file: existing }, 'email already in outbox; not written again');
      return { messageId };
    }
    const file = `${date.toISOString().replace(/[:.]/g, '-')}${suffix}`;
    await writeAtomic(path.join(this.outboxDir, file), raw);
    this.logger?.info({ messageId, to: message.to, subject: message.subject, file }, 'email written to outbox');
    return { messageId };
  }
}

// ---------------------------------------------------------------------------------------
// Rendering

interface RenderOptions {
  messageId: string;
  date: Date;
  boundarySeed: string;
}

function renderMessage(from: string, message: EmailMessage, opts: RenderOptions): string {
  rejectLineBreaks('subject', message.subject);
  rejectLineBreaks('idempotency key', message.idempotencyKey);
  // "=_" never occurs in quoted-printable or base64 output, so these boundaries cannot
  // collide with any encoded content.
  const altBoundary = `=_rfy_alt_${opts.boundarySeed.slice(0, 24)}`;
  const mixedBoundary = `=_rfy_mixed_${opts.boundarySeed.slice(0, 24)}`;

  const alternative = renderMultipart('alternative', altBoundary, [
    renderEntity(
      ['Content-Type: text/plain; charset=UTF-8', 'Content-Transfer-Encoding: quoted-printable'],
      encodeQuotedPrintable(message.text),
    ),
    renderEntity(
      ['Content-Type: text/html; charset=UTF-8', 'Content-Transfer-Encoding: quoted-printable'],
      encodeQuotedPrintable(message.html),
    ),
  ]);
  const attachments = message.attachments ?? [];
  const top =
    attachments.length === 0
      ? alternative
      : renderMultipart('mixed', mixedBoundary, [
          renderEntity(alternative.headers, alternative.body),
          ...attachments.map(renderAttachment),
        ]);

  const headers = [
    foldHeader('From', formatAddress('from', from)),
    foldHeader('To', formatAddress('to', message.to)),
    foldHeader('Subject', encodeHeaderText(message.subject)),
    `Date: ${formatDate(opts.date)}`,
    `Message-ID: ${opts.messageId}`,
    'MIME-Version: 1.0',
    foldHeader('X-Idempotency-Key', encodeHeaderText(message.idempotencyKey)),
    ...top.headers,
  ];
  return renderEntity(headers, top.body);
}

function renderEntity(headers: string[], body: string): string {
  return headers.join(CRLF) + CRLF + CRLF + body;
}

function renderMultipart(subtype: string, boundary: string, parts: string[]): { headers: string[]; body: string } {
  const body =
    'This is a multi-part message in MIME format.' +
    CRLF +
    parts.map((part) => `--${boundary}${CRLF}${part}${CRLF}`).join('') +
    `--${boundary}--${CRLF}`;
  return { headers: [`Content-Type: multipart/${subtype};${CRLF} boundary="${boundary}"`], body };
}

const CONTENT_TYPE = /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(\s*;\s*[A-Za-z0-9_.+-]+=("[^"\r\n\\]*"|[A-Za-z0-9!#$&^_.+-]+))*$/;

function renderAttachment(attachment: { filename: string; contentType: string; content: Buffer }): string {
  const contentType = attachment.contentType.trim();
  if (!CONTENT_TYPE.test(contentType)) {
    throw new EmailPermanentError(`attachment ${JSON.stringify(attachment.filename)} has an invalid content type`);
  }
  const filename = path.basename(attachment.filename.replace(/\\/g, '/'));
  if (!filename || filename.length > 255 || /[^\x20-\x7e\u0080-\uffff]/.test(filename)) {
    throw new EmailPermanentError(`attachment filename ${JSON.stringify(attachment.filename)} is invalid`);
  }
  // Text attachments such as ICS invites are UTF-8 (RFC 5545) unless the caller says otherwise.
  const withCharset =
    /^text\//i.test(contentType) && !/;\s*charset=/i.test(contentType) ? `${contentType}; charset=UTF-8` : contentType;
  const disposition = /^[\x20-\x7e]*$/.test(filename)
    ? `filename="${filename.replace(/["\\]/g, '\\$&')}"`
    : `filename*=UTF-8''${encodeRfc2231(filename)}`;
  const nameParam = /^[\x20-\x7e]*$/.test(filename) ? `; name="${filename.replace(/["\\]/g, '\\$&')}"` : '';
  return renderEntity(
    [
      foldParams('Content-Type', `${withCharset}${nameParam}`),
      'Content-Transfer-Encoding: base64',
      foldParams('Content-Disposition', `attachment; ${disposition}`),
    ],
    wrapBase64(attachment.content),
  );
}

function encodeRfc2231(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Folds a structured header after each `;` outside quotes when the line is long. */
function foldParams(name: string, value: string): string {
  const line = `${name}: ${value}`;
  if (line.length <= HEADER_LINE_LIMIT) return line;
  const pieces: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const char = value[i] ?? '';
    if (char === '\\' && quoted) {
      current += char + (value[i + 1] ?? '');
      i++;
      continue;
    }
    if (char === '"') quoted = !quoted;
    if (char === ';' && !quoted) {
      pieces.push(current.trimEnd() + ';');
      current = '';
      while (value[i + 1] === ' ') i++;
      continue;
    }
    current += char;
  }
  pieces.push(current);
  return `${name}: ${pieces.join(`${CRLF} `)}`;
}

function rejectLineBreaks(what: string, value: string): void {
  if (/[\r\n\0]/.test(value)) throw new EmailPermanentError(`email ${what} contains a line break`);
}

const ADDR_SPEC = /^[^\s<>()[\]\\,;:@"]+@[^\s<>()[\]\\,;:@"]+$/;

/** `a@b` or `Name <a@b>`; the display name is quoted or encoded as needed. */
function formatAddress(field: string, value: string): string {
  rejectLineBreaks(field, value);
  const trimmed = value.trim();
  const named = /^(.*?)\s*<([^<>]+)>$/.exec(trimmed);
  const address = named ? (named[2] ?? '').trim() : trimmed;
  if (!ADDR_SPEC.test(address) || !/^[\x21-\x7e]+$/.test(address)) {
    throw new EmailPermanentError(`invalid ${field} address: ${JSON.stringify(value)}`);
  }
  let displayName = named ? (named[1] ?? '').trim() : '';
  if (displayName.startsWith('"') && displayName.endsWith('"') && displayName.length >= 2) {
    displayName = displayName.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  if (!displayName) return address;
  if (!/^[\x20-\x7e]*$/.test(displayName)) return `${encodeWords(displayName).join(' ')} <${address}>`;
  if (/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+$/.test(displayName) && !displayName.includes('=?')) {
    return `${displayName} <${address}>`;
  }
  return `"${displayName.replace(/["\\]/g, '\\$&')}" <${address}>`;
}

/** Unstructured header text: as is when plain ASCII, else RFC 2047 encoded-words. */
function encodeHeaderText(value: string): string {
  if (/^[\x20-\x7e]*$/.test(value) && !value.includes('=?')) return value;
  return encodeWords(value).join(' ');
}

/** `=?UTF-8?B?...?=` words of at most 75 characters, never splitting a character. */
function encodeWords(value: string): string[] {
  const words: string[] = [];
  let chunk: Buffer[] = [];
  let size = 0;
  const flush = (): void => {
    if (chunk.length) words.push(`=?UTF-8?B?${Buffer.concat(chunk).toString('base64')}?=`);
    chunk = [];
    size = 0;
  };
  for (const char of value) {
    const bytes = Buffer.from(char, 'utf8');
    // 45 bytes -> 60 base64 characters + 12 of framing = 72.
    if (size + bytes.length > 45) flush();
    chunk.push(bytes);
    size += bytes.length;
  }
  flush();
  return words;
}

/** Folds at spaces so lines stay under 78 characters where possible; unfolding restores the value. */
function foldHeader(name: string, value: string): string {
  const tokens = value.split(' ');
  let line = `${name}:`;
  const lines: string[] = [];
  tokens.forEach((token) => {
    if (line.length + 1 + token.length > HEADER_LINE_LIMIT && line.trim() !== `${name}:`) {
      lines.push(line);
      line = '';
    }
    line += ` ${token}`;
  });
  lines.push(line);
  return lines.join(CRLF);
}

function formatDate(date: Date): string {
  // toUTCString gives "Tue, 01 Jan 2024 00:00:00 GMT"; RFC 5322 prefers a numeric zone.
  return date.toUTCString().replace(/GMT$/, '+0000');
}

/** Quoted-printable (RFC 2045) over UTF-8; lines at most 76 characters, CRLF hard breaks. */
function encodeQuotedPrintable(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => {
      const bytes = Buffer.from(line, 'utf8');
      const out: string[] = [];
      let current = '';
      bytes.forEach((byte, i) => {
        const last = i === bytes.length - 1;
        const literal = (byte >= 33 && byte <= 126 && byte !== 61) || ((byte === 32 || byte === 9) && !last);
        const token = literal ? String.fromCharCode(byte) : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
        if (current.length + token.length > 75) {
          out.push(`${current}=`);
          current = '';
        }
        current += token;
      });
      out.push(current);
      return out.join(CRLF);
    })
    .join(CRLF);
}

function wrapBase64(content: Buffer): string {
  const encoded = content.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < encoded.length; i += 76) lines.push(encoded.slice(i, i + 76));
  return lines.join(CRLF);
}

async function writeAtomic(file: string, data: string): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, data, 'utf8');
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
