/**
 * Who spoke when: Chime media capture's meeting-events artifact turned into a speaker
 * timeline relative to the recording, and transcript segments labelled from it.
 *
 * A meeting-events file (`meeting-events/<pipeline id>.txt` in a concatenation's output,
 * or the capture's own chunks) holds one JSON object per line:
 *   {"Timestamp":"2022-12-18T06:11:45.284+00:00","EventType":"ActiveSpeaker",
 *    "EventParameters":{"AttendeeId":"95c160f8-…","MediaModality":""}}
 * with EventType one of AttendeeJoined, AttendeeLeft, AttendeeVideoJoined,
 * AttendeeVideoLeft, ActiveSpeaker, CaptureStarted, CaptureEnded, AudioTrackMute,
 * AudioTrackUnmute. An ActiveSpeaker with an empty AttendeeId means nobody is speaking;
 * a content share speaks as `<attendee id>#content`. Events name attendees, not users, so
 * the external user id comes from the event when Chime puts it there, otherwise from the
 * attendees the caller created.
 */

export type SpeakerRole = 'realtor' | 'buyer';

/** One stretch of the recording during which one attendee was the active speaker. */
export interface SpeakerTurn {
  /** Milliseconds from the start of the (joined) recording. */
  start_ms: number;
  end_ms: number;
  /** The attendee's ExternalUserId (`user-<id>`), or null when it could not be resolved. */
  externalUserId: string | null;
  attendeeId: string;
}

export interface MeetingEvent {
  timestampMs: number;
  /** Without the `chime:` prefix EventBridge-style names carry. */
  type: string;
  /** The attendee, `#content` suffix removed; empty when the event names nobody. */
  attendeeId: string;
  externalUserId: string | null;
}

/** An attendee id → ExternalUserId lookup, from the attendees the meeting was given. */
export type AttendeeDirectory = ReadonlyMap<string, string> | Readonly<Record<string, string>>;

/**
 * The events of a meeting-events file, in time order. Lines that are not JSON objects with
 * a parseable Timestamp and an EventType are skipped: a truncated last line or a future
 * event shape must not cost the whole timeline.
 */
export function parseMeetingEvents(text: string): MeetingEvent[] {
  const events: Array<MeetingEvent & { line: number }> = [];
  text.split(/\r?\n/).forEach((raw, line) => {
    const trimmed = raw.trim();
    if (!trimmed) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      return;
    }
    const event = toEvent(parsed);
    if (event) events.push({ ...event, line });
  });
  // Stable by line for equal timestamps: Chime writes them in the order they happened.
  events.sort((a, b) => a.timestampMs - b.timestampMs || a.line - b.line);
  return events.map(({ line: _line, ...event }) => event);
}

function toEvent(value: unknown): MeetingEvent | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const v = value as { Timestamp?: unknown; EventType?: unknown; EventParameters?: unknown };
  if (typeof v.Timestamp !== 'string' || typeof v.EventType !== 'string') return null;
  const timestampMs = Date.parse(v.Timestamp);
  if (!Number.isFinite(timestampMs)) return null;
  const params = (v.EventParameters && typeof v.EventParameters === 'object' ? v.EventParameters : {}) as Record<string, unknown>;
  const attendeeId = typeof params.AttendeeId === 'string' ? params.AttendeeId.replace(/#content$/, '') : '';
  const externalUserId = typeof params.ExternalUserId === 'string' && params.ExternalUserId ? params.ExternalUserId : null;
  return { timestampMs, type: v.EventType.replace(/^chime:/, ''), attendeeId, externalUserId };
}

/**
 * The speaker turns of one capture, relative to its recording. The recording starts at
 * CaptureStarted (else the first event) and lasts `durationMs` when the file was measured,
 * else until CaptureEnded (else the last event). A turn runs from an ActiveSpeaker event to
 * the next one, or until its speaker mutes or leaves, or the capture ends.
 */
