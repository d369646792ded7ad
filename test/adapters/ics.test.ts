import { buildIcs, foldLine, type IcsEvent } from '../../adapters/email/ics';

const BASE: IcsEvent = {
  uid: 'booking-42@realtyforyou.com',
  sequence: 0,
  method: 'REQUEST',
  start: new Date('2026-03-03T10:00:00.000Z'),
  end: new Date('2026-03-03T10:30:00.000Z'),
  stamp: new Date('2026-02-20T08:15:30.123Z'),
  summary: 'Video tour: 12 Oak Street',
  description: 'Join from RealtyForYou.',
  location: 'RealtyForYou video call',
  organizer: { name: 'RealtyForYou', email: 'no-reply@realtyforyou.com' },
  attendees: [
    { name: 'Rita Realtor', email: 'rita@example.com' },
    { name: 'Bob Buyer', email: 'bob@example.com' },
  ],
};

/** RFC 5545 3.1: a CRLF followed by one space or tab is removed when unfolding. */
function unfold(ics: string): string[] {
  return ics.replace(/\r\n[ \t]/g, '').split('\r\n');
}

function property(ics: string, name: string): string[] {
  return unfold(ics)
    .filter((line) => line.startsWith(`${name}:`) || line.startsWith(`${name};`));
}

/** Reverses TEXT escaping, as a calendar client would. */
function unescapeText(value: string): string {
  return value.replace(/\\([\\;,nN])/g, (_m, c: string) => (c === 'n' || c === 'N' ? '\n' : c));
}

