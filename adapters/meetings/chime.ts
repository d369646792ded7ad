import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChimeSDKMediaPipelinesClient,
  CreateMediaCapturePipelineCommand,
  CreateMediaConcatenationPipelineCommand,
  DeleteMediaCapturePipelineCommand,
  GetMediaPipelineCommand,
  type ArtifactsConcatenationConfiguration,
  type ChimeSdkMeetingConfiguration,
  type MediaPipelineStatus,
} from '@aws-sdk/client-chime-sdk-media-pipelines';
import {
  ChimeSDKMeetingsClient,
  CreateAttendeeCommand,
  CreateMeetingCommand,
  DeleteAttendeeCommand,
  DeleteMeetingCommand,
  GetMeetingCommand,
  type Attendee as ChimeAttendee,
  type Meeting as ChimeMeeting,
  type MeetingFeaturesConfiguration,
} from '@aws-sdk/client-chime-sdk-meetings';
import { assertSafeKey } from '../storage/port';
import type { Attendee, FinalizedRecording, MediaPlacement, Meeting, MeetingProvider } from './port';
import { joinTimelines, parseMeetingEvents, speakerTurns, type MeetingEvent, type SpeakerTurn } from './speakers';

/**
 * Amazon Chime SDK meetings, recorded with media capture pipelines into the recordings
 * bucket and joined into one file per capture with media concatenation pipelines.
 *
 * Every create call carries a deterministic `ClientRequestToken`, so a retried activity
 * gets the meeting or pipeline the first attempt made instead of a second one.
 *
 * Errors from Chime are rethrown untouched: their `name` (`BadRequestException`,
 * `ForbiddenException`, `NotFoundException`, ...) reaches Temporal as the failure type,
 * and `PERMANENT_MEETING_ERRORS` lists the ones a retry cannot fix. Only "not found"
 * on a delete or stop is swallowed, because the port says a missing resource is fine there.
 *
 * S3 layout under the bucket (and `storageKeyPrefix`, when the storage adapter has one):
 *   <keyPrefix>/audio|video|meeting-events/...        5-second chunks from the capture
 *   <keyPrefix>/concatenated/audio/<concatId>.mp4     one file per capture pipeline
 *   <keyPrefix>/concatenated/video/<concatId>.mp4
 *   <keyPrefix>/concatenated/meeting-events/<concatId>.txt   who joined, left, spoke when
 *   <keyPrefix>/concatenated/recording.mp4            only when several captures were joined
 */

export interface ChimeMeetingProviderOptions {
  /** Control-plane region of both the meetings and the media pipelines APIs, e.g. `us-east-1`. */
  region: string;
  /** Where the meeting's media is hosted, e.g. `eu-central-1`. */
  mediaRegion: string;
  /** The recordings bucket, `arn:aws:s3:::bucket`. */
  bucketArn: string;
  /** Lets the source and pipeline ARNs be built instead of looked up (one call fewer each). */
  awsAccountId?: string;
  meetings?: ChimeSDKMeetingsClient;
  pipelines?: ChimeSDKMediaPipelinesClient;
  /** Between `GetMediaPipeline` polls while a concatenation runs. Default 5 s. */
  pollIntervalMs?: number;
  /** How long one `finalizeRecording` call waits for the concatenations. Default 10 min. */
  maxWaitMs?: number;
  /**
   * Storage keys under a storage-key prefix (e.g. a prefix of `ObjectStorage`). When given,
   * the concatenated file is found by listing instead of by Chime's documented file name,
   * and a concatenation that wrote no audio counts as "nothing captured".
   */
  listKeys?: (prefix: string) => Promise<string[]>;
  /** The S3 storage adapter's `keyPrefix`: prepended in bucket paths, absent from returned keys. */
  storageKeyPrefix?: string;
  /**
   * Joins several concatenated files, in order, into `targetKey` (e.g. with ffmpeg through
   * the storage port). Needed only when one tour was captured by more than one pipeline:
   * a concatenation pipeline takes exactly one capture pipeline as its source.
   */
  joinRecordings?: (keys: string[], targetKey: string, opts: { heartbeat?: () => void }) => Promise<JoinOutcome | void>;
  /**
   * Reads a text object by storage key, null when there is none. With it, the
   * concatenation's meeting events become the speaker timeline `finalizeRecording` returns.
   */
  readText?: (key: string) => Promise<string | null>;
}