export function speakerTurns(events: readonly MeetingEvent[], opts: { durationMs?: number | null; attendees?: AttendeeDirectory } = {}): SpeakerTurn[] {
  if (events.length === 0) return [];
  const origin = events.find((e) => e.type === 'CaptureStarted')?.timestampMs ?? events[0]!.timestampMs;
  const endedAt = events.find((e) => e.type === 'CaptureEnded')?.timestampMs ?? events[events.length - 1]!.timestampMs;
  const lengthMs = opts.durationMs != null && opts.durationMs >= 0 ? opts.durationMs : Math.max(0, endedAt - origin);
  const names = directory(events, opts.attendees);

  const turns: SpeakerTurn[] = [];
  // Typed by assertion: `close` resets it, which control-flow narrowing cannot see.
  let current = null as { attendeeId: string; startMs: number } | null;
  const close = (atMs: number): void => {
    if (!current) return;
    const start = clamp(current.startMs - origin, 0, lengthMs);
    const end = clamp(atMs - origin, 0, lengthMs);
    if (end > start) turns.push({ start_ms: start, end_ms: end, externalUserId: names.get(current.attendeeId) ?? null, attendeeId: current.attendeeId });
    current = null;
  };

  for (const e of events) {
    switch (e.type) {
      case 'ActiveSpeaker':
        if (current?.attendeeId === e.attendeeId) break;
        close(e.timestampMs);
        if (e.attendeeId) current = { attendeeId: e.attendeeId, startMs: e.timestampMs };
        break;
      case 'AttendeeLeft':
      case 'AudioTrackMute':
        if (current?.attendeeId === e.attendeeId) close(e.timestampMs);
        break;
      case 'CaptureEnded':
        close(e.timestampMs);
        break;
      default:
        break;
    }
  }
  close(origin + lengthMs);
  return mergeAdjacent(turns);
}

/**
 * One timeline over recordings joined end to end: each part's turns shifted by the
 * lengths of the parts before it (what the joined file's timestamps do too).
 */
export function joinTimelines(parts: ReadonlyArray<{ turns: readonly SpeakerTurn[]; durationMs: number }>): SpeakerTurn[] {
  const out: SpeakerTurn[] = [];
  let offset = 0;
  for (const part of parts) {
    for (const t of part.turns) out.push({ ...t, start_ms: t.start_ms + offset, end_ms: t.end_ms + offset });
    offset += part.durationMs;
  }
  return mergeAdjacent(out);
}

/** Fills in external user ids a timeline could not resolve, e.g. from the call's attendee rows. */
export function resolveSpeakers(turns: readonly SpeakerTurn[], attendees: AttendeeDirectory): SpeakerTurn[] {
  const names = directory([], attendees);
  return turns.map((t) => (t.externalUserId ? t : { ...t, externalUserId: names.get(t.attendeeId) ?? null }));
}

/**
 * Each segment with the role of whoever was the active speaker for longest during it
 * ('realtor' | 'buyer'), or null when nobody was, or that person has no known role.
 * A zero-length segment takes the speaker at its start. Ties go to the earlier turn.
 */
export function labelSegments<S extends { start_ms: number; end_ms: number }>(
  segments: readonly S[],
  turns: readonly SpeakerTurn[] | null | undefined,
  roleOfExternalUserId: (externalUserId: string) => SpeakerRole | null | undefined,
): Array<S & { speaker: SpeakerRole | null }> {
  const sorted = [...(turns ?? [])].sort((a, b) => a.start_ms - b.start_ms);
  return segments.map((segment) => {
    const talked = new Map<string, { ms: number; first: number; externalUserId: string | null }>();
    const instant = segment.end_ms <= segment.start_ms;
    sorted.forEach((t, index) => {
      const overlap = instant
        ? t.start_ms <= segment.start_ms && segment.start_ms < t.end_ms
          ? 1
          : 0
        : Math.min(segment.end_ms, t.end_ms) - Math.max(segment.start_ms, t.start_ms);
      if (overlap <= 0) return;
      const who = t.externalUserId ?? `attendee:${t.attendeeId}`;
      const entry = talked.get(who);
      if (entry) entry.ms += overlap;
      else talked.set(who, { ms: overlap, first: index, externalUserId: t.externalUserId });
    });
    let best: { ms: number; first: number; externalUserId: string | null } | undefined;
    for (const entry of talked.values()) {
      if (!best || entry.ms > best.ms || (entry.ms === best.ms && entry.first < best.first)) best = entry;
    }
    const role = best?.externalUserId ? roleOfExternalUserId(best.externalUserId) ?? null : null;
    return { ...segment, speaker: role };
  });
}

function directory(events: readonly MeetingEvent[], attendees: AttendeeDirectory | undefined): Map<string, string> {
  const names = new Map<string, string>(attendees instanceof Map ? attendees : Object.entries(attendees ?? {}));
  // What Chime itself says about an attendee wins over what the caller remembered.
  for (const e of events) if (e.attendeeId && e.externalUserId) names.set(e.attendeeId, e.externalUserId);
  return names;
}

/** Turns of one attendee that touch become one; e.g. across a join of two recordings. */
function mergeAdjacent(turns: readonly SpeakerTurn[]): SpeakerTurn[] {
  const out: SpeakerTurn[] = [];
  for (const t of turns) {
    const last = out[out.length - 1];
    if (last && last.attendeeId === t.attendeeId && last.end_ms >= t.start_ms) last.end_ms = Math.max(last.end_ms, t.end_ms);
    else out.push({ ...t });
  }
  return out;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