describe('buildIcs', () => {
  it('when a REQUEST is built, then it is one VCALENDAR with one VEVENT, every property once, and CRLF endings', () => {
    const ics = buildIcs(BASE);
    expect(ics.endsWith('\r\n')).toBe(true);
    expect(ics.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    const lines = unfold(ics);
    // RFC 5545 fixes the nesting, not the order of properties within a component.
    expect([lines[0], lines.at(-3), lines.at(-2), lines.at(-1)]).toEqual(['BEGIN:VCALENDAR', 'END:VEVENT', 'END:VCALENDAR', '']);
    const calendar = lines.slice(1, lines.indexOf('BEGIN:VEVENT'));
    const event = lines.slice(lines.indexOf('BEGIN:VEVENT') + 1, lines.indexOf('END:VEVENT'));
    expect(calendar.sort()).toEqual(['CALSCALE:GREGORIAN', 'METHOD:REQUEST', 'PRODID:-//RealtyForYou//Tours//EN', 'VERSION:2.0', 'X-PUBLISHED-TTL:PT1H']);
    expect(event.sort()).toEqual(
      [
        'UID:booking-42@realtyforyou.com',
        'SEQUENCE:0',
        'DTSTAMP:20260220T081530Z',
        'DTSTART:20260303T100000Z',
        'DTEND:20260303T103000Z',
        'SUMMARY:Video tour: 12 Oak Street',
        'DESCRIPTION:Join from RealtyForYou.',
        'LOCATION:RealtyForYou video call',
        'ORGANIZER;CN="RealtyForYou":MAILTO:no-reply@realtyforyou.com',
        'ATTENDEE;RSVP=TRUE;CN="Rita Realtor":mailto:rita@example.com',
        'ATTENDEE;RSVP=TRUE;CN="Bob Buyer":mailto:bob@example.com',
        'STATUS:CONFIRMED',
      ].sort(),
    );
  });

  it('when description and location are left out, then neither property appears', () => {
    const { description: _d, location: _l, ...rest } = BASE;
    const ics = buildIcs(rest);
    expect(property(ics, 'DESCRIPTION')).toEqual([]);
    expect(property(ics, 'LOCATION')).toEqual([]);
  });

  it('when times are given in any zone, then they are written in UTC with a Z and no milliseconds', () => {
    const ics = buildIcs({
      ...BASE,
      start: new Date('2026-03-03T23:45:00-05:00'),
      end: new Date('2026-03-04T00:45:00-05:00'),
      stamp: new Date(Date.UTC(2026, 0, 5, 4, 3, 2, 999)),
    });
    expect(property(ics, 'DTSTART')).toEqual(['DTSTART:20260304T044500Z']);
    expect(property(ics, 'DTEND')).toEqual(['DTEND:20260304T054500Z']);
    expect(property(ics, 'DTSTAMP')).toEqual(['DTSTAMP:20260105T040302Z']);
  });

  it('when text holds backslashes, commas, semicolons and line breaks, then they are escaped and read back unchanged', () => {
    const summary = 'Tour; 12 Oak St, Apt 3 \\ back';
    const description = 'Line one\nLine two\r\nLine three, with; all\\of it';
    const location = 'Room 1,2;3';
    const ics = buildIcs({ ...BASE, summary, description, location });
    expect(property(ics, 'SUMMARY')).toEqual(['SUMMARY:Tour\\; 12 Oak St\\, Apt 3 \\\\ back']);
    expect(property(ics, 'DESCRIPTION')).toEqual(['DESCRIPTION:Line one\\nLine two\\nLine three\\, with\\; all\\\\of it']);
    expect(property(ics, 'LOCATION')).toEqual(['LOCATION:Room 1\\,2\\;3']);
    expect(unescapeText(property(ics, 'DESCRIPTION')[0]!.slice('DESCRIPTION:'.length))).toBe(
      description.replace(/\r\n/g, '\n'),
    );
  });

  it('when a name holds separators or quotes, then the CN parameter stays one parameter', () => {
    const ics = buildIcs({
      ...BASE,
      organizer: { name: 'Smith, Jones; Partners: Realty', email: 'office@example.com' },
      attendees: [{ name: 'Bob "The Buyer"', email: 'bob@example.com' }],
    });
    expect(property(ics, 'ORGANIZER')).toEqual(['ORGANIZER;CN="Smith, Jones; Partners: Realty":MAILTO:office@example.com']);
    expect(property(ics, 'ATTENDEE')).toEqual([
      'ATTENDEE;RSVP=TRUE;CN="Bob ^\'The Buyer^\'":mailto:bob@example.com',
    ]);
  });

  it('when a line is long, then no physical line is over 75 octets and unfolding restores it', () => {
    const description = 'A long description of the tour. '.repeat(12).trim();
    const ics = buildIcs({ ...BASE, description });
    for (const line of ics.split('\r\n')) expect(Buffer.byteLength(line, 'utf8')).toBeLessThanOrEqual(75);
    expect(ics.split('\r\n').filter((line) => line.startsWith(' ')).length).toBeGreaterThan(3);
    expect(property(ics, 'DESCRIPTION')).toEqual([`DESCRIPTION:${description}`]);
  });

  it('when a long line holds multi-byte characters, then folds never split one and the text decodes intact', () => {
    const description = 'Zoë visits the château — 🏡 façade, 日本語の説明, ✓ '.repeat(6);
    const ics = buildIcs({ ...BASE, description, attendees: [{ name: 'Zoë Ünal 🏠', email: 'zoe@example.com' }] });
    const bytes = Buffer.from(ics, 'utf8');
    // A split multi-byte sequence would not survive a round trip through UTF-8.
    expect(bytes.toString('utf8')).toBe(ics);
    for (const line of ics.split('\r\n')) {
      expect(Buffer.byteLength(line, 'utf8')).toBeLessThanOrEqual(75);
      expect(line).not.toMatch(/[\uD800-\uDBFF]$/);
      expect(line).not.toMatch(/^ ?[\uDC00-\uDFFF]/);
      expect(Buffer.from(line, 'utf8').toString('utf8')).toBe(line);
    }
    expect(unescapeText(property(ics, 'DESCRIPTION')[0]!.slice('DESCRIPTION:'.length))).toBe(description);
    expect(property(ics, 'ATTENDEE')[0]).toContain('CN="Zoë Ünal 🏠":');
  });

  it('when foldLine gets exactly 75 octets, then it leaves the line alone; at 76 it folds', () => {
    expect(foldLine('x'.repeat(75))).toBe('x'.repeat(75));
    expect(foldLine('x'.repeat(76))).toBe(`${'x'.repeat(75)}\r\n x`);
    // A 4-byte character that would cross the limit moves whole to the next line.
    expect(foldLine(`${'x'.repeat(73)}🏡yy`)).toBe(`${'x'.repeat(73)}\r\n 🏡yy`);
    expect(foldLine(`${'x'.repeat(74)}éa`)).toBe(`${'x'.repeat(74)}\r\n éa`);
    // Continuation lines hold 74 octets after their leading space.
    expect(foldLine('y'.repeat(75 + 74 + 1)).split('\r\n')).toEqual(['y'.repeat(75), ` ${'y'.repeat(74)}`, ' y']);
  });

  it('when a CANCEL is built, then it keeps the UID, raises SEQUENCE and says STATUS:CANCELLED', () => {
    const request = buildIcs(BASE);
    const cancel = buildIcs({ ...BASE, method: 'CANCEL', sequence: 1 });
    expect(property(cancel, 'METHOD')).toEqual(['METHOD:CANCEL']);
    expect(property(cancel, 'STATUS')).toEqual(['STATUS:CANCELLED']);
    expect(property(cancel, 'UID')).toEqual(property(request, 'UID'));
    expect(property(cancel, 'SEQUENCE')).toEqual(['SEQUENCE:1']);
    expect(property(cancel, 'ATTENDEE')).toHaveLength(2);
    expect(property(cancel, 'ORGANIZER')).toEqual(property(request, 'ORGANIZER'));
  });

  it('when a booking is rescheduled twice, then the UID is stable and SEQUENCE increases', () => {
    const versions = [0, 1, 2].map((sequence) =>
      buildIcs({
        ...BASE,
        sequence,
        start: new Date(BASE.start.getTime() + sequence * 3_600_000),
        end: new Date(BASE.end.getTime() + sequence * 3_600_000),
      }),
    );
    expect(new Set(versions.map((ics) => property(ics, 'UID')[0])).size).toBe(1);
    expect(versions.map((ics) => property(ics, 'SEQUENCE')[0])).toEqual(['SEQUENCE:0', 'SEQUENCE:1', 'SEQUENCE:2']);
    expect(versions.map((ics) => property(ics, 'DTSTART')[0])).toEqual([
      'DTSTART:20260303T100000Z',
      'DTSTART:20260303T110000Z',
      'DTSTART:20260303T120000Z',
    ]);
  });

  it('when status is given explicitly, then it wins over the default', () => {
    expect(property(buildIcs({ ...BASE, status: 'CANCELLED' }), 'STATUS')).toEqual(['STATUS:CANCELLED']);
  });

  it.each([
    ['end before start', { end: new Date('2026-03-03T09:00:00Z') }, /end after it starts/],
    ['an invalid date', { stamp: new Date('nope') }, /invalid/],
    ['a negative sequence', { sequence: -1 }, /SEQUENCE/],
    ['a fractional sequence', { sequence: 1.5 }, /SEQUENCE/],
    ['an empty UID', { uid: ' ' }, /UID/],
    ['a bad attendee address', { attendees: [{ name: 'X', email: 'x@y\r\nATTENDEE:mailto:evil@z' }] }, /calendar address/],
  ] as Array<[string, Partial<IcsEvent>, RegExp]>)('when given %s, then it throws', (_label, patch, error) => {
    expect(() => buildIcs({ ...BASE, ...patch })).toThrow(error);
  });

  it('when text holds control characters, then they are dropped so no property can be injected', () => {
    const ics = buildIcs({ ...BASE, summary: 'Tour\u0000\u0007 now', organizer: { name: 'A\nB', email: 'a@b.com' } });
    expect(property(ics, 'SUMMARY')).toEqual(['SUMMARY:Tour now']);
    expect(property(ics, 'ORGANIZER')).toEqual(['ORGANIZER;CN="A^nB":MAILTO:a@b.com']);
  });
});
