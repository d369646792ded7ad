import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
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

// ---------------------------------------------------------------------------------------
// Reading the outbox back (tests and tooling)

export interface OutboxAttachment {
  filename: string;
  /** The part's full Content-Type value, parameters included. */
  contentType: string;
  content: Buffer;
}

export interface OutboxMessage {
  file: string;
  from: string;
  to: string;
  subject: string;
  messageId: string;
  date: string;
  idempotencyKey: string;
  /** Decoded text part, line breaks as `\n`. */
  text: string;
  /** Decoded HTML part, line breaks as `\n`. */
  html: string;
  attachments: OutboxAttachment[];
  raw: string;
}

/** The messages in an outbox, oldest first (file names start with the send time). */
export async function readOutbox(outboxDir: string): Promise<OutboxMessage[]> {
  let names: string[];
  try {
    names = await readdir(outboxDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const files = names.filter((name) => name.endsWith('.eml') && !name.startsWith('.')).sort();
  return Promise.all(
    files.map(async (file) => parseMessage(file, await readFile(path.join(outboxDir, file), 'utf8'))),
  );
}

interface MimeEntity {
  headers: Map<string, string>;
  body: string;
}

function parseMessage(file: string, raw: string): OutboxMessage {
  const root = parseEntity(raw);
  const header = (name: string): string => decodeHeaderText(root.headers.get(name) ?? '');
  const result: OutboxMessage = {
    file,
    from: header('from'),
    to: header('to'),
    subject: header('subject'),
    messageId: header('message-id'),
    date: header('date'),
    idempotencyKey: header('x-idempotency-key'),
    text: '',
    html: '',
    attachments: [],
    raw,
  };
  collectParts(root, result);
  return result;
}

function parseEntity(raw: string): MimeEntity {
  const end = raw.indexOf(CRLF + CRLF);
  const head = end < 0 ? raw : raw.slice(0, end);
  const body = end < 0 ? '' : raw.slice(end + 4);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r\n(?=[ \t])/g, '').split(CRLF)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function parseParams(value: string): { value: string; params: Map<string, string> } {
  const semicolon = value.indexOf(';');
  const main = (semicolon < 0 ? value : value.slice(0, semicolon)).trim();
  const params = new Map<string, string>();
  const pattern = /;\s*([^=\s;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)/g;
  for (const match of value.matchAll(pattern)) {
    const name = (match[1] ?? '').toLowerCase();
    let paramValue = match[2] ?? '';
    if (paramValue.startsWith('"')) paramValue = paramValue.slice(1, -1).replace(/\\(.)/g, '$1');
    params.set(name, paramValue);
  }
  return { value: main, params };
}

function collectParts(entity: MimeEntity, into: OutboxMessage): void {
  const contentTypeHeader = entity.headers.get('content-type') ?? 'text/plain; charset=us-ascii';
  const contentType = parseParams(contentTypeHeader);
  const type = contentType.value.toLowerCase();
  if (type.startsWith('multipart/')) {
    const boundary = contentType.params.get('boundary');
    if (!boundary) return;
    for (const part of splitMultipart(entity.body, boundary)) collectParts(parseEntity(part), into);
    return;
  }
  const disposition = parseParams(entity.headers.get('content-disposition') ?? 'inline');
  const content = decodeBody(entity.body, entity.headers.get('content-transfer-encoding') ?? '7bit');
  const isAttachment = disposition.value.toLowerCase() === 'attachment';
  if (!isAttachment && type === 'text/plain' && !into.text) {
    into.text = decodeCharset(content, contentType.params.get('charset')).replace(/\r\n/g, '\n');
  } else if (!isAttachment && type === 'text/html' && !into.html) {
    into.html = decodeCharset(content, contentType.params.get('charset')).replace(/\r\n/g, '\n');
  } else {
    const extended = disposition.params.get('filename*');
    const filename = extended
      ? decodeURIComponent(extended.replace(/^[^']*'[^']*'/, ''))
      : (disposition.params.get('filename') ?? contentType.params.get('name') ?? '');
    into.attachments.push({ filename: decodeHeaderText(filename), contentType: contentTypeHeader, content });
  }
}

function splitMultipart(body: string, boundary: string): string[] {
  const delimiter = `${CRLF}--${boundary}`;
  const sections = (CRLF + body).split(delimiter);
  const parts: string[] = [];
  // sections[0] is the preamble; a section starting with "--" follows the close delimiter.
  for (const section of sections.slice(1)) {
    if (section.startsWith('--')) break;
    const lineEnd = section.indexOf(CRLF);
    parts.push(lineEnd < 0 ? '' : section.slice(lineEnd + 2));
  }
  return parts;
}

function decodeBody(body: string, transferEncoding: string): Buffer {
  switch (transferEncoding.trim().toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
    case 'quoted-printable':
      return decodeQuotedPrintable(body);
    default:
      return Buffer.from(body, 'utf8');
  }
}

function decodeQuotedPrintable(body: string): Buffer {
  // Trailing whitespace may have been added in transit (RFC 2045 6.7); then soft breaks go.
  return decodeQuotedBytes(body.replace(/[ \t]+(?=\r\n|$)/g, '').replace(/=\r\n/g, ''));
}

function decodeQuotedBytes(joined: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const char = joined[i] ?? '';
    const hex = joined.slice(i + 1, i + 3);
    if (char === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(char, 'utf8'));
    }
  }
  return Buffer.from(bytes);
}

function decodeCharset(content: Buffer, charset: string | undefined): string {
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(content);
  } catch {
    return content.toString('utf8');
  }
}

/** Unfolded header text with RFC 2047 encoded-words (B or Q) decoded. */
function decodeHeaderText(value: string): string {
  const unfolded = value.replace(/\r\n(?=[ \t])/g, '');
  // Whitespace between two adjacent encoded-words is not part of the text (RFC 2047 6.2).
  const joined = unfolded.replace(/(\?=)[ \t]+(?==\?)/g, '$1');
  return joined.replace(/=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g, (_word, charset: string, encoding: string, text: string) => {
    const bytes =
      encoding.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64')
        : decodeQuotedBytes(text.replace(/_/g, ' '));
    return decodeCharset(bytes, charset.replace(/\*.*$/, ''));
  });
}
