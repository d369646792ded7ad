/**
 * iCalendar (RFC 5545) invites for tour bookings, attached to the confirmation and
 * cancellation emails. The UID stays the same for the life of a booking and SEQUENCE goes
 * up with each change, so calendar clients update or remove the one event instead of
 * adding another.
 */
import { createEvent, type EventAttributes } from 'ics';

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

/**
 * The `ics` package writes the calendar (structure, TEXT escaping, UTC dates, contacts).
 * Three things stay here because the package does them in a way that breaks invites:
 * it folds lines by characters, not octets (a line of accented names goes over 75
 * octets), it escapes quotes in parameter values with a backslash, which RFC 5545 does not
 * have (names get RFC 6868 caret encoding first), and it passes control characters
 * through (they are dropped first, so no value can start a property of its own).
 */
export function buildIcs(e: IcsEvent): string {
  if (!e.uid.trim()) throw new RangeError('ICS event needs a UID');
  if (!Number.isInteger(e.sequence) || e.sequence < 0) {
    throw new RangeError(`ICS SEQUENCE must be a non-negative integer, got ${e.sequence}`);
  }
  if (e.end.getTime() <= e.start.getTime()) throw new RangeError('ICS event must end after it starts');
  for (const d of [e.start, e.end, e.stamp]) if (Number.isNaN(d.getTime())) throw new RangeError('ICS date is invalid');
  const status = e.status ?? (e.method === 'CANCEL' ? 'CANCELLED' : 'CONFIRMED');

  const utc = { startInputType: 'utc', startOutputType: 'utc', endInputType: 'utc', endOutputType: 'utc' } as const;
  // DTSTAMP comes from `timestamp`, which the package reads but its types leave out.
  const attributes: EventAttributes & { timestamp: number } = {
    productId: ICS_PRODID,
    method: e.method,
    uid: normalizeText(e.uid),
    sequence: e.sequence,
    timestamp: e.stamp.getTime(),
    start: e.start.getTime(),
    end: e.end.getTime(),
    ...utc,
    title: normalizeText(e.summary),
    ...(e.description !== undefined ? { description: normalizeText(e.description) } : {}),
    ...(e.location !== undefined ? { location: normalizeText(e.location) } : {}),
    organizer: { name: paramValue(e.organizer.name), email: address(e.organizer.email) },
    // ROLE=REQ-PARTICIPANT and PARTSTAT=NEEDS-ACTION are the RFC defaults, so they are left
    // out rather than written quoted, as the package would.
    attendees: e.attendees.map((a) => ({ name: paramValue(a.name), email: address(a.email), rsvp: true })),
    status,
  };
  const { error, value } = createEvent(attributes);
  if (error || !value) throw new RangeError(`ICS event is invalid: ${error?.message ?? 'no output'}`);
  // The package folds with CRLF + TAB by characters; unfold, then fold by octets.
  return value
    .replace(/\r\n\t/g, '')
    .split(CRLF)
    .filter((line) => line !== '')
    .map(foldLine)
    .join(CRLF) + CRLF;
}

/**
 * A parameter value such as CN. Parameters have no backslash escapes: characters that
 * cannot appear use RFC 6868 caret encoding; the package then quotes the value.
 */
function paramValue(value: string): string {
  return normalizeText(value).replace(/[\^\n"]/g, (c) => (c === '^' ? '^^' : c === '\n' ? '^n' : "^'"));
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

function address(email: string): string {
  const trimmed = email.trim();
  if (!ADDR_SPEC.test(trimmed) || !/^[\x21-\x7e]+$/.test(trimmed)) {
    throw new RangeError(`invalid calendar address: ${JSON.stringify(email)}`);
  }
  return trimmed;
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