/** What a joiner may report back: each input's length, to line speaker timelines up. */
export interface JoinOutcome {
  partDurationsMs: Array<number | null>;
}

/** Failure types a retry cannot fix; suitable for `nonRetryableErrorTypes`. */
export const PERMANENT_MEETING_ERRORS: readonly string[] = [
  'BadRequestException',
  'ForbiddenException',
  'UnauthorizedException',
  'UnauthorizedClientException',
  'NotFoundException',
  'ResourceNotFoundException',
  'UnprocessableEntityException',
  'MediaPipelineFailed',
  'RecordingNotJoinable',
];

/** A concatenation pipeline ended in `Failed`; creating it again returns the same failed pipeline. */
export class MediaPipelineFailedError extends Error {
  constructor(readonly mediaPipelineId: string) {
    super(`Media pipeline ${mediaPipelineId} failed`);
    this.name = 'MediaPipelineFailed';
  }
}

/** Still running after `maxWaitMs`; retrying resumes waiting on the same pipeline. */
export class MediaPipelineTimeoutError extends Error {
  constructor(
    readonly mediaPipelineId: string,
    readonly lastStatus: string | undefined,
    waitedMs: number,
  ) {
    super(`Media pipeline ${mediaPipelineId} not finished after ${waitedMs} ms (status ${lastStatus ?? 'unknown'})`);
    this.name = 'MediaPipelineTimeout';
  }
}

/** Several captures to join and no `joinRecordings` configured. */
export class RecordingNotJoinableError extends Error {
  constructor(readonly keys: string[]) {
    super(`The recording is split over ${keys.length} files (${keys.join(', ')}) and no joiner is configured`);
    this.name = 'RecordingNotJoinable';
  }
}

const DEFAULT_POLL_INTERVAL_MS = 5_000;
const DEFAULT_MAX_WAIT_MS = 10 * 60_000;

