import { readFileSync } from 'node:fs';
import path from 'node:path';
import { joinTimelines, labelSegments, parseMeetingEvents, resolveSpeakers, speakerTurns, type SpeakerTurn } from '../../adapters/meetings/speakers';

const REALTOR = '6a2f0c8e-3b1d-4c7a-9e55-0f1d2c3b4a51';
const BUYER = 'd9e8f7a6-b5c4-4d3e-8f21-7a6b5c4d3e2f';
const attendees = { [REALTOR]: 'user-7', [BUYER]: 'user-12' };
const roles: Record<string, 'realtor' | 'buyer'> = { 'user-7': 'realtor', 'user-12': 'buyer' };
const roleOf = (externalUserId: string) => roles[externalUserId] ?? null;

const fixture = readFileSync(path.join(__dirname, '../fixtures/chime/meeting-events.txt'), 'utf8');

/** The timeline the fixture describes, in ms from CaptureStarted. */
const fixtureTurns: SpeakerTurn[] = [
  { start_ms: 4_000, end_ms: 12_500, externalUserId: 'user-7', attendeeId: REALTOR },
  { start_ms: 12_500, end_ms: 17_000, externalUserId: 'user-12', attendeeId: BUYER },
  { start_ms: 19_000, end_ms: 27_500, externalUserId: 'user-7', attendeeId: REALTOR },
  { start_ms: 29_500, end_ms: 34_000, externalUserId: 'user-7', attendeeId: REALTOR },
  { start_ms: 34_000, end_ms: 39_000, externalUserId: 'user-12', attendeeId: BUYER },
  { start_ms: 39_500, end_ms: 45_000, externalUserId: 'user-7', attendeeId: REALTOR },
];

function event(timestamp: string, type: string, params: Record<string, string> = {}): string {
  return JSON.stringify({ Timestamp: timestamp, EventType: type, EventParameters: params });
}

describe('parseMeetingEvents', () => {
  it('when the fixture is parsed, then every event is read in time order with #content folded into its attendee', () => {
    const events = parseMeetingEvents(fixture);
    expect(events).toHaveLength(17);
    expect(events[0]).toEqual({ timestampMs: Date.parse('2026-03-14T15:00:02.120Z'), type: 'CaptureStarted', attendeeId: '', externalUserId: null });
    expect(events.filter((e) => e.type === 'ActiveSpeaker').map((e) => e.attendeeId)).toEqual([REALTOR, REALTOR, BUYER, '', REALTOR, REALTOR, BUYER, REALTOR]);
    for (let i = 1; i < events.length; i++) expect(events[i]!.timestampMs).toBeGreaterThanOrEqual(events[i - 1]!.timestampMs);
  });

  it('when lines are blank, truncated, not objects or lack a timestamp, then those lines are skipped', () => {
    const text = [
      event('2026-03-14T15:00:00.000+00:00', 'CaptureStarted'),
      '',
      '[1,2]',
      '{"Timestamp":"not a date","EventType":"ActiveSpeaker"}',
      '{"EventType":"ActiveSpeaker","EventParameters":{"AttendeeId":"x"}}',
      event('2026-03-14T15:00:01.000+00:00', 'chime:ActiveSpeaker', { AttendeeId: BUYER }),
      '{"Timestamp":"2026-03-14T15:00:02.000+00:00","EventType":"Active',
    ].join('\n');
    expect(parseMeetingEvents(text)).toEqual([
      { timestampMs: Date.parse('2026-03-14T15:00:00Z'), type: 'CaptureStarted', attendeeId: '', externalUserId: null },
      { timestampMs: Date.parse('2026-03-14T15:00:01Z'), type: 'ActiveSpeaker', attendeeId: BUYER, externalUserId: null },
    ]);
  });
});

describe('speakerTurns', () => {
  it('when the fixture is read with the call attendees, then turns run between speaker changes and stop at silence, mute and leave', () => {
    expect(speakerTurns(parseMeetingEvents(fixture), { attendees })).toEqual(fixtureTurns);
  });

  it('when attendees are given as a Map, then they resolve the same way', () => {
    expect(speakerTurns(parseMeetingEvents(fixture), { attendees: new Map(Object.entries(attendees)) })).toEqual(fixtureTurns);
  });

  it('when no attendee is known, then turns keep the attendee id and a null external user id', () => {
    const turns = speakerTurns(parseMeetingEvents(fixture));
    expect(turns.map((t) => t.externalUserId)).toEqual(Array(6).fill(null));
    expect(resolveSpeakers(turns, attendees)).toEqual(fixtureTurns);
  });

  it('when an event carries ExternalUserId, then it names the attendee', () => {
    const text = [
      event('2026-03-14T15:00:00.000+00:00', 'CaptureStarted'),
      event('2026-03-14T15:00:00.500+00:00', 'AttendeeJoined', { AttendeeId: BUYER, ExternalUserId: 'user-99' }),
      event('2026-03-14T15:00:01.000+00:00', 'ActiveSpeaker', { AttendeeId: BUYER }),
      event('2026-03-14T15:00:03.000+00:00', 'CaptureEnded'),
    ].join('\n');
    expect(speakerTurns(parseMeetingEvents(text), { attendees })).toEqual([{ start_ms: 1_000, end_ms: 3_000, externalUserId: 'user-99', attendeeId: BUYER }]);
  });

  it('when the recording was measured, then its length bounds the last turn instead of CaptureEnded', () => {
    const turns = speakerTurns(parseMeetingEvents(fixture), { attendees, durationMs: 42_000 });
    expect(turns[turns.length - 1]).toEqual({ start_ms: 39_500, end_ms: 42_000, externalUserId: 'user-7', attendeeId: REALTOR });
  });

  it('when there are no events, then there are no turns', () => {
    expect(speakerTurns([])).toEqual([]);
  });
});

