import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';

/**
 * The local outbox read back with mailparser, as a mail client would read it: the tests
 * check what was written, through a MIME parser that is not the one that wrote it.
 */

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
  /** The Date header as written. */
  date: string;
  idempotencyKey: string;
  /** Decoded text part, line breaks as `\n`. */
  text: string;
  /** Decoded HTML part, line breaks as `\n`. */
  html: string;
  attachments: OutboxAttachment[];
  raw: string;
}

/** `Name <address>` (decoded, unquoted) or the bare address, as the header said it. */
function addresses(value: AddressObject | AddressObject[] | undefined): string {
  return (Array.isArray(value) ? value : value ? [value] : [])
    .flatMap((a) => a.value)
    .map((a) => (a.name ? `${a.name} <${a.address ?? ''}>` : (a.address ?? '')))
    .join(', ');
}

/** A header as written (unfolded), for the ones a parser would turn into objects. */
function rawHeader(mail: ParsedMail, name: string): string {
  const line = mail.headerLines.find((h) => h.key === name)?.line ?? '';
  return line.slice(line.indexOf(':') + 1).replace(/\r?\n[ \t]/g, ' ').trim();
}

function contentTypeOf(attachment: ParsedMail['attachments'][number]): string {
  const header = attachment.headers.get('content-type') as { value: string; params?: Record<string, string> } | undefined;
  if (!header) return attachment.contentType;
  return [header.value, ...Object.entries(header.params ?? {}).map(([k, v]) => `${k}=${v}`)].join('; ');
}

/**
 * mailparser decodes RFC 2047 encoded-words in the headers it knows, not in X- headers:
 * the value is decoded by mailparser as a Subject instead of by a decoder of our own.
 */
async function decodeUnstructured(value: string): Promise<string> {
  return value ? ((await simpleParser(`Subject: ${value}\r\n\r\n`)).subject ?? '') : '';
}

async function parse(file: string, raw: string): Promise<OutboxMessage> {
  const mail = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true });
  return {
    file,
    from: addresses(mail.from),
    to: addresses(mail.to),
    subject: mail.subject ?? '',
    messageId: mail.messageId ?? '',
    date: rawHeader(mail, 'date'),
    idempotencyKey: await decodeUnstructured(rawHeader(mail, 'x-idempotency-key')),
    text: (mail.text ?? '').replace(/\r\n/g, '\n'),
    html: (mail.html || '').replace(/\r\n/g, '\n'),
    attachments: mail.attachments.map((a) => ({ filename: a.filename ?? '', contentType: contentTypeOf(a), content: a.content })),
    raw,
  };
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
  return Promise.all(files.map(async (file) => parse(file, await readFile(path.join(outboxDir, file), 'utf8'))));
}
