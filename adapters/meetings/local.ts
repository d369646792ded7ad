import { createHash, createHmac } from 'node:crypto';
import type { Attendee, FinalizedRecording, MediaPlacement, Meeting, MeetingProvider } from './port';

/**
 * Meetings for local development, with join information shaped as Chime returns it.
 *
 * Nothing is stored: every id and token is a pure function of the call's inputs, so the
 * API and the worker, in separate processes or after a restart, compute the same meeting
 * for the same ClientRequestToken and the same attendee for the same (meeting, user) —
 * the idempotency Chime gives through its own state. Deletes have nothing to remove.
 *
 * Local meetings carry no media, so there is nothing to capture: `startRecording` names
 * a pipeline and records nothing, and recordings arrive by upload instead.
 */

export interface LocalMeetingProviderOptions {
  /** Public origin of the API, e.g. `http://localhost:3000`; media placement URLs point under it. */
  baseUrl: string;
  /** Reported as the meeting's MediaRegion. Default `local`. */
  mediaRegion?: string;
  /**
   * Keys the HMAC behind join tokens. Every process must be given the same one (or none)
   * to agree on tokens; without one a fixed key is used, so tokens are stable but
   * forgeable — acceptable for meetings that carry no media.
   */
  secret?: string;
}

const DEFAULT_SECRET = 'realtyforyou-local-meetings';

export class LocalMeetingProvider implements MeetingProvider {
  readonly name = 'local' as const;
  private readonly baseUrl: string;
  private readonly socketBaseUrl: string;
  private readonly mediaRegion: string;
  private readonly secret: string;

  constructor(opts: LocalMeetingProviderOptions) {
    let url: URL;
    try {
      url = new URL(opts.baseUrl);
    } catch {
      throw new Error(`LocalMeetingProvider: baseUrl must be an absolute URL, not ${JSON.stringify(opts.baseUrl)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`LocalMeetingProvider: baseUrl must be http or https, not ${url.protocol}`);
    }
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    // Chime's signalling and fallback audio are WebSockets; its TURN control and event
    // ingestion are HTTPS. Same split here, over the API's own origin.
    this.socketBaseUrl = this.baseUrl.replace(/^http/, 'ws');
    this.mediaRegion = opts.mediaRegion || 'local';
    this.secret = opts.secret || DEFAULT_SECRET;
  }

  async createMeeting(input: { clientRequestToken: string; externalMeetingId: string }): Promise<Meeting> {
    requireText('clientRequestToken', input.clientRequestToken, 2, 64);
    requireText('externalMeetingId', input.externalMeetingId, 2, 64);
    const meetingId = nameBasedUuid('meeting', input.clientRequestToken);
    return {
      MeetingId: meetingId,
      ExternalMeetingId: input.externalMeetingId,
      MediaRegion: this.mediaRegion,
      MediaPlacement: this.mediaPlacement(meetingId),
    };
  }

  async createAttendee(meetingId: string, externalUserId: string): Promise<Attendee> {
    requireMeetingId(meetingId);
    requireText('externalUserId', externalUserId, 2, 64);
    const attendeeId = nameBasedUuid('attendee', meetingId, externalUserId);
    return { AttendeeId: attendeeId, ExternalUserId: externalUserId, JoinToken: this.joinToken(meetingId, attendeeId) };
  }

  async deleteAttendee(meetingId: string, attendeeId: string): Promise<void> {
    requireMeetingId(meetingId);
    requireText('attendeeId', attendeeId, 1, 64);
  }

  async deleteMeeting(meetingId: string): Promise<void> {
    requireMeetingId(meetingId);
  }

  async startRecording(meetingId: string, keyPrefix: string): Promise<{ pipelineId: string }> {
    requireMeetingId(meetingId);
    requireText('keyPrefix', keyPrefix, 1, 1024);
    return { pipelineId: nameBasedUuid('pipeline', meetingId, keyPrefix) };
  }

  async stopRecording(pipelineId: string): Promise<void> {
    requireText('pipelineId', pipelineId, 1, 64);
  }

  /** Nothing is ever captured locally; the recording is whatever gets uploaded. */
  async finalizeRecording(_input: {
    meetingId: string;
    pipelineIds: string[];
    keyPrefix: string;
    attendees?: Record<string, string>;
    heartbeat?: () => void;
  }): Promise<FinalizedRecording | null> {
    return null;
  }

  private mediaPlacement(meetingId: string): MediaPlacement {
    const http = `${this.baseUrl}/local-meetings/${meetingId}`;
    const ws = `${this.socketBaseUrl}/local-meetings/${meetingId}`;
    return {
      AudioHostUrl: `${ws}/audio`,
      AudioFallbackUrl: `${ws}/audio-fallback`,
      SignalingUrl: `${ws}/signaling`,
      TurnControlUrl: `${http}/turn-sessions`,
      ScreenDataUrl: `${ws}/screen`,
      ScreenViewingUrl: `${ws}/screen/view`,
      ScreenSharingUrl: `${ws}/screen`,
      EventIngestionUrl: `${http}/client-events`,
    };
  }

  /** Base64 without padding, like the opaque tokens Chime hands out. */
  private joinToken(meetingId: string, attendeeId: string): string {
    return createHmac('sha256', this.secret).update(`join\0${meetingId}\0${attendeeId}`).digest('base64').replace(/=+$/, '');
  }
}

/**
 * A name-based UUID: SHA-256 of the names, truncated to 128 bits with the version set
 * to 8 and the RFC 9562 variant — the layout RFC 9562 (appendix B.2) shows for
 * SHA-256 name-based ids. Same names, same id, in any process.
 */
export function nameBasedUuid(...names: string[]): string {
  const bytes = createHash('sha256').update(names.join('\0')).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Chime answers bad input with BadRequestException; so does this, so callers handle both alike. */
function badRequest(message: string): Error {
  const err = new Error(message);
  err.name = 'BadRequestException';
  return err;
}

function requireText(field: string, value: string, min: number, max: number): void {
  if (typeof value !== 'string' || value.length < min || value.length > max) {
    throw badRequest(`${field} must be ${min} to ${max} characters`);
  }
}

function requireMeetingId(meetingId: string): void {
  if (typeof meetingId !== 'string' || !UUID.test(meetingId)) throw badRequest(`Invalid meeting id ${JSON.stringify(meetingId)}`);
}
