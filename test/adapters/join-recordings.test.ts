import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ChimeSDKMediaPipelinesClient, CreateMediaConcatenationPipelineCommand } from '@aws-sdk/client-chime-sdk-media-pipelines';
import { ChimeSDKMeetingsClient } from '@aws-sdk/client-chime-sdk-meetings';
import { mockClient } from 'aws-sdk-client-mock';
import { probeMedia, runFfmpeg } from '../../adapters/media/ffmpeg';
import { ChimeMeetingProvider } from '../../adapters/meetings/chime';
import { chimeStorageHooks, readStoredText } from '../../adapters/meetings/chime-storage';
import { joinStoredRecordings } from '../../adapters/meetings/join-recordings';
import { LocalObjectStorage } from '../../adapters/storage/local';
import { toneWav } from '../e2e/support/wav';

const ACCOUNT = '111122223333';
const MEETING_ID = '4b14cf17-72dc-47aa-9e8d-263413992713';
const CAPTURE_1 = 'ecf06ff9-d0af-449f-a520-550b8b4c341b';
const CAPTURE_2 = '0d3c2b1a-0000-4000-8000-000000000002';
const CONCAT_1 = '87654321-aaaa-4bbb-8ccc-123456789012';
const CONCAT_2 = '87654321-aaaa-4bbb-8ccc-123456789013';
const PREFIX = 'recordings/tour-42';
const REALTOR_ATTENDEE = '6a2f0c8e-3b1d-4c7a-9e55-0f1d2c3b4a51';
const BUYER_ATTENDEE = 'd9e8f7a6-b5c4-4d3e-8f21-7a6b5c4d3e2f';
/** ffmpeg's AAC priming and frame rounding move a file's end by a few tens of ms. */
const TOLERANCE_MS = 250;

const pipelinesMock = mockClient(ChimeSDKMediaPipelinesClient);

/** An MP4 like Chime's "audio" artifact: a tone with the active speaker's video. */
async function captureFile(file: string, seconds: number, frequency: number): Promise<void> {
  await runFfmpeg(
    [
      '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', `sine=frequency=${frequency}:duration=${seconds}`,
      '-f', 'lavfi', '-i', `color=c=blue:s=160x120:r=15:d=${seconds}`,
      '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest',
      file,
    ],
    { what: 'make a test capture' },
  );
}

function meetingEvents(startIso: string, lines: Array<[offsetMs: number, type: string, attendeeId?: string]>): string {
  const start = Date.parse(startIso);
  return lines
    .map(([offset, type, attendeeId]) =>
      JSON.stringify({
        Timestamp: new Date(start + offset).toISOString().replace('Z', '+00:00'),
        EventType: type,
        EventParameters: attendeeId === undefined ? {} : { AttendeeId: attendeeId, MediaModality: '' },
      }),
    )
    .join('\n');
}

