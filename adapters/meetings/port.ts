/**
 * The meetings port: Amazon Chime SDK meetings (and media pipelines for recording), or a
 * local implementation with the same shapes. Join information is shaped as Chime returns
 * it, so a client written for Chime works against either.
 */

import type { Attendee, MediaPlacement, Meeting } from '../../contracts/tours';

export type { Attendee, MediaPlacement, Meeting };

import type { SpeakerTurn } from './speakers';

export type { SpeakerTurn };

export interface FinalizedRecording {
  /** Storage key of the one recording file. */
  key: string;
  /**
   * Who was the active speaker when, in ms from the start of that file, where the
   * provider knows it (Chime capture's meeting events); null or absent otherwise.
   */
  speakers?: SpeakerTurn[] | null;
}

export interface MeetingProvider {
  readonly name: 'local' | 'chime';
  /** Idempotent per clientRequestToken: a retry returns the same meeting. */
  createMeeting(input: { clientRequestToken: string; externalMeetingId: string }): Promise<Meeting>;
  /** Idempotent per (meeting, externalUserId): Chime returns the existing attendee. */
  createAttendee(meetingId: string, externalUserId: string): Promise<Attendee>;
  /** A missing attendee or meeting is not an error. */
  deleteAttendee(meetingId: string, attendeeId: string): Promise<void>;
  /** A missing meeting is not an error. */
  deleteMeeting(meetingId: string): Promise<void>;
  /** Starts capturing the meeting's media under `keyPrefix`; returns the pipeline id. */
  startRecording(meetingId: string, keyPrefix: string): Promise<{ pipelineId: string }>;
  /** A pipeline that already stopped is not an error. */
  stopRecording(pipelineId: string): Promise<void>;
  /**
   * After the call: joins what the capture pipelines wrote into one file under `keyPrefix`
   * and returns its storage key (and speaker timeline), or null when nothing was captured.
   * `attendees` maps the call's attendee ids to their external user ids, for speakers the
   * provider's own records name only by attendee. Safe to call again.
   */
  finalizeRecording(input: {
    meetingId: string;
    pipelineIds: string[];
    keyPrefix: string;
    attendees?: Record<string, string>;
    heartbeat?: () => void;
  }): Promise<FinalizedRecording | null>;
}
