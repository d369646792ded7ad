import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ChimeSDKMediaPipelinesClient,
  CreateMediaCapturePipelineCommand,
  CreateMediaConcatenationPipelineCommand,
  DeleteMediaCapturePipelineCommand,
} from '@aws-sdk/client-chime-sdk-media-pipelines';
import {
  ChimeSDKMeetingsClient,
  CreateAttendeeCommand,
  CreateMeetingCommand,
  DeleteAttendeeCommand,
  DeleteMeetingCommand,
} from '@aws-sdk/client-chime-sdk-meetings';
import { mockClient } from 'aws-sdk-client-mock';
import sharp from 'sharp';
import { ffmpegPath, probeMedia } from '../../adapters/media/ffmpeg';
import { createBuyer, createProperty, createRealtor, createTour, serverSlot, type SignedIn } from '../support/factories';
import { startTestSystem, TOURS_STARTABLE_NOW, type TestSystem } from '../support/system';
import { eventually } from '../support/wait';
import { wordErrorRate } from '../support/wer';

/**
 * A Chime-recorded tour whose recording was stopped and restarted: the meetings and media
 * pipelines APIs answer through aws-sdk-client-mock (no AWS here), and each concatenation
 * "writes" what Chime would — the capture's video file and its meeting-events file — into
 * the storage the worker reads. The spoken sample is cut in two at a pause: the realtor
 * speaks in the first capture, the buyer in the second. Everything after the Chime calls
 * is real: ffmpeg joins the two files, faster-whisper transcribes the joined one, and the
 * speaker timeline labels its segments.
 */

const ACCOUNT = '111122223333';
const AUDIO = path.join(__dirname, '..', 'fixtures', 'audio');
const SCRIPT = readFileSync(path.join(AUDIO, 'tour-sample.txt'), 'utf8');
/** A pause in the sample between "The asking price is $450,000." and "We are a little worried…". */
const CUT_S = 12.35;
const ATTENDEE = { realtor: '6a2f0c8e-3b1d-4c7a-9e55-0f1d2c3b4a51', buyer: 'd9e8f7a6-b5c4-4d3e-8f21-7a6b5c4d3e2f' };

const meetingsMock = mockClient(ChimeSDKMeetingsClient);
const pipelinesMock = mockClient(ChimeSDKMediaPipelinesClient);