describe('joining recordings through the storage port', () => {
  let root: string;
  let work: string;
  let storage: LocalObjectStorage;

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'rfy-join-test-'));
    storage = new LocalObjectStorage({ dir: path.join(root, 'storage'), baseUrl: 'http://localhost:3000', secret: 'b'.repeat(64), defaultTtlSeconds: 900 });
    const made = path.join(root, 'made');
    fs.mkdirSync(made);
    await captureFile(path.join(made, '1.mp4'), 2, 440);
    await captureFile(path.join(made, '2.mp4'), 3, 660);
    await storage.put(`${PREFIX}/concatenated/audio/${CONCAT_1}.mp4`, fs.readFileSync(path.join(made, '1.mp4')), 'video/mp4');
    await storage.put(`${PREFIX}/concatenated/audio/${CONCAT_2}.mp4`, fs.readFileSync(path.join(made, '2.mp4')), 'video/mp4');
    // Chime writes these next to the audio; the second capture reports a longer span than
    // its file, so the offset must come from the measured file, not the events.
    await storage.put(
      `${PREFIX}/concatenated/meeting-events/${CONCAT_1}.txt`,
      Buffer.from(meetingEvents('2026-03-14T15:00:00.000Z', [[0, 'CaptureStarted'], [500, 'ActiveSpeaker', REALTOR_ATTENDEE], [2_000, 'CaptureEnded']])),
      'text/plain',
    );
    await storage.put(
      `${PREFIX}/concatenated/meeting-events/${CONCAT_2}.txt`,
      Buffer.from(meetingEvents('2026-03-14T15:05:00.000Z', [[0, 'CaptureStarted'], [1_000, 'ActiveSpeaker', BUYER_ATTENDEE], [2_000, 'ActiveSpeaker', ''], [3_400, 'CaptureEnded']])),
      'text/plain',
    );
  }, 60_000);

  beforeEach(() => {
    pipelinesMock.reset();
    work = fs.mkdtempSync(path.join(root, 'work-'));
  });

  afterAll(() => {
    pipelinesMock.restore();
    fs.rmSync(root, { recursive: true, force: true });
  });

  async function download(key: string): Promise<string> {
    const file = path.join(root, `download-${path.basename(key)}`);
    const obj = await storage.get(key);
    const chunks: Buffer[] = [];
    for await (const chunk of obj.body) chunks.push(chunk as Buffer);
    fs.writeFileSync(file, Buffer.concat(chunks));
    return file;
  }

  it('when a tour was captured twice, then Chime finalize joins both into one file as long as both, with one speaker timeline', async () => {
    pipelinesMock
      .on(CreateMediaConcatenationPipelineCommand)
      .resolvesOnce({ MediaConcatenationPipeline: { MediaPipelineId: CONCAT_1, Status: 'Stopped' } })
      .resolvesOnce({ MediaConcatenationPipeline: { MediaPipelineId: CONCAT_2, Status: 'Stopped' } })
      .resolvesOnce({ MediaConcatenationPipeline: { MediaPipelineId: CONCAT_1, Status: 'Stopped' } })
      .resolvesOnce({ MediaConcatenationPipeline: { MediaPipelineId: CONCAT_2, Status: 'Stopped' } });
    const provider = new ChimeMeetingProvider({
      region: 'us-east-1',
      mediaRegion: 'us-east-1',
      bucketArn: 'arn:aws:s3:::rfy-recordings',
      awsAccountId: ACCOUNT,
      meetings: new ChimeSDKMeetingsClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
      pipelines: new ChimeSDKMediaPipelinesClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
      ...chimeStorageHooks(storage),
    });
    const heartbeat = jest.fn();
    const input = {
      meetingId: MEETING_ID,
      pipelineIds: [CAPTURE_1, CAPTURE_2],
      keyPrefix: PREFIX,
      attendees: { [REALTOR_ATTENDEE]: 'user-7', [BUYER_ATTENDEE]: 'user-12' },
      heartbeat,
    };

    const result = await provider.finalizeRecording(input);

    expect(result?.key).toBe(`${PREFIX}/concatenated/recording.mp4`);
    const joined = await probeMedia(await download(result!.key));
    const first = await probeMedia(await download(`${PREFIX}/concatenated/audio/${CONCAT_1}.mp4`));
    const second = await probeMedia(await download(`${PREFIX}/concatenated/audio/${CONCAT_2}.mp4`));
    expect(joined.hasAudio).toBe(true);
    expect(joined.hasVideo).toBe(true);
    expect(Math.abs(joined.durationMs! - (first.durationMs! + second.durationMs!))).toBeLessThanOrEqual(TOLERANCE_MS);
    expect(Math.abs(joined.durationMs! - 5_000)).toBeLessThanOrEqual(TOLERANCE_MS);
    const stored = await storage.get(result!.key);
    stored.body.destroy();
    expect(stored.contentType).toBe('video/mp4');
    expect(heartbeat).toHaveBeenCalled();

    // The realtor spoke until the first capture ended; the buyer's turn in the second
    // capture (1 s..2 s) lands after the whole first file, as measured.
    expect(result!.speakers).toEqual([
      { start_ms: 500, end_ms: 2_000, externalUserId: 'user-7', attendeeId: REALTOR_ATTENDEE },
      { start_ms: first.durationMs! + 1_000, end_ms: first.durationMs! + 2_000, externalUserId: 'user-12', attendeeId: BUYER_ATTENDEE },
    ]);

    // A retried activity calls again: same key, same length, nothing else left behind.
    const again = await provider.finalizeRecording(input);
    expect(again).toEqual(result);
    expect(await storage.list(`${PREFIX}/concatenated/`)).toEqual([
      `${PREFIX}/concatenated/audio/${CONCAT_1}.mp4`,
      `${PREFIX}/concatenated/audio/${CONCAT_2}.mp4`,
      `${PREFIX}/concatenated/meeting-events/${CONCAT_1}.txt`,
      `${PREFIX}/concatenated/meeting-events/${CONCAT_2}.txt`,
      `${PREFIX}/concatenated/recording.mp4`,
    ]);
  }, 120_000);

  it('when uploaded WAV segments are joined, then the result is one audio file with both lengths and the temp folder is gone', async () => {
    await storage.put('recordings/tour-7/uploads/1.wav', toneWav({ seconds: 1.5 }), 'audio/wav');
    await storage.put('recordings/tour-7/uploads/2.wav', toneWav({ seconds: 1, frequency: 880 }), 'audio/wav');

    const joined = await joinStoredRecordings(storage, ['recordings/tour-7/uploads/1.wav', 'recordings/tour-7/uploads/2.wav'], 'recordings/tour-7/recording.mp4', {
      workDir: work,
    });

    expect(joined.contentType).toBe('audio/mp4');
    expect(joined.parts.map((p) => p.durationMs)).toEqual([1_500, 1_000]);
    expect(Math.abs(joined.durationMs! - 2_500)).toBeLessThanOrEqual(TOLERANCE_MS);
    const stored = await probeMedia(await download('recordings/tour-7/recording.mp4'));
    expect(stored.hasVideo).toBe(false);
    expect(Math.abs(stored.durationMs! - 2_500)).toBeLessThanOrEqual(TOLERANCE_MS);
    expect(fs.readdirSync(work)).toEqual([]);
  }, 60_000);

  it('when an input is missing or not media, then the join fails, nothing is stored and the temp folder is gone', async () => {
    await storage.put('recordings/tour-8/notes.txt', Buffer.from('not a recording'), 'text/plain');
    const target = 'recordings/tour-8/recording.mp4';

    await expect(joinStoredRecordings(storage, ['recordings/tour-8/missing.mp4'], target, { workDir: work })).rejects.toMatchObject({ name: 'ObjectNotFoundError' });
    await expect(joinStoredRecordings(storage, ['recordings/tour-8/notes.txt'], target, { workDir: work })).rejects.toMatchObject({ name: 'UnreadableMediaError' });
    expect(await storage.exists(target)).toBe(false);
    expect(fs.readdirSync(work)).toEqual([]);
  }, 60_000);

  it('when the target is one of the inputs or there are no inputs, then nothing is done', async () => {
    const key = `${PREFIX}/concatenated/audio/${CONCAT_1}.mp4`;
    await expect(joinStoredRecordings(storage, [key], key, { workDir: work })).rejects.toThrow(/cannot also be one of its inputs/);
    await expect(joinStoredRecordings(storage, [], 'recordings/x.mp4', { workDir: work })).rejects.toThrow(/at least one/);
    expect(fs.readdirSync(work)).toEqual([]);
  });

  it('when a stored text is read, then it comes back as UTF-8, and a missing one as null', async () => {
    await storage.put('texts/a.txt', Buffer.from('Grüße'), 'text/plain');
    expect(await readStoredText(storage, 'texts/a.txt')).toBe('Grüße');
    expect(await readStoredText(storage, 'texts/none.txt')).toBeNull();
  });
});