describe('joinTimelines', () => {
  it('when two recordings are joined, then the second timeline is shifted by the first one’s length', () => {
    const first: SpeakerTurn[] = [{ start_ms: 1_000, end_ms: 3_000, externalUserId: 'user-7', attendeeId: REALTOR }];
    const second: SpeakerTurn[] = [
      { start_ms: 0, end_ms: 2_000, externalUserId: 'user-12', attendeeId: BUYER },
      { start_ms: 2_000, end_ms: 2_500, externalUserId: 'user-7', attendeeId: REALTOR },
    ];
    expect(
      joinTimelines([
        { turns: first, durationMs: 5_000 },
        { turns: second, durationMs: 4_000 },
      ]),
    ).toEqual([
      { start_ms: 1_000, end_ms: 3_000, externalUserId: 'user-7', attendeeId: REALTOR },
      { start_ms: 5_000, end_ms: 7_000, externalUserId: 'user-12', attendeeId: BUYER },
      { start_ms: 7_000, end_ms: 7_500, externalUserId: 'user-7', attendeeId: REALTOR },
    ]);
  });

  it('when one speaker talks across the join, then the two turns become one', () => {
    const joined = joinTimelines([
      { turns: [{ start_ms: 3_000, end_ms: 5_000, externalUserId: 'user-7', attendeeId: REALTOR }], durationMs: 5_000 },
      { turns: [{ start_ms: 0, end_ms: 1_000, externalUserId: 'user-7', attendeeId: REALTOR }], durationMs: 2_000 },
    ]);
    expect(joined).toEqual([{ start_ms: 3_000, end_ms: 6_000, externalUserId: 'user-7', attendeeId: REALTOR }]);
  });
});

describe('labelSegments', () => {
  const turns = fixtureTurns;

  it('when segments fall in the fixture timeline, then each gets the role of who talked most during it', () => {
    const segments = [
      { start_ms: 4_500, end_ms: 11_000, text: 'Welcome, this is the living room.' },
      // 1.5 s of realtor, 4.5 s of buyer.
      { start_ms: 11_000, end_ms: 17_000, text: 'How old is the roof?' },
      { start_ms: 17_000, end_ms: 19_000, text: '' },
      // Realtor's content share counts as the realtor.
      { start_ms: 30_000, end_ms: 33_000, text: 'Here is the floor plan.' },
      { start_ms: 34_500, end_ms: 38_000, text: 'Could we see the garden?' },
    ];
    expect(labelSegments(segments, turns, roleOf).map((s) => [s.text, s.speaker])).toEqual([
      ['Welcome, this is the living room.', 'realtor'],
      ['How old is the roof?', 'buyer'],
      ['', null],
      ['Here is the floor plan.', 'realtor'],
      ['Could we see the garden?', 'buyer'],
    ]);
  });

  it('when a segment is labelled, then its other fields are kept', () => {
    const [labelled] = labelSegments([{ start_ms: 5_000, end_ms: 6_000, text: 'hi', id: 3 }], turns, roleOf);
    expect(labelled).toEqual({ start_ms: 5_000, end_ms: 6_000, text: 'hi', id: 3, speaker: 'realtor' });
  });

  it('when two speakers talk equally long, then the earlier one wins', () => {
    const [s] = labelSegments([{ start_ms: 10_500, end_ms: 14_500, text: '' }], turns, roleOf);
    expect(s!.speaker).toBe('realtor');
  });

  it('when a segment has no length, then the speaker at its start is used', () => {
    expect(labelSegments([{ start_ms: 13_000, end_ms: 13_000, text: '' }], turns, roleOf)[0]!.speaker).toBe('buyer');
  });

  it('when the speaker is unresolved, has no role, or there is no timeline, then the label is null', () => {
    const unresolved = turns.map((t) => ({ ...t, externalUserId: null }));
    const segment = { start_ms: 5_000, end_ms: 6_000, text: '' };
    expect(labelSegments([segment], unresolved, roleOf)[0]!.speaker).toBeNull();
    expect(labelSegments([segment], turns, () => null)[0]!.speaker).toBeNull();
    expect(labelSegments([segment], null, roleOf)[0]!.speaker).toBeNull();
  });
});
