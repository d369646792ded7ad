import {
  BadRequestException as PipelinesBadRequestException,
  ChimeSDKMediaPipelinesClient,
  ChimeSDKMediaPipelinesServiceException,
  CreateMediaCapturePipelineCommand,
  CreateMediaConcatenationPipelineCommand,
  DeleteMediaCapturePipelineCommand,
  GetMediaPipelineCommand,
  NotFoundException as PipelinesNotFoundException,
  type MediaPipelineStatus,
} from '@aws-sdk/client-chime-sdk-media-pipelines';
import {
  BadRequestException,
  ChimeSDKMeetingsClient,
  CreateAttendeeCommand,
  CreateMeetingCommand,
  DeleteAttendeeCommand,
  DeleteMeetingCommand,
  ForbiddenException,
  GetMeetingCommand,
  NotFoundException,
  ServiceUnavailableException,
} from '@aws-sdk/client-chime-sdk-meetings';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ChimeMeetingProvider,
  MediaPipelineFailedError,
  MediaPipelineTimeoutError,
  PERMANENT_MEETING_ERRORS,
  type ChimeMeetingProviderOptions,
} from '../../adapters/meetings/chime';

const REGION = 'us-east-1';
const MEDIA_REGION = 'eu-central-1';
const ACCOUNT = '111122223333';
const BUCKET_ARN = 'arn:aws:s3:::rfy-recordings';
const MEETING_ID = '4b14cf17-72dc-47aa-9e8d-263413992713';
const ATTENDEE_ID = 'a5f0b1a8-0c7e-4f0e-9f35-1c0b2d3e4f50';
const CAPTURE_ID = 'ecf06ff9-d0af-449f-a520-550b8b4c341b';
const CAPTURE_ID_2 = '0d3c2b1a-0000-4000-8000-000000000002';
const CONCAT_ID = '87654321-aaaa-4bbb-8ccc-123456789012';
const CONCAT_ID_2 = '87654321-aaaa-4bbb-8ccc-123456789013';
const PREFIX = 'recordings/tour-42';
const metadata = { $metadata: {} };

const meetingsMock = mockClient(ChimeSDKMeetingsClient);
const pipelinesMock = mockClient(ChimeSDKMediaPipelinesClient);

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

function makeProvider(opts: Partial<ChimeMeetingProviderOptions> = {}): ChimeMeetingProvider {
  return new ChimeMeetingProvider({
    region: REGION,
    mediaRegion: MEDIA_REGION,
    bucketArn: BUCKET_ARN,
    awsAccountId: ACCOUNT,
    meetings: new ChimeSDKMeetingsClient({ region: REGION, credentials }),
    pipelines: new ChimeSDKMediaPipelinesClient({ region: REGION, credentials }),
    pollIntervalMs: 1,
    maxWaitMs: 5_000,
    ...opts,
  });
}

/** Every command sent to a mocked client, in order, as [name, input]. */
function sent(mock: typeof meetingsMock | typeof pipelinesMock): Array<[string, Record<string, unknown>]> {
  return mock.calls().map((call) => {
    const command = call.args[0] as unknown as { constructor: { name: string }; input: Record<string, unknown> };
    return [command.constructor.name, command.input];
  });
}

const chimeMeeting = {
  MeetingId: MEETING_ID,
  ExternalMeetingId: 'tour-42',
  MediaRegion: MEDIA_REGION,
  MeetingArn: `arn:aws:chime:us-east-1:${ACCOUNT}:meeting/${MEETING_ID}`,
  MediaPlacement: {
    AudioHostUrl: 'abcd.k.m3.ec1.app.chime.aws:3478',
    AudioFallbackUrl: `wss://haxrp.m3.ec1.app.chime.aws:443/calls/${MEETING_ID}`,
    SignalingUrl: `wss://signal.m3.ec1.app.chime.aws/control/${MEETING_ID}`,
    TurnControlUrl: 'https://2713.cell.eu-central-1.meetings.chime.aws/v2/turn_sessions',
    ScreenDataUrl: `wss://bitpw.m3.ec1.app.chime.aws:443/v2/screen/${MEETING_ID}`,
    ScreenViewingUrl: `wss://bitpw.m3.ec1.app.chime.aws:443/ws/connect?passcode=null&viewer_uuid=null&X-BitHub-Call-Id=${MEETING_ID}`,
    ScreenSharingUrl: `wss://bitpw.m3.ec1.app.chime.aws:443/v2/screen/${MEETING_ID}`,
    EventIngestionUrl: 'https://data.svc.ec1.ingest.chime.aws/v1/client-events',
  },
};

