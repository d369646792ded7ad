/**
 * iCalendar (RFC 5545) invites for tour bookings, attached to the confirmation and
 * cancellation emails. The UID stays the same for the life of a booking and SEQUENCE goes
 * up with each change, so calendar clients update or remove the one event instead of
 * adding another.
 */

export interface IcsPerson {
  name: string;
  email: string;
}

export interface IcsEvent {
  uid: string;
  sequence: number;
  method: 'REQUEST' | 'CANCEL';
  start: Date;
  end: Date;
  stamp: Date;
  summary: string;
  description?: string;
  location?: string;
  organizer: IcsPerson;
  attendees: IcsPerson[];
  /** Defaults to CANCELLED for a CANCEL and CONFIRMED otherwise. */
  status?: 'CONFIRMED' | 'CANCELLED';
}

export const ICS_PRODID = '-//RealtyForYou//Tours//EN';
export const ICS_CONTENT_TYPE = 'text/calendar; charset=UTF-8';

const CRLF = '\r\n';
/** RFC 5545 3.1: content lines SHOULD NOT be longer than 75 octets, line break excluded. */
const LINE_OCTETS = 75;

export function buildIcs(e: IcsEvent): string {
  if (!e.uid.trim()) throw new RangeError('ICS event needs a UID');
  if (!Number.isInteger(e.sequence) || e.sequence < 0) {
    throw new RangeError(`ICS SEQUENCE must be a non-negative integer, got ${e.sequence}`);
  }
  if (e.end.getTime() <= e.start.getTime()) throw new RangeError('ICS event must end after it starts');
  const status = e.status ?? (e.method === 'CANCEL' ? 'CANCELLED' : 'CONFIRMED');

  const lines = [
    'BEGIN:VCALENDAR',
    `PRODID:${ICS_PRODID}`,
    'VERSION:2.0',
    'CALSCALE:GREGORIAN',
    `METHOD:${e.method}`,
    'BEGIN:VEVENT',
    `UID:${escapeText(e.uid)}`,
    `SEQUENCE:${e.sequence}`,
    `DTSTAMP:${formatUtc(e.stamp)}`,
    `DTSTART:${formatUtc(e.start)}`,
    `DTEND:${formatUtc(e.end)}`,
    `SUMMARY:${escapeText(e.summary)}`,
    ...(e.description !== undefined ? [`DESCRIPTION:${escapeText(e.description)}`] : []),
    ...(e.location !== undefined ? [`LOCATION:${escapeText(e.location)}`] : []),
    `ORGANIZER;CN=${paramValue(e.organizer.name)}:${mailto(e.organizer.email)}`,
    ...e.attendees.map(
      (a) =>
        `ATTENDEE;CN=${paramValue(a.name)};ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:${mailto(a.email)}`,
    ),
    `STATUS:${status}`,
    'END:VEVENT',
    'END:VCALENDAR',
  ];
  return lines.map(foldLine).join(CRLF) + CRLF;
}

/** `YYYYMMDDTHHMMSSZ` (RFC 5545 3.3.5, form #2: UTC). */
export function formatUtc(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('ICS date is invalid');
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** TEXT value escaping (RFC 5545 3.3.11); other control characters are not allowed and go. */
export function escapeText(value: string): string {
  return normalizeText(value)
    .replace(/[\\;,\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/**
 * A parameter value such as CN. Parameters have no backslash escapes: characters that
 * cannot appear use RFC 6868 caret encoding, and the value is quoted when it holds
 * `;`, `:` or `,`.
 */
function paramValue(value: string): string {
  const encoded = normalizeText(value)
    .replace(/[\^\n"]/g, (c) => (c === '^' ? '^^' : c === '\n' ? '^n' : "^'"));
  return /[;:,]/.test(encoded) ? `"${encoded}"` : encoded;
}

/**
 * Line breaks become `\n`; other C0 controls and DEL, which RFC 5545 does not allow in
 * values (HTAB aside), are dropped.
 */
function normalizeText(value: string): string {
  return value
    .replace(/\r\n|\r/g, '\n')
    .split('')
    .filter((c) => {
      const code = c.charCodeAt(0);
      return !(code < 0x20 || code === 0x7f) || c === '\n' || c === '\t';
    })
    .join('');
}

const ADDR_SPEC = /^[^\s<>()[\]\\,;:@"]+@[^\s<>()[\]\\,;:@"]+$/;

function mailto(email: string): string {
  const address = email.trim();
  if (!ADDR_SPEC.test(address) || !/^[\x21-\x7e]+$/.test(address)) {
    throw new RangeError(`invalid calendar address: ${JSON.stringify(email)}`);
  }
  return `mailto:${address}`;
}

/**
 * Folds a content line into chunks of at most 75 octets (the leading space of each
 * continuation counts), breaking only between characters so no UTF-8 sequence is split.
 */
export function foldLine(line: string): string {
  if (Buffer.byteLength(line, 'utf8') <= LINE_OCTETS) return line;
  const out: string[] = [];
  let current = '';
  let size = 0;
  let limit = LINE_OCTETS;
  for (const char of line) {
    const octets = Buffer.byteLength(char, 'utf8');
    if (size + octets > limit) {
      out.push(current);
      current = '';
      size = 0;
      limit = LINE_OCTETS - 1;
    }
    current += char;
    size += octets;
  }
  out.push(current);
  return out.join(`${CRLF} `);
}