/** Chime's ClientRequestToken: 2 to 64 of these characters. */
const CLIENT_REQUEST_TOKEN = /^[-_a-zA-Z0-9]{2,64}$/;
/** S3 sink ARNs and destinations must match `^arn[\/\:\-\_\.a-zA-Z0-9]+$`. */
const SINK_PATH = /^[-_./a-zA-Z0-9]+$/;
const BUCKET_ARN = /^arn:(aws[a-z-]*):s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Echo reduction (Chime's machine-learning echo canceller) made available to every client,
 * as the seed's meeting settings ask: tours are often joined from a phone on speaker.
 * Clients still opt in when they pick their microphone.
 */
const MEETING_FEATURES: MeetingFeaturesConfiguration = { Audio: { EchoReduction: 'AVAILABLE' } };

/**
 * Mixed audio with the active speaker's video in one stream (what becomes the recording),
 * plus each attendee's video separately. Content share is not kept.
 */
const CAPTURE_CONFIGURATION: ChimeSdkMeetingConfiguration = {
  ArtifactsConfiguration: {
    Audio: { MuxType: 'AudioWithActiveSpeakerVideo' },
    Video: { State: 'Enabled', MuxType: 'VideoOnly' },
    Content: { State: 'Disabled' },
  },
};

/**
 * Each type enabled here must have been captured; the API requires every field. Meeting
 * events are captured whatever the artifacts configuration, and give the speaker labels.
 */
const CONCATENATION_ARTIFACTS: ArtifactsConcatenationConfiguration = {
  Audio: { State: 'Enabled' },
  Video: { State: 'Enabled' },
  Content: { State: 'Disabled' },
  DataChannel: { State: 'Disabled' },
  TranscriptionMessages: { State: 'Disabled' },
  MeetingEvents: { State: 'Enabled' },
  CompositedVideo: { State: 'Disabled' },
};

export class ChimeMeetingProvider implements MeetingProvider {
  readonly name = 'chime' as const;
  readonly meetings: ChimeSDKMeetingsClient;
  readonly pipelines: ChimeSDKMediaPipelinesClient;
  private readonly region: string;
  private readonly mediaRegion: string;
  private readonly bucketArn: string;
  private readonly partition: string;
  private readonly awsAccountId: string | undefined;
  private readonly pollIntervalMs: number;
  private readonly maxWaitMs: number;
  private readonly listKeys: ChimeMeetingProviderOptions['listKeys'];
  private readonly storageKeyPrefix: string;
  private readonly joinRecordings: ChimeMeetingProviderOptions['joinRecordings'];
  private readonly readText: ChimeMeetingProviderOptions['readText'];

  constructor(opts: ChimeMeetingProviderOptions) {
    if (!opts.region) throw new Error('ChimeMeetingProvider needs a region');
    if (!opts.mediaRegion) throw new Error('ChimeMeetingProvider needs a media region');
    const bucketArn = opts.bucketArn.replace(/\/+$/, '');
    const arn = BUCKET_ARN.exec(bucketArn);
    if (!arn) throw new Error(`ChimeMeetingProvider: bucketArn must look like arn:aws:s3:::bucket, not ${JSON.stringify(opts.bucketArn)}`);
    if (opts.awsAccountId !== undefined && !/^\d{12}$/.test(opts.awsAccountId)) {
      throw new Error('ChimeMeetingProvider: awsAccountId must be 12 digits');
    }
    this.region = opts.region;
    this.mediaRegion = opts.mediaRegion;
    this.bucketArn = bucketArn;
    this.partition = arn[1]!;
    this.awsAccountId = opts.awsAccountId || undefined;
    this.pollIntervalMs = opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.maxWaitMs = opts.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    this.listKeys = opts.listKeys;
    this.joinRecordings = opts.joinRecordings;
    this.readText = opts.readText;
    this.storageKeyPrefix = (opts.storageKeyPrefix ?? '').replace(/\/+$/, '');
    if (this.storageKeyPrefix) assertSinkPath(this.storageKeyPrefix);
    this.meetings = opts.meetings ?? new ChimeSDKMeetingsClient({ region: opts.region });
    this.pipelines = opts.pipelines ?? new ChimeSDKMediaPipelinesClient({ region: opts.region });
  }

  async createMeeting(input: { clientRequestToken: string; externalMeetingId: string }): Promise<Meeting> {
    if (!input.clientRequestToken) throw badRequest('createMeeting needs a clientRequestToken');
    const out = await this.meetings.send(
      new CreateMeetingCommand({
        ClientRequestToken: meetingRequestToken(input.clientRequestToken),
        ExternalMeetingId: input.externalMeetingId,
        MediaRegion: this.mediaRegion,
        MeetingFeatures: MEETING_FEATURES,
      }),
    );
    return toMeeting(out.Meeting);
  }

  async createAttendee(meetingId: string, externalUserId: string): Promise<Attendee> {
    const out = await this.meetings.send(new CreateAttendeeCommand({ MeetingId: meetingId, ExternalUserId: externalUserId }));
    return toAttendee(out.Attendee);
  }

  async deleteAttendee(meetingId: string, attendeeId: string): Promise<void> {
    await ignoreNotFound(this.meetings.send(new DeleteAttendeeCommand({ MeetingId: meetingId, AttendeeId: attendeeId })));
  }

  async deleteMeeting(meetingId: string): Promise<void> {
    await ignoreNotFound(this.meetings.send(new DeleteMeetingCommand({ MeetingId: meetingId })));
  }

  /**
   * The token is derived from meeting and prefix, so a retry returns the same pipeline.
   * It also means starting again with the same prefix after a stop returns the stopped
   * pipeline: give each capture of a meeting its own prefix.
   */
  async startRecording(meetingId: string, keyPrefix: string): Promise<{ pipelineId: string }> {
    assertSinkPath(keyPrefix);
    const sourceArn = await this.meetingArn(meetingId);
    const out = await this.pipelines.send(
      new CreateMediaCapturePipelineCommand({
        SourceType: 'ChimeSdkMeeting',
        SourceArn: sourceArn,
        SinkType: 'S3Bucket',
        SinkArn: `${this.bucketArn}/${this.bucketPath(keyPrefix)}`,
        ClientRequestToken: derivedToken('capture', meetingId, keyPrefix),
        ChimeSdkMeetingConfiguration: CAPTURE_CONFIGURATION,
      }),
    );
    const pipelineId = out.MediaCapturePipeline?.MediaPipelineId;
    if (!pipelineId) throw new Error('Chime CreateMediaCapturePipeline returned no MediaPipelineId');
    return { pipelineId };
  }

  async stopRecording(pipelineId: string): Promise<void> {
    await ignoreNotFound(this.pipelines.send(new DeleteMediaCapturePipelineCommand({ MediaPipelineId: pipelineId })));
  }

  /**
   * One concatenation pipeline per capture pipeline (the API takes exactly one source),
   * all writing under `<keyPrefix>/concatenated`. Chime names each output
   * `<concatenation pipeline id>.mp4` in an `audio/` folder (and `video/`, ...), per
   * "Understanding the Amazon S3 bucket folder structure for concatenation pipelines";
   * the audio file carries the mixed audio and the active speaker's video, so it is the
   * recording. With `listKeys` that name is confirmed by listing rather than assumed.
   *
   * Concatenation starts only once its capture pipeline has stopped, so call
   * `stopRecording` first; otherwise this waits until the meeting ends or `maxWaitMs`.
   *
   * With `readText`, each concatenation's meeting events give the speaker timeline; over
   * several captures each one is shifted by the lengths of the files before it (from the
   * joiner, else from the capture's own start and end events). `speakers` is null when
   * the events are missing or the captures cannot be lined up.
   */
  async finalizeRecording(input: {
    meetingId: string;
    pipelineIds: string[];
    keyPrefix: string;
    attendees?: Record<string, string>;
    heartbeat?: () => void;
  }): Promise<FinalizedRecording | null> {
    const captureIds = [...new Set(input.pipelineIds)];
    if (captureIds.length === 0) return null;
    const { keyPrefix } = input;
    assertSinkPath(keyPrefix);
    const deadline = Date.now() + this.maxWaitMs;

    // All created before any is awaited, so they run side by side.
    const concatenations: Array<{ captureId: string; concatId: string; status: MediaPipelineStatus | undefined }> = [];
    for (const captureId of captureIds) {
      input.heartbeat?.();
      concatenations.push({ captureId, ...(await this.createConcatenation(captureId, keyPrefix)) });
    }

    const keys: string[] = [];
    const events: Array<MeetingEvent[] | null> = [];
    for (const c of concatenations) {
      await this.waitUntilStopped(c.concatId, c.status, deadline, input.heartbeat);
      const key = await this.concatenatedKey(keyPrefix, 'audio', '.mp4', c.concatId, c.captureId);
      if (!key) continue;
      keys.push(key);
      events.push(await this.meetingEvents(keyPrefix, c.concatId, c.captureId));
    }

    if (keys.length === 0) return null;
    if (keys.length === 1) {
      return { key: keys[0]!, speakers: events[0] ? speakerTurns(events[0], { attendees: input.attendees }) : null };
    }
    if (!this.joinRecordings) throw new RecordingNotJoinableError(keys);
    const target = `${keyPrefix}/concatenated/recording.mp4`;
    input.heartbeat?.();
    const joined = await this.joinRecordings(keys, target, { heartbeat: input.heartbeat });
    return { key: target, speakers: joinedSpeakers(events, joined ? joined.partDurationsMs : [], input.attendees) };
  }

  /** The concatenation's meeting events, or null without `readText` or without the file. */
  private async meetingEvents(keyPrefix: string, concatId: string, captureId: string): Promise<MeetingEvent[] | null> {
    if (!this.readText) return null;
    const key = await this.concatenatedKey(keyPrefix, 'meeting-events', '.txt', concatId, captureId);
    const text = key ? await this.readText(key) : null;
    return text === null ? null : parseMeetingEvents(text);
  }

  private async createConcatenation(
    captureId: string,
    keyPrefix: string,
  ): Promise<{ concatId: string; status: MediaPipelineStatus | undefined }> {
    const captureArn = await this.capturePipelineArn(captureId);
    const out = await this.pipelines.send(
      new CreateMediaConcatenationPipelineCommand({
        Sources: [
          {
            Type: 'MediaCapturePipeline',
            MediaCapturePipelineSourceConfiguration: {
              MediaPipelineArn: captureArn,
              ChimeSdkMeetingConfiguration: { ArtifactsConfiguration: CONCATENATION_ARTIFACTS },
            },
          },
        ],
        Sinks: [
          {
            Type: 'S3Bucket',
            S3BucketSinkConfiguration: { Destination: `${this.bucketArn}/${this.bucketPath(keyPrefix)}/concatenated` },
          },
        ],
        ClientRequestToken: derivedToken('concatenation', captureId, keyPrefix),
      }),
    );
    const pipeline = out.MediaConcatenationPipeline;
    if (!pipeline?.MediaPipelineId) throw new Error('Chime CreateMediaConcatenationPipeline returned no MediaPipelineId');
    return { concatId: pipeline.MediaPipelineId, status: pipeline.Status };
  }

  /** `Stopped` is success for a concatenation pipeline; `Failed` is final. */
  private async waitUntilStopped(
    pipelineId: string,
    initialStatus: MediaPipelineStatus | undefined,
    deadline: number,
    heartbeat: (() => void) | undefined,
  ): Promise<void> {
    let status: MediaPipelineStatus | undefined = initialStatus;
    for (;;) {
      if (status === 'Stopped') return;
      if (status === 'Failed') throw new MediaPipelineFailedError(pipelineId);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new MediaPipelineTimeoutError(pipelineId, status, this.maxWaitMs);
      if (status !== undefined) await sleep(Math.min(this.pollIntervalMs, remaining));
      heartbeat?.();
      const out = await this.pipelines.send(new GetMediaPipelineCommand({ MediaPipelineId: pipelineId }));
      status = out.MediaPipeline?.MediaConcatenationPipeline?.Status;
      if (status === undefined) throw new Error(`Chime GetMediaPipeline returned no concatenation status for ${pipelineId}`);
    }
  }

  private async concatenatedKey(keyPrefix: string, kind: 'audio' | 'meeting-events', ext: string, concatId: string, captureId: string): Promise<string | null> {
    const folder = `${keyPrefix}/concatenated/${kind}/`;
    const expected = `${folder}${concatId}${ext}`;
    if (!this.listKeys) return expected;
    const listed = await this.listKeys(folder);
    if (listed.includes(expected)) return expected;
    // Tolerates the file being named after the capture pipeline instead.
    const match = listed.filter((k) => k.endsWith(ext) && (k.includes(concatId) || k.includes(captureId))).sort()[0];
    return match ?? null;
  }

  /**
   * Chime expects `arn:aws:chime::<account>:meeting:<meeting id>` (no region). Without
   * an account id the meeting's own `MeetingArn` is read with GetMeeting.
   */
  private async meetingArn(meetingId: string): Promise<string> {
    if (this.awsAccountId) return `arn:${this.partition}:chime::${this.awsAccountId}:meeting:${meetingId}`;
    const out = await this.meetings.send(new GetMeetingCommand({ MeetingId: meetingId }));
    const arn = out.Meeting?.MeetingArn;
    if (!arn) throw new Error(`Chime GetMeeting returned no MeetingArn for ${meetingId}`);
    return arn;
  }

  private async capturePipelineArn(pipelineId: string): Promise<string> {
    if (this.awsAccountId) return `arn:${this.partition}:chime:${this.region}:${this.awsAccountId}:media-pipeline/${pipelineId}`;
    const out = await this.pipelines.send(new GetMediaPipelineCommand({ MediaPipelineId: pipelineId }));
    const arn = out.MediaPipeline?.MediaCapturePipeline?.MediaPipelineArn;
    if (!arn) throw new Error(`Chime GetMediaPipeline returned no capture pipeline ARN for ${pipelineId}`);
    return arn;
  }

  private bucketPath(key: string): string {
    return this.storageKeyPrefix ? `${this.storageKeyPrefix}/${key}` : key;
  }
}

/**
 * One timeline over the joined captures. A capture's length is what the joiner measured,
 * else its CaptureStarted..CaptureEnded span; every capture but the last needs one, or
 * the later turns could not be placed and there is no timeline at all.
 */
function joinedSpeakers(
  events: ReadonlyArray<MeetingEvent[] | null>,
  partDurationsMs: ReadonlyArray<number | null>,
  attendees: Record<string, string> | undefined,
): SpeakerTurn[] | null {
  if (events.every((e) => e === null)) return null;
  const parts: Array<{ turns: SpeakerTurn[]; durationMs: number }> = [];
  for (const [i, e] of events.entries()) {
    const durationMs = partDurationsMs[i] ?? captureSpanMs(e);
    if (durationMs === null && i < events.length - 1) return null;
    const turns = e ? speakerTurns(e, { attendees, durationMs }) : [];
    parts.push({ turns, durationMs: durationMs ?? 0 });
  }
  return joinTimelines(parts);
}

function captureSpanMs(events: readonly MeetingEvent[] | null): number | null {
  const started = events?.find((e) => e.type === 'CaptureStarted');
  const ended = events?.find((e) => e.type === 'CaptureEnded');
  return started && ended && ended.timestampMs >= started.timestampMs ? ended.timestampMs - started.timestampMs : null;
}

/** Chime's name for the error, so callers classify it like one Chime sent. */
function badRequest(message: string): Error {
  const err = new Error(message);
  err.name = 'BadRequestException';
  return err;
}

function assertSinkPath(keyPrefix: string): void {
  try {
    assertSafeKey(keyPrefix);
  } catch (err) {
    throw badRequest((err as Error).message);
  }
  if (!SINK_PATH.test(keyPrefix)) {
    throw badRequest(`Recording key prefix ${JSON.stringify(keyPrefix)} may only use letters, digits, '-', '_', '.' and '/'`);
  }
}

/** The caller's token when Chime accepts it as is; otherwise a digest of it, equally stable. */
function meetingRequestToken(token: string): string {
  return CLIENT_REQUEST_TOKEN.test(token) ? token : derivedToken('meeting', token);
}

/** 64 hex characters: the longest token Chime accepts, and within its alphabet. */
function derivedToken(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex');
}

function isNotFound(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NotFoundException' || e.name === 'ResourceNotFoundException' || e.$metadata?.httpStatusCode === 404;
}

async function ignoreNotFound(request: Promise<unknown>): Promise<void> {
  try {
    await request;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

function toMeeting(m: ChimeMeeting | undefined): Meeting {
  const p = m?.MediaPlacement;
  if (!m?.MeetingId || !m.ExternalMeetingId || !m.MediaRegion || !p) {
    throw new Error('Chime CreateMeeting returned an incomplete meeting');
  }
  if (!p.AudioHostUrl || !p.AudioFallbackUrl || !p.SignalingUrl || !p.TurnControlUrl) {
    throw new Error(`Chime CreateMeeting returned incomplete media placement for ${m.MeetingId}`);
  }
  const placement: MediaPlacement = {
    AudioHostUrl: p.AudioHostUrl,
    AudioFallbackUrl: p.AudioFallbackUrl,
    SignalingUrl: p.SignalingUrl,
    TurnControlUrl: p.TurnControlUrl,
  };
  if (p.ScreenDataUrl) placement.ScreenDataUrl = p.ScreenDataUrl;
  if (p.ScreenViewingUrl) placement.ScreenViewingUrl = p.ScreenViewingUrl;
  if (p.ScreenSharingUrl) placement.ScreenSharingUrl = p.ScreenSharingUrl;
  if (p.EventIngestionUrl) placement.EventIngestionUrl = p.EventIngestionUrl;
  return { MeetingId: m.MeetingId, ExternalMeetingId: m.ExternalMeetingId, MediaRegion: m.MediaRegion, MediaPlacement: placement };
}

function toAttendee(a: ChimeAttendee | undefined): Attendee {
  if (!a?.AttendeeId || !a.ExternalUserId || !a.JoinToken) throw new Error('Chime CreateAttendee returned an incomplete attendee');
  return { AttendeeId: a.AttendeeId, ExternalUserId: a.ExternalUserId, JoinToken: a.JoinToken };
}