const CONCATENATION_ARTIFACTS = {
  Audio: { State: 'Enabled' },
  Video: { State: 'Enabled' },
  Content: { State: 'Disabled' },
  DataChannel: { State: 'Disabled' },
  TranscriptionMessages: { State: 'Disabled' },
  MeetingEvents: { State: 'Enabled' },
  CompositedVideo: { State: 'Disabled' },
};

function concatenationPipeline(id: string, status: MediaPipelineStatus) {
  return { MediaConcatenationPipeline: { MediaPipelineId: id, MediaPipelineArn: `arn:aws:chime:us-east-1:${ACCOUNT}:media-pipeline/${id}`, Status: status } };
}

function getStatus(status: MediaPipelineStatus) {
  return { MediaPipeline: concatenationPipeline(CONCAT_ID, status) };
}

beforeEach(() => {
  meetingsMock.reset();
  pipelinesMock.reset();
});

afterAll(() => {
  meetingsMock.restore();
  pipelinesMock.restore();
});

describe('ChimeMeetingProvider meetings', () => {
  it('when a meeting is created, then CreateMeeting carries the caller token, the tour as external id, the media region and echo reduction', async () => {
    meetingsMock.on(CreateMeetingCommand).resolves({ ...metadata, Meeting: chimeMeeting });
    const meeting = await makeProvider().createMeeting({ clientRequestToken: 'tour-42-meeting', externalMeetingId: 'tour-42' });

    expect(sent(meetingsMock)).toEqual([
      [
        'CreateMeetingCommand',
        {
          ClientRequestToken: 'tour-42-meeting',
          ExternalMeetingId: 'tour-42',
          MediaRegion: MEDIA_REGION,
          MeetingFeatures: { Audio: { EchoReduction: 'AVAILABLE' } },
        },
      ],
    ]);
    expect(meeting).toEqual({
      MeetingId: MEETING_ID,
      ExternalMeetingId: 'tour-42',
      MediaRegion: MEDIA_REGION,
      MediaPlacement: chimeMeeting.MediaPlacement,
    });
  });

  it('when createMeeting is retried, then the same ClientRequestToken is sent again', async () => {
    meetingsMock.on(CreateMeetingCommand).resolves({ ...metadata, Meeting: chimeMeeting });
    const provider = makeProvider();
    const input = { clientRequestToken: 'tour-42-meeting', externalMeetingId: 'tour-42' };
    await provider.createMeeting(input);
    await makeProvider().createMeeting(input);

    const tokens = sent(meetingsMock).map(([, i]) => i.ClientRequestToken);
    expect(tokens).toEqual(['tour-42-meeting', 'tour-42-meeting']);
  });

  it('when the token has characters Chime refuses, then a stable 64-character digest is sent instead', async () => {
    meetingsMock.on(CreateMeetingCommand).resolves({ ...metadata, Meeting: chimeMeeting });
    const input = { clientRequestToken: 'tour:42/meeting', externalMeetingId: 'tour-42' };
    await makeProvider().createMeeting(input);
    await makeProvider().createMeeting(input);

    const tokens = sent(meetingsMock).map(([, i]) => i.ClientRequestToken as string);
    expect(tokens[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(tokens[1]).toBe(tokens[0]);
  });

  it('when Chime returns a meeting without media placement, then createMeeting fails', async () => {
    meetingsMock.on(CreateMeetingCommand).resolves({ ...metadata, Meeting: { ...chimeMeeting, MediaPlacement: undefined } });
    await expect(makeProvider().createMeeting({ clientRequestToken: 'tour-42', externalMeetingId: 'tour-42' })).rejects.toThrow(
      /incomplete meeting/,
    );
  });

  it('when Chime rejects the request, then the error keeps its SDK name', async () => {
    meetingsMock.on(CreateMeetingCommand).rejects(new BadRequestException({ message: 'bad region', ...metadata }));
    const err = await makeProvider()
      .createMeeting({ clientRequestToken: 'tour-42', externalMeetingId: 'tour-42' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestException);
    expect((err as Error).name).toBe('BadRequestException');
    expect(PERMANENT_MEETING_ERRORS).toContain('BadRequestException');
  });

  it('when an attendee is created, then CreateAttendee carries meeting and external user id', async () => {
    meetingsMock.on(CreateAttendeeCommand).resolves({
      ...metadata,
      Attendee: { AttendeeId: ATTENDEE_ID, ExternalUserId: 'user-7', JoinToken: 'am9pbi10b2tlbg' },
    });
    const attendee = await makeProvider().createAttendee(MEETING_ID, 'user-7');

    expect(sent(meetingsMock)).toEqual([['CreateAttendeeCommand', { MeetingId: MEETING_ID, ExternalUserId: 'user-7' }]]);
    expect(attendee).toEqual({ AttendeeId: ATTENDEE_ID, ExternalUserId: 'user-7', JoinToken: 'am9pbi10b2tlbg' });
  });

  it('when an attendee or meeting is deleted, then the matching Delete command is sent', async () => {
    meetingsMock.on(DeleteAttendeeCommand).resolves(metadata).on(DeleteMeetingCommand).resolves(metadata);
    const provider = makeProvider();
    await provider.deleteAttendee(MEETING_ID, ATTENDEE_ID);
    await provider.deleteMeeting(MEETING_ID);

    expect(sent(meetingsMock)).toEqual([
      ['DeleteAttendeeCommand', { MeetingId: MEETING_ID, AttendeeId: ATTENDEE_ID }],
      ['DeleteMeetingCommand', { MeetingId: MEETING_ID }],
    ]);
  });

  it('when the meeting or attendee is already gone, then deleting is not an error', async () => {
    meetingsMock
      .on(DeleteAttendeeCommand)
      .rejects(new NotFoundException({ message: 'no such attendee', ...metadata }))
      .on(DeleteMeetingCommand)
      .rejects(Object.assign(new Error('gone'), { name: 'SomethingElse', $metadata: { httpStatusCode: 404 } }));
    const provider = makeProvider();
    await expect(provider.deleteAttendee(MEETING_ID, ATTENDEE_ID)).resolves.toBeUndefined();
    await expect(provider.deleteMeeting(MEETING_ID)).resolves.toBeUndefined();
  });

  it('when a delete fails for another reason, then the error is not swallowed', async () => {
    meetingsMock
      .on(DeleteMeetingCommand)
      .rejects(new ForbiddenException({ message: 'denied', ...metadata }))
      .on(DeleteAttendeeCommand)
      .rejects(new ServiceUnavailableException({ message: 'later', ...metadata }));
    const provider = makeProvider();
    await expect(provider.deleteMeeting(MEETING_ID)).rejects.toMatchObject({ name: 'ForbiddenException' });
    await expect(provider.deleteAttendee(MEETING_ID, ATTENDEE_ID)).rejects.toMatchObject({ name: 'ServiceUnavailableException' });
  });
});

describe('ChimeMeetingProvider recording', () => {
  const captureConfiguration = {
    ArtifactsConfiguration: {
      Audio: { MuxType: 'AudioWithActiveSpeakerVideo' },
      Video: { State: 'Enabled', MuxType: 'VideoOnly' },
      Content: { State: 'Disabled' },
    },
  };

  it('when recording starts, then a capture pipeline is created from the meeting ARN into the prefix', async () => {
    pipelinesMock.on(CreateMediaCapturePipelineCommand).resolves({ ...metadata, MediaCapturePipeline: { MediaPipelineId: CAPTURE_ID } });
    const result = await makeProvider().startRecording(MEETING_ID, PREFIX);

    expect(result).toEqual({ pipelineId: CAPTURE_ID });
    const calls = sent(pipelinesMock);
    expect(calls).toHaveLength(1);
    const [name, input] = calls[0]!;
    expect(name).toBe('CreateMediaCapturePipelineCommand');
    expect(input).toEqual({
      SourceType: 'ChimeSdkMeeting',
      SourceArn: `arn:aws:chime::${ACCOUNT}:meeting:${MEETING_ID}`,
      SinkType: 'S3Bucket',
      SinkArn: `${BUCKET_ARN}/${PREFIX}`,
      ClientRequestToken: expect.stringMatching(/^[0-9a-f]{64}$/),
      ChimeSdkMeetingConfiguration: captureConfiguration,
    });
    expect(meetingsMock.calls()).toHaveLength(0);
  });

  it('when startRecording is retried, then the same ClientRequestToken is sent; another prefix gets another', async () => {
    pipelinesMock.on(CreateMediaCapturePipelineCommand).resolves({ ...metadata, MediaCapturePipeline: { MediaPipelineId: CAPTURE_ID } });
    await makeProvider().startRecording(MEETING_ID, PREFIX);
    await makeProvider().startRecording(MEETING_ID, PREFIX);
    await makeProvider().startRecording(MEETING_ID, `${PREFIX}/part-2`);

    const tokens = sent(pipelinesMock).map(([, i]) => i.ClientRequestToken);
    expect(tokens[1]).toBe(tokens[0]);
    expect(tokens[2]).not.toBe(tokens[0]);
  });

  it('when no account id is configured, then the source ARN is the meeting ARN from GetMeeting', async () => {
    meetingsMock.on(GetMeetingCommand).resolves({ ...metadata, Meeting: chimeMeeting });
    pipelinesMock.on(CreateMediaCapturePipelineCommand).resolves({ ...metadata, MediaCapturePipeline: { MediaPipelineId: CAPTURE_ID } });
    await makeProvider({ awsAccountId: undefined }).startRecording(MEETING_ID, PREFIX);

    expect(sent(meetingsMock)).toEqual([['GetMeetingCommand', { MeetingId: MEETING_ID }]]);
    expect(sent(pipelinesMock)[0]![1].SourceArn).toBe(chimeMeeting.MeetingArn);
  });

  it('when the storage adapter has a key prefix, then the sink includes it', async () => {
    pipelinesMock.on(CreateMediaCapturePipelineCommand).resolves({ ...metadata, MediaCapturePipeline: { MediaPipelineId: CAPTURE_ID } });
    await makeProvider({ storageKeyPrefix: 'staging' }).startRecording(MEETING_ID, PREFIX);
    expect(sent(pipelinesMock)[0]![1].SinkArn).toBe(`${BUCKET_ARN}/staging/${PREFIX}`);
  });

  it('when the key prefix is unsafe or has characters a sink ARN refuses, then nothing is sent', async () => {
    const provider = makeProvider();
    await expect(provider.startRecording(MEETING_ID, '../escape')).rejects.toMatchObject({ name: 'BadRequestException' });
    await expect(provider.startRecording(MEETING_ID, 'recordings/tour 42')).rejects.toMatchObject({ name: 'BadRequestException' });
    expect(pipelinesMock.calls()).toHaveLength(0);
  });

  it('when the meeting is gone at start, then the NotFound reaches the caller under its SDK name', async () => {
    pipelinesMock.on(CreateMediaCapturePipelineCommand).rejects(new PipelinesNotFoundException({ message: 'no meeting', ...metadata }));
    await expect(makeProvider().startRecording(MEETING_ID, PREFIX)).rejects.toMatchObject({ name: 'NotFoundException' });
  });

  it('when recording stops, then the capture pipeline is deleted, and an already deleted one is fine', async () => {
    pipelinesMock
      .on(DeleteMediaCapturePipelineCommand)
      .resolvesOnce(metadata)
      .rejects(new PipelinesNotFoundException({ message: 'gone', ...metadata }));
    const provider = makeProvider();
    await provider.stopRecording(CAPTURE_ID);
    await expect(provider.stopRecording(CAPTURE_ID)).resolves.toBeUndefined();

    expect(sent(pipelinesMock)).toEqual([
      ['DeleteMediaCapturePipelineCommand', { MediaPipelineId: CAPTURE_ID }],
      ['DeleteMediaCapturePipelineCommand', { MediaPipelineId: CAPTURE_ID }],
    ]);
  });

  it('when stopping fails for another reason, then the error is not swallowed', async () => {
    pipelinesMock.on(DeleteMediaCapturePipelineCommand).rejects(new PipelinesBadRequestException({ message: 'bad id', ...metadata }));
    await expect(makeProvider().stopRecording('nope')).rejects.toMatchObject({ name: 'BadRequestException' });
  });
});

describe('ChimeMeetingProvider finalizeRecording', () => {
  it('when nothing was captured, then it returns null and sends nothing', async () => {
    await expect(makeProvider().finalizeRecording({ meetingId: MEETING_ID, pipelineIds: [], keyPrefix: PREFIX })).resolves.toBeNull();
    expect(pipelinesMock.calls()).toHaveLength(0);
  });

  it('when finalized, then a concatenation pipeline is created, polled until Stopped with a heartbeat each poll, and the audio key returned', async () => {
    pipelinesMock.on(CreateMediaConcatenationPipelineCommand).resolves({ ...metadata, ...concatenationPipeline(CONCAT_ID, 'Initializing') });
    pipelinesMock
      .on(GetMediaPipelineCommand)
      .resolvesOnce({ ...metadata, ...getStatus('NotStarted') })
      .resolvesOnce({ ...metadata, ...getStatus('InProgress') })
      .resolvesOnce({ ...metadata, ...getStatus('Stopping') })
      .resolves({ ...metadata, ...getStatus('Stopped') });
    const heartbeat = jest.fn();

    const result = await makeProvider().finalizeRecording({ meetingId: MEETING_ID, pipelineIds: [CAPTURE_ID], keyPrefix: PREFIX, heartbeat });

    expect(result).toEqual({ key: `${PREFIX}/concatenated/audio/${CONCAT_ID}.mp4`, speakers: null });
    const calls = sent(pipelinesMock);
    expect(calls[0]).toEqual([
      'CreateMediaConcatenationPipelineCommand',
      {
        Sources: [
          {
            Type: 'MediaCapturePipeline',
            MediaCapturePipelineSourceConfiguration: {
              MediaPipelineArn: `arn:aws:chime:${REGION}:${ACCOUNT}:media-pipeline/${CAPTURE_ID}`,
              ChimeSdkMeetingConfiguration: { ArtifactsConfiguration: CONCATENATION_ARTIFACTS },
            },
          },
        ],
        Sinks: [{ Type: 'S3Bucket', S3BucketSinkConfiguration: { Destination: `${BUCKET_ARN}/${PREFIX}/concatenated` } }],
        ClientRequestToken: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    ]);
    const polls = calls.slice(1);
    expect(polls).toHaveLength(4);
    for (const poll of polls) expect(poll).toEqual(['GetMediaPipelineCommand', { MediaPipelineId: CONCAT_ID }]);
    // One per capture pipeline while creating, then one per poll.
    expect(heartbeat).toHaveBeenCalledTimes(1 + polls.length);
  });

  it('when finalize is retried, then the concatenation is requested with the same ClientRequestToken', async () => {
    pipelinesMock.on(CreateMediaConcatenationPipelineCommand).resolves({ ...metadata, ...concatenationPipeline(CONCAT_ID, 'Stopped') });
    const input = { meetingId: MEETING_ID, pipelineIds: [CAPTURE_ID], keyPrefix: PREFIX };
    const first = await makeProvider().finalizeRecording(input);
    const second = await makeProvider().finalizeRecording(input);

    expect(second).toEqual(first);
    const creates = sent(pipelinesMock).filter(([name]) => name === 'CreateMediaConcatenationPipelineCommand');
    expect(creates).toHaveLength(2);
    expect(creates[1]![1].ClientRequestToken).toBe(creates[0]![1].ClientRequestToken);
    // Already Stopped at creation: no polling needed.
    expect(sent(pipelinesMock).some(([name]) => name === 'GetMediaPipelineCommand')).toBe(false);
  });

  it('when no account id is configured, then the capture pipeline ARN is read with GetMediaPipeline', async () => {
    const captureArn = `arn:aws:chime:${REGION}:${ACCOUNT}:media-pipeline/${CAPTURE_ID}`;
    pipelinesMock
      .on(GetMediaPipelineCommand, { MediaPipelineId: CAPTURE_ID })
      .resolves({ ...metadata, MediaPipeline: { MediaCapturePipeline: { MediaPipelineId: CAPTURE_ID, MediaPipelineArn: captureArn, Status: 'Stopped' } } })
      .on(GetMediaPipelineCommand, { MediaPipelineId: CONCAT_ID })
      .resolves({ ...metadata, ...getStatus('Stopped') })
      .on(CreateMediaConcatenationPipelineCommand)
      .resolves({ ...metadata, ...concatenationPipeline(CONCAT_ID, 'Initializing') });

    await makeProvider({ awsAccountId: undefined }).finalizeRecording({ meetingId: MEETING_ID, pipelineIds: [CAPTURE_ID], keyPrefix: PREFIX });

    const calls = sent(pipelinesMock);
    expect(calls[0]).toEqual(['GetMediaPipelineCommand', { MediaPipelineId: CAPTURE_ID }]);
    const create = calls.find(([name]) => name === 'CreateMediaConcatenationPipelineCommand')!;
    const sources = create[1].Sources as Array<{ MediaCapturePipelineSourceConfiguration: { MediaPipelineArn: string } }>;
    expect(sources[0]!.MediaCapturePipelineSourceConfiguration.MediaPipelineArn).toBe(captureArn);
  });

  it('when the concatenation fails, then a permanent MediaPipelineFailed error is thrown', async () => {
    pipelinesMock.on(CreateMediaConcatenationPipelineCommand).resolves({ ...metadata, ...concatenationPipeline(CONCAT_ID, 'Initializing') });
    pipelinesMock.on(GetMediaPipelineCommand).resolvesOnce({ ...metadata, ...getStatus('InProgress') }).resolves({ ...metadata, ...getStatus('Failed') });

    const err = await makeProvider()
      .finalizeRecording({ meetingId: MEETING_ID, pipelineIds: [CAPTURE_ID], keyPrefix: PREFIX })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaPipelineFailedError);
    expect((err as Error).name).toBe('MediaPipelineFailed');
    expect(PERMANENT_MEETING_ERRORS).toContain('MediaPipelineFailed');
  });

  it('when the concatenation outlasts maxWaitMs, then a retryable MediaPipelineTimeout error is thrown', async () => {
    pipelinesMock.on(CreateMediaConcatenationPipelineCommand).resolves({ ...metadata, ...concatenationPipeline(CONCAT_ID, 'Initializing') });
    pipelinesMock.on(GetMediaPipelineCommand).resolves({ ...metadata, ...getStatus('InProgress') });
    const heartbeat = jest.fn();

    const err = await makeProvider({ pollIntervalMs: 5, maxWaitMs: 40 })
      .finalizeRecording({ meetingId: MEETING_ID, pipelineIds: [CAPTURE_ID], keyPrefix: PREFIX, heartbeat })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaPipelineTimeoutError);
    expect((err as Error).name).toBe('MediaPipelineTimeout');
    expect(PERMANENT_MEETING_ERRORS).not.toContain('MediaPipelineTimeout');
    expect(heartbeat.mock.calls.length).toBeGreaterThan(1);
  });

  it('when Chime rejects the concatenation, then the SDK error is not swallowed', async () => {
    pipelinesMock
      .on(CreateMediaConcatenationPipelineCommand)
      .rejects(new PipelinesBadRequestException({ message: 'capture has no video', ...metadata }));
    const err = await makeProvider()
      .finalizeRecording({ meetingId: MEETING_ID, pipelineIds: [CAPTURE_ID], keyPrefix: PREFIX })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChimeSDKMediaPipelinesServiceException);
    expect((err as Error).name).toBe('BadRequestException');
  });

  it('when listKeys is given, then the key is confirmed by listing, and a missing output means nothing was captured', async () => {
    pipelinesMock.on(CreateMediaConcatenationPipelineCommand).resolves({ ...metadata, ...concatenationPipeline(CONCAT_ID, 'Stopped') });
    const input = { meetingId: MEETING_ID, pipelineIds: [CAPTURE_ID], keyPrefix: PREFIX };
    const expected = `${PREFIX}/concatenated/audio/${CONCAT_ID}.mp4`;

    const listKeys = jest.fn(async () => [`${PREFIX}/concatenated/audio/other.mp4`, expected]);
    await expect(makeProvider({ listKeys }).finalizeRecording(input)).resolves.toEqual({ key: expected, speakers: null });
    expect(listKeys).toHaveBeenCalledWith(`${PREFIX}/concatenated/audio/`);

    const empty = jest.fn(async () => [] as string[]);
    await expect(makeProvider({ listKeys: empty }).finalizeRecording(input)).resolves.toBeNull();
  });

  it('when two captures were made, then each is concatenated and the files are joined in order', async () => {
    pipelinesMock
      .on(CreateMediaConcatenationPipelineCommand)
      .resolvesOnce({ ...metadata, ...concatenationPipeline(CONCAT_ID, 'Stopped') })
      .resolvesOnce({ ...metadata, ...concatenationPipeline(CONCAT_ID_2, 'Stopped') });
    const joinRecordings = jest.fn(async () => undefined);

    const result = await makeProvider({ joinRecordings }).finalizeRecording({
      meetingId: MEETING_ID,
      pipelineIds: [CAPTURE_ID, CAPTURE_ID_2, CAPTURE_ID],
      keyPrefix: PREFIX,
    });

    expect(result).toEqual({ key: `${PREFIX}/concatenated/recording.mp4`, speakers: null });
    expect(joinRecordings).toHaveBeenCalledWith(
      [`${PREFIX}/concatenated/audio/${CONCAT_ID}.mp4`, `${PREFIX}/concatenated/audio/${CONCAT_ID_2}.mp4`],
      `${PREFIX}/concatenated/recording.mp4`,
      { heartbeat: undefined },
    );
    const tokens = sent(pipelinesMock).map(([, i]) => i.ClientRequestToken);
    expect(tokens).toHaveLength(2);
    expect(tokens[0]).not.toBe(tokens[1]);
  });

  it('when two captures were made and no joiner is configured, then a permanent RecordingNotJoinable error is thrown', async () => {
    pipelinesMock
      .on(CreateMediaConcatenationPipelineCommand)
      .resolvesOnce({ ...metadata, ...concatenationPipeline(CONCAT_ID, 'Stopped') })
      .resolvesOnce({ ...metadata, ...concatenationPipeline(CONCAT_ID_2, 'Stopped') });
    await expect(
      makeProvider().finalizeRecording({ meetingId: MEETING_ID, pipelineIds: [CAPTURE_ID, CAPTURE_ID_2], keyPrefix: PREFIX }),
    ).rejects.toMatchObject({ name: 'RecordingNotJoinable' });
    expect(PERMANENT_MEETING_ERRORS).toContain('RecordingNotJoinable');
  });
});

describe('ChimeMeetingProvider speaker timeline', () => {
  const REALTOR_ATTENDEE = '6a2f0c8e-3b1d-4c7a-9e55-0f1d2c3b4a51';
  const BUYER_ATTENDEE = 'd9e8f7a6-b5c4-4d3e-8f21-7a6b5c4d3e2f';
  const attendees = { [REALTOR_ATTENDEE]: 'user-7', [BUYER_ATTENDEE]: 'user-12' };
  const fixture = readFileSync(path.join(__dirname, '../fixtures/chime/meeting-events.txt'), 'utf8');
  const eventsKey = (concatId: string) => `${PREFIX}/concatenated/meeting-events/${concatId}.txt`;

  /** A second capture: the buyer speaks 1 s to 3 s of a 5 s capture. */
  const secondCapture = [
    { Timestamp: '2026-03-14T15:02:00.000+00:00', EventType: 'CaptureStarted', EventParameters: {} },
    { Timestamp: '2026-03-14T15:02:01.000+00:00', EventType: 'ActiveSpeaker', EventParameters: { AttendeeId: BUYER_ATTENDEE, MediaModality: '' } },
    { Timestamp: '2026-03-14T15:02:03.000+00:00', EventType: 'ActiveSpeaker', EventParameters: { AttendeeId: '', MediaModality: '' } },
    { Timestamp: '2026-03-14T15:02:05.000+00:00', EventType: 'CaptureEnded', EventParameters: {} },
  ]
    .map((e) => JSON.stringify(e))
    .join('\n');

  function twoStoppedConcatenations(): void {
    pipelinesMock
      .on(CreateMediaConcatenationPipelineCommand)
      .resolvesOnce({ ...metadata, ...concatenationPipeline(CONCAT_ID, 'Stopped') })
      .resolvesOnce({ ...metadata, ...concatenationPipeline(CONCAT_ID_2, 'Stopped') });
  }

  it('when the concatenation wrote meeting events, then finalize returns the turns relative to the recording', async () => {
    pipelinesMock.on(CreateMediaConcatenationPipelineCommand).resolves({ ...metadata, ...concatenationPipeline(CONCAT_ID, 'Stopped') });
    const readText = jest.fn(async (key: string) => (key === eventsKey(CONCAT_ID) ? fixture : null));

    const result = await makeProvider({ readText }).finalizeRecording({ meetingId: MEETING_ID, pipelineIds: [CAPTURE_ID], keyPrefix: PREFIX, attendees });

    expect(readText).toHaveBeenCalledWith(eventsKey(CONCAT_ID));
    expect(result?.speakers).toEqual([
      { start_ms: 4_000, end_ms: 12_500, externalUserId: 'user-7', attendeeId: REALTOR_ATTENDEE },
      { start_ms: 12_500, end_ms: 17_000, externalUserId: 'user-12', attendeeId: BUYER_ATTENDEE },
      { start_ms: 19_000, end_ms: 27_500, externalUserId: 'user-7', attendeeId: REALTOR_ATTENDEE },
      { start_ms: 29_500, end_ms: 34_000, externalUserId: 'user-7', attendeeId: REALTOR_ATTENDEE },
      { start_ms: 34_000, end_ms: 39_000, externalUserId: 'user-12', attendeeId: BUYER_ATTENDEE },
      { start_ms: 39_500, end_ms: 45_000, externalUserId: 'user-7', attendeeId: REALTOR_ATTENDEE },
    ]);
  });

  it('when the events file is found by listing, then a file named after the capture is read too', async () => {
    pipelinesMock.on(CreateMediaConcatenationPipelineCommand).resolves({ ...metadata, ...concatenationPipeline(CONCAT_ID, 'Stopped') });
    const capturedName = `${PREFIX}/concatenated/meeting-events/${CAPTURE_ID}.txt`;
    const listKeys = jest.fn(async (folder: string) =>
      folder.endsWith('/audio/') ? [`${PREFIX}/concatenated/audio/${CONCAT_ID}.mp4`] : [capturedName],
    );
    const readText = jest.fn(async (key: string) => (key === capturedName ? fixture : null));

    const result = await makeProvider({ listKeys, readText }).finalizeRecording({ meetingId: MEETING_ID, pipelineIds: [CAPTURE_ID], keyPrefix: PREFIX });

    expect(listKeys).toHaveBeenCalledWith(`${PREFIX}/concatenated/meeting-events/`);
    expect(result?.speakers).toHaveLength(6);
    // No attendee directory: the turns name attendees only.
    expect(result?.speakers?.[0]).toEqual({ start_ms: 4_000, end_ms: 12_500, externalUserId: null, attendeeId: REALTOR_ATTENDEE });
  });

  it('when the meeting events are missing, then speakers is null and the recording is still returned', async () => {
    pipelinesMock.on(CreateMediaConcatenationPipelineCommand).resolves({ ...metadata, ...concatenationPipeline(CONCAT_ID, 'Stopped') });
    const result = await makeProvider({ readText: async () => null }).finalizeRecording({ meetingId: MEETING_ID, pipelineIds: [CAPTURE_ID], keyPrefix: PREFIX });
    expect(result).toEqual({ key: `${PREFIX}/concatenated/audio/${CONCAT_ID}.mp4`, speakers: null });
  });

  it('when two captures are joined, then the second timeline is shifted by the first file’s measured length', async () => {
    twoStoppedConcatenations();
    const readText = async (key: string) => (key === eventsKey(CONCAT_ID) ? fixture : key === eventsKey(CONCAT_ID_2) ? secondCapture : null);
    const joinRecordings = jest.fn(async () => ({ partDurationsMs: [44_000, 5_000] }));

    const result = await makeProvider({ readText, joinRecordings }).finalizeRecording({
      meetingId: MEETING_ID,
      pipelineIds: [CAPTURE_ID, CAPTURE_ID_2],
      keyPrefix: PREFIX,
      attendees,
    });

    expect(result?.key).toBe(`${PREFIX}/concatenated/recording.mp4`);
    const speakers = result?.speakers ?? [];
    // The first file measured 44 s: its last turn is cut there, and the second starts there.
    expect(speakers.slice(-2)).toEqual([
      { start_ms: 39_500, end_ms: 44_000, externalUserId: 'user-7', attendeeId: REALTOR_ATTENDEE },
      { start_ms: 45_000, end_ms: 47_000, externalUserId: 'user-12', attendeeId: BUYER_ATTENDEE },
    ]);
  });

  it('when the joiner reports no lengths, then each capture’s start and end events give them', async () => {
    twoStoppedConcatenations();
    const readText = async (key: string) => (key === eventsKey(CONCAT_ID) ? fixture : key === eventsKey(CONCAT_ID_2) ? secondCapture : null);

    const result = await makeProvider({ readText, joinRecordings: async () => undefined }).finalizeRecording({
      meetingId: MEETING_ID,
      pipelineIds: [CAPTURE_ID, CAPTURE_ID_2],
      keyPrefix: PREFIX,
      attendees,
    });

    expect(result?.speakers?.at(-1)).toEqual({ start_ms: 46_000, end_ms: 48_000, externalUserId: 'user-12', attendeeId: BUYER_ATTENDEE });
  });

  it('when an earlier capture’s length is unknown, then no timeline is guessed', async () => {
    twoStoppedConcatenations();
    const readText = async (key: string) => (key === eventsKey(CONCAT_ID_2) ? secondCapture : null);

    const result = await makeProvider({ readText, joinRecordings: async () => undefined }).finalizeRecording({
      meetingId: MEETING_ID,
      pipelineIds: [CAPTURE_ID, CAPTURE_ID_2],
      keyPrefix: PREFIX,
    });

    expect(result).toEqual({ key: `${PREFIX}/concatenated/recording.mp4`, speakers: null });
  });
});

describe('ChimeMeetingProvider configuration', () => {
  it('when the bucket is not an S3 bucket ARN, then construction fails', () => {
    expect(() => makeProvider({ bucketArn: 'rfy-recordings' })).toThrow(/bucketArn/);
    expect(() => makeProvider({ bucketArn: 'arn:aws:s3:::rfy-recordings/some/prefix' })).toThrow(/bucketArn/);
  });

  it('when the bucket ARN has a trailing slash, then it is trimmed', async () => {
    pipelinesMock.on(CreateMediaCapturePipelineCommand).resolves({ ...metadata, MediaCapturePipeline: { MediaPipelineId: CAPTURE_ID } });
    await makeProvider({ bucketArn: `${BUCKET_ARN}/` }).startRecording(MEETING_ID, PREFIX);
    expect(sent(pipelinesMock)[0]![1].SinkArn).toBe(`${BUCKET_ARN}/${PREFIX}`);
  });
});