describe('a Chime tour recorded in two captures', () => {
  let sys: TestSystem;
  let realtor: SignedIn;
  let buyer: SignedIn;
  let tmp: string;
  const http = () => sys.http();

  /** A capture as Chime concatenates it: video (one colour per capture) with the sample's audio from `from` for `seconds`. */
  function captureFile(name: string, color: string, from: number, seconds?: number): Buffer {
    const out = path.join(tmp, name);
    execFileSync(ffmpegPath(), [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-ss', String(from), ...(seconds ? ['-t', String(seconds)] : []), '-i', path.join(AUDIO, 'tour-sample.ogg'),
      '-f', 'lavfi', '-i', `color=c=${color}:s=320x240:r=15`,
      '-map', '1:v', '-map', '0:a', '-shortest', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'mp4', out,
    ]);
    return readFileSync(out);
  }

  /** Chime meeting events of a capture in which one attendee speaks throughout. */
  function events(startIso: string, seconds: number, speaker: string): string {
    const at = (s: number) => new Date(Date.parse(startIso) + s * 1000).toISOString().replace('Z', '+00:00');
    return [
      { Timestamp: at(0), EventType: 'CaptureStarted', EventParameters: {} },
      { Timestamp: at(0), EventType: 'ActiveSpeaker', EventParameters: { AttendeeId: speaker, MediaModality: '' } },
      { Timestamp: at(seconds), EventType: 'CaptureEnded', EventParameters: {} },
    ]
      .map((e) => JSON.stringify(e))
      .join('\n');
  }

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'rfy-chime-recap-'));
    sys = await startTestSystem({
      config: {
        TEMPORAL_TASK_QUEUE: 'rfy-chime-recap',
        ...TOURS_STARTABLE_NOW,
        MEETINGS_PROVIDER: 'chime',
        CHIME_RECORDINGS_BUCKET_ARN: 'arn:aws:s3:::rfy-recordings',
        CHIME_ACCOUNT_ID: ACCOUNT,
      },
      worker: true,
    });
    [realtor, buyer] = await Promise.all([createRealtor(sys.t, 'Rosa Realtor'), createBuyer(sys.t, 'Ben Buyer')]);
  }, 120_000);

  afterAll(async () => {
    await sys?.stop();
    meetingsMock.restore();
    pipelinesMock.restore();
    rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  it('when the realtor stops and restarts the recording, then one joined file is transcribed with times across both captures and each segment names its speaker', async () => {
    const first = captureFile('first.mp4', 'red', 0, CUT_S);
    const second = captureFile('second.mp4', 'blue', CUT_S);
    const firstMs = (await probeMedia(path.join(tmp, 'first.mp4'))).durationMs!;
    const secondMs = (await probeMedia(path.join(tmp, 'second.mp4'))).durationMs!;

    meetingsMock.on(CreateMeetingCommand).callsFake((input: { ExternalMeetingId: string }) => ({
      Meeting: {
        MeetingId: 'b7c1e0d2-0000-4000-8000-00000000a001',
        ExternalMeetingId: input.ExternalMeetingId,
        MediaRegion: 'us-east-1',
        MediaPlacement: { AudioHostUrl: 'a.chime.aws:3478', AudioFallbackUrl: 'wss://a.chime.aws', SignalingUrl: 'wss://s.chime.aws', TurnControlUrl: 'https://t.chime.aws' },
      },
    }));
    meetingsMock.on(CreateAttendeeCommand).callsFake((input: { ExternalUserId: string }) => ({
      Attendee: { AttendeeId: input.ExternalUserId === `user-${realtor.id}` ? ATTENDEE.realtor : ATTENDEE.buyer, ExternalUserId: input.ExternalUserId, JoinToken: `token-${input.ExternalUserId}` },
    }));
    meetingsMock.on(DeleteAttendeeCommand).resolves({});
    meetingsMock.on(DeleteMeetingCommand).resolves({});
    pipelinesMock.on(CreateMediaCapturePipelineCommand).callsFake((input: { SinkArn: string }) => ({
      MediaCapturePipeline: { MediaPipelineId: input.SinkArn.endsWith('capture-1') ? 'cap-1' : 'cap-2' },
    }));
    pipelinesMock.on(DeleteMediaCapturePipelineCommand).resolves({});
    let tourId = 0;
    // The concatenation of each capture writes its files where Chime puts them.
    pipelinesMock.on(CreateMediaConcatenationPipelineCommand).callsFake(async (input: { Sources: Array<{ MediaCapturePipelineSourceConfiguration: { MediaPipelineArn: string } }> }) => {
      const n = input.Sources[0]!.MediaCapturePipelineSourceConfiguration.MediaPipelineArn.endsWith('cap-1') ? 1 : 2;
      const prefix = `recordings/tour-${tourId}/concatenated`;
      await sys.t.adapters.storage.put(`${prefix}/audio/concat-${n}.mp4`, n === 1 ? first : second, 'video/mp4');
      const text = n === 1 ? events('2026-03-14T15:00:00.000Z', firstMs / 1000, ATTENDEE.realtor) : events('2026-03-14T15:05:00.000Z', secondMs / 1000, ATTENDEE.buyer);
      await sys.t.adapters.storage.put(`${prefix}/meeting-events/concat-${n}.txt`, Buffer.from(text), 'text/plain');
      return { MediaConcatenationPipeline: { MediaPipelineId: `concat-${n}`, Status: 'Stopped' } };
    });

    const propertyId = await createProperty(sys.t, realtor, { address: '12 Oak Street', city: 'Springfield', price: 450000 });
    const created = await createTour(sys.t, { realtor, buyer }, { propertyId, scheduledAt: await serverSlot(sys.env) });
    tourId = created.tourId;
    const callId = created.callId;

    expect((await http().post(`/api/v1/realtors/tours/${tourId}/start`).set(realtor.auth)).status).toBe(200);
    // The meeting was created with echo reduction and the tour's own id.
    expect(meetingsMock.commandCalls(CreateMeetingCommand)[0]!.args[0].input).toMatchObject({ ExternalMeetingId: `tour-${tourId}`, MeetingFeatures: { Audio: { EchoReduction: 'AVAILABLE' } } });
    for (const [who, area] of [[realtor, 'realtors'], [buyer, 'buyers']] as const) {
      expect((await http().post(`/api/v1/${area}/calls/${callId}/join`).set(who.auth)).status).toBe(200);
    }
    // Recording since the start (capture 1); stopped and started again (capture 2).
    expect((await http().post(`/api/v1/realtors/calls/${callId}/record`).set(realtor.auth).send({ action: 'stop' })).body.data.attributes.recording).toBe(false);
    expect((await http().post(`/api/v1/realtors/calls/${callId}/record`).set(realtor.auth).send({ action: 'start' })).body.data.attributes.recording).toBe(true);
    expect(pipelinesMock.commandCalls(CreateMediaCapturePipelineCommand)).toHaveLength(2);
    expect((await http().post(`/api/v1/realtors/tours/${tourId}/end`).set(realtor.auth)).status).toBe(200);

    await eventually('the tour completed', async () => (await sys.db.knex('tours').where({ id: tourId }).first()).status === 'completed', 180_000);

    // One joined recording, as long as both captures.
    const rec = (await http().get(`/api/v1/buyers/tours/${tourId}/recording`).set(buyer.auth)).body.data.attributes;
    expect(rec).toMatchObject({ status: 'ready', source: 'call' });
    expect(Math.abs(rec.duration_seconds * 1000 - (firstMs + secondMs))).toBeLessThanOrEqual(1000);
    expect(pipelinesMock.commandCalls(CreateMediaConcatenationPipelineCommand)).toHaveLength(2);

    // One transcript of the whole, its times running across the join, labelled by who spoke.
    const transcript = (await http().get(`/api/v1/buyers/tours/${tourId}/transcript`).set(buyer.auth)).body.data.attributes;
    expect(transcript.status).toBe('ready');
    expect(wordErrorRate(SCRIPT, transcript.full_text)).toBeLessThan(0.15);
    const segments = transcript.segments as Array<{ start_ms: number; end_ms: number; text: string; speaker: string | null }>;
    expect(segments.some((s) => s.end_ms <= firstMs)).toBe(true);
    expect(segments.some((s) => s.start_ms >= firstMs - 500)).toBe(true);
    expect(segments.at(-1)!.end_ms).toBeGreaterThan(firstMs + secondMs / 2);
    for (const s of segments) {
      if (s.end_ms <= firstMs - 500) expect(s.speaker).toBe('realtor');
      if (s.start_ms >= firstMs + 500) expect(s.speaker).toBe('buyer');
    }
    expect(segments.find((s) => /worried/i.test(s.text))?.speaker).toBe('buyer');
    expect(segments.find((s) => /kitchen/i.test(s.text))?.speaker).toBe('realtor');

    // Highlights of a video recording show the moment: a WebP frame, red before the join, blue after.
    const items = (await http().get(`/api/v1/realtors/tours/${tourId}/highlights`).set(realtor.auth)).body.data.attributes.items as Array<{ timestamp_ms: number; image_url: string | null }>;
    expect(items.length).toBeGreaterThan(0);
    for (const h of items) {
      expect(h.image_url).toMatch(/signature=/);
      const url = new URL(h.image_url!);
      const img = await http().get(url.pathname + url.search).buffer(true).parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      });
      expect(img.status).toBe(200);
      expect(img.headers['content-type']).toBe('image/webp');
      const { channels } = await sharp(img.body as Buffer).stats();
      const [r, , b] = channels.map((c) => c.mean);
      if (h.timestamp_ms < firstMs - 500) expect(r!).toBeGreaterThan(b! + 80);
      if (h.timestamp_ms > firstMs + 500) expect(b!).toBeGreaterThan(r! + 80);
    }
  }, 300_000);
});
