import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { APIError } from 'openai';
import { ffmpegPath, splitAudio } from '../../adapters/ai/audio-chunks';
import { OpenAiTourAnalyst, OpenAiTranscriber } from '../../adapters/ai/openai';
import { AiPermanentError, HIGHLIGHT_TYPES, type AnalysisInput } from '../../adapters/ai/port';
import { freePort } from '../support/ports';

const API_KEY = 'sk-test-key';

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** Set for multipart requests. */
  form?: FormData;
  /** Set for JSON requests. */
  json?: Record<string, unknown>;
}

interface JsonSchemaNode {
  type?: string;
  enum?: string[];
  properties?: Record<string, JsonSchemaNode>;
  items?: JsonSchemaNode;
  required?: string[];
  additionalProperties?: boolean;
}

interface SentResponseFormat {
  type: string;
  json_schema: { name: string; strict: boolean; schema: JsonSchemaNode };
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/**
 * A local OpenAI-compatible server: `POST /v1/audio/transcriptions` (multipart) and
 * `POST /v1/chat/completions` (JSON). Replies are queued per endpoint; when a queue is
 * empty the endpoint's default answers.
 */
class FakeOpenAi {
  readonly received: Received[] = [];
  readonly transcriptionReplies: Reply[] = [];
  readonly chatReplies: Reply[] = [];
  transcriptionDefault: (form: FormData, n: number) => Reply = () => ({ status: 200, body: verbose([]) });
  chatDefault: () => Reply = () => chatReply('{}');
  private server = http.createServer((req, res) => void this.handle(req, res));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  transcriptions(): Received[] {
    return this.received.filter((r) => r.url === '/v1/audio/transcriptions');
  }

  chats(): Received[] {
    return this.received.filter((r) => r.url === '/v1/chat/completions');
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const contentType = String(req.headers['content-type'] ?? '');
    const received: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers };
    let reply: Reply;
    if (req.headers.authorization !== `Bearer ${API_KEY}`) {
      reply = { status: 401, body: { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } } };
    } else if (req.method === 'POST' && req.url === '/v1/audio/transcriptions' && contentType.startsWith('multipart/form-data')) {
      // Node's own multipart parser (undici) reads the form as a server would.
      received.form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
      reply = this.transcriptionReplies.shift() ?? this.transcriptionDefault(received.form, this.transcriptions().length + 1);
    } else if (req.method === 'POST' && req.url === '/v1/chat/completions' && contentType.startsWith('application/json')) {
      received.json = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      reply = this.chatReplies.shift() ?? this.chatDefault();
    } else {
      reply = { status: 404, body: { error: { message: 'not found', type: 'invalid_request_error' } } };
    }
    this.received.push(received);
    res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
    res.end(JSON.stringify(reply.body));
  }
}

function verbose(segments: { start: number; end: number; text: string; avg_logprob?: number }[], extra: Record<string, unknown> = {}) {
  return {
    task: 'transcribe',
    language: 'english',
    duration: segments.at(-1)?.end ?? 0,
    text: segments.map((s) => s.text.trim()).join(' '),
    segments: segments.map((s, id) => ({
      id,
      seek: 0,
      start: s.start,
      end: s.end,
      text: s.text,
      tokens: [1, 2, 3],
      temperature: 0,
      avg_logprob: s.avg_logprob ?? -0.2,
      compression_ratio: 1.2,
      no_speech_prob: 0.01,
    })),
    ...extra,
  };
}

function chatReply(content: string | null, extra: { refusal?: string; model?: string } = {}): Reply {
  return {
    status: 200,
    body: {
      id: 'chatcmpl-test',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: extra.model ?? 'gpt-4o-mini-2024-07-18',
      choices: [{ index: 0, message: { role: 'assistant', content, refusal: extra.refusal ?? null }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
    },
  };
}

function apiError(status: number): Reply {
  return { status, body: { error: { message: `failure ${status}`, type: 'server_error', code: null } } };
}

const run = promisify(execFile);

let fake: FakeOpenAi;
let baseUrl: string;
let dir: string;

beforeEach(async () => {
  fake = new FakeOpenAi();
  baseUrl = await fake.start();
  dir = await mkdtemp(path.join(tmpdir(), 'rfy-ai-test-'));
});

afterEach(async () => {
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
});

async function writeBytes(name: string, bytes: Buffer): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, bytes);
  return file;
}

/** A real, short audio file made with the packaged ffmpeg. */
async function makeTone(name: string, seconds: number): Promise<string> {
  const file = path.join(dir, name);
  await run(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`, '-ac', '1', '-ar', '16000', file]);
  return file;
}

describe('OpenAiTranscriber', () => {
  it('when a file is transcribed, then it is sent as multipart with whisper-1, verbose_json and segment timestamps', async () => {
    const bytes = Buffer.from('ID3 fake mp3 bytes \u0000\u0001\u0002 for the upload');
    const file = await writeBytes('upload.bin', bytes);
    fake.transcriptionReplies.push({
      status: 200,
      body: verbose([
        { start: 0, end: 2.3456, text: ' Welcome to the house. ', avg_logprob: -0.1 },
        { start: 2.3456, end: 5.5, text: 'The kitchen is new.', avg_logprob: -0.3 },
        { start: 5.5, end: 6, text: '   ' },
      ]),
    });
    const transcriber = new OpenAiTranscriber({ apiKey: API_KEY, baseUrl });
    expect(transcriber.name).toBe('openai');
    expect(transcriber.configured).toBe(true);

    const result = await transcriber.transcribe({ file, filename: 'tour.mp3', contentType: 'audio/mpeg' });

    const [req] = fake.transcriptions();
    expect(fake.transcriptions()).toHaveLength(1);
    const form = req!.form!;
    expect(form.get('model')).toBe('whisper-1');
    expect(form.get('response_format')).toBe('verbose_json');
    expect(form.getAll('timestamp_granularities[]')).toEqual(['segment']);
    const sent = form.get('file') as File;
    expect(sent.name).toBe('tour.mp3');
    expect(sent.type).toBe('audio/mpeg');
    expect(Buffer.from(await sent.arrayBuffer()).equals(bytes)).toBe(true);

    expect(result).toEqual({
      text: 'Welcome to the house. The kitchen is new.',
      segments: [
        { start_ms: 0, end_ms: 2346, text: 'Welcome to the house.', avg_logprob: -0.1 },
        { start_ms: 2346, end_ms: 5500, text: 'The kitchen is new.', avg_logprob: -0.3 },
      ],
      // The blank segment is dropped and does not count towards confidence.
      confidence: Math.round(((Math.exp(-0.1) + Math.exp(-0.3)) / 2) * 10_000) / 10_000,
      language: 'english',
      model: 'whisper-1',
    });
  });

  it('when the reply has no log-probabilities, then confidence is null', async () => {
    const file = await writeBytes('a.mp3', Buffer.from('abc'));
    fake.transcriptionReplies.push({ status: 200, body: { text: 'Hello.', segments: [{ start: 1, end: 2, text: 'Hello.' }] } });
    const result = await new OpenAiTranscriber({ apiKey: API_KEY, baseUrl }).transcribe({ file, filename: 'a.mp3', contentType: 'audio/mpeg' });
    expect(result.confidence).toBeNull();
    expect(result.language).toBeNull();
    expect(result.segments).toEqual([{ start_ms: 1000, end_ms: 2000, text: 'Hello.' }]);
  });

  it('when the server fails with 500, then the first attempt throws a retryable error and the caller\'s second attempt succeeds', async () => {
    const file = await writeBytes('a.mp3', Buffer.from('abc'));
    fake.transcriptionReplies.push(apiError(500), { status: 200, body: verbose([{ start: 0, end: 1, text: 'Hi.' }]) });
    const transcriber = new OpenAiTranscriber({ apiKey: API_KEY, baseUrl });
    const input = { file, filename: 'a.mp3', contentType: 'audio/mpeg' };

    const first = await transcriber.transcribe(input).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(APIError);
    expect(first).not.toBeInstanceOf(AiPermanentError);
    expect((first as APIError).status).toBe(500);
    // maxRetries defaults to 0: the client did not retry on its own.
    expect(fake.transcriptions()).toHaveLength(1);

    const second = await transcriber.transcribe(input);
    expect(second.text).toBe('Hi.');
    expect(fake.transcriptions()).toHaveLength(2);
  });

  it('when maxRetries is set, then the client retries a 500 itself', async () => {
    const file = await writeBytes('a.mp3', Buffer.from('abc'));
    fake.transcriptionReplies.push({ ...apiError(500), headers: { 'retry-after-ms': '10' } }, { status: 200, body: verbose([{ start: 0, end: 1, text: 'Hi.' }]) });
    const result = await new OpenAiTranscriber({ apiKey: API_KEY, baseUrl, maxRetries: 1 }).transcribe({ file, filename: 'a.mp3', contentType: 'audio/mpeg' });
    expect(result.text).toBe('Hi.');
    expect(fake.transcriptions()).toHaveLength(2);
  });

  it.each([
    [400, true],
    [401, true],
    [404, true],
    [413, true],
    [408, false],
    [429, false],
    [503, false],
  ])('when the server answers %i, then the error is permanent: %p', async (status, permanent) => {
    const file = await writeBytes('a.mp3', Buffer.from('abc'));
    fake.transcriptionReplies.push(apiError(status));
    const err = await new OpenAiTranscriber({ apiKey: API_KEY, baseUrl })
      .transcribe({ file, filename: 'a.mp3', contentType: 'audio/mpeg' })
      .catch((e: unknown) => e);
    expect(err instanceof AiPermanentError).toBe(permanent);
    if (permanent) expect((err as AiPermanentError).cause).toBeInstanceOf(APIError);
    else expect((err as APIError).status).toBe(status);
  });

  it('when the server cannot be reached, then the error is retryable', async () => {
    const file = await writeBytes('a.mp3', Buffer.from('abc'));
    const port = await freePort();
    const err = await new OpenAiTranscriber({ apiKey: API_KEY, baseUrl: `http://127.0.0.1:${port}/v1` })
      .transcribe({ file, filename: 'a.mp3', contentType: 'audio/mpeg' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect(err).not.toBeInstanceOf(AiPermanentError);
  });

  it('when the reply is not a verbose transcription, then it is an error', async () => {
    const file = await writeBytes('a.mp3', Buffer.from('abc'));
    fake.transcriptionReplies.push({ status: 200, body: { segments: 'nope' } });
    await expect(
      new OpenAiTranscriber({ apiKey: API_KEY, baseUrl }).transcribe({ file, filename: 'a.mp3', contentType: 'audio/mpeg' }),
    ).rejects.toThrow(/unexpected transcription reply/);
  });

  it('when the file is above the size limit, then it is split with ffmpeg and each chunk\'s timestamps are offset', async () => {
    const file = await makeTone('tour.wav', 6);
    const chunkDir = path.join(dir, 'chunks');
    await mkdir(chunkDir);
    fake.transcriptionDefault = (_form, n) => ({ status: 200, body: verbose([{ start: 0.5, end: 1.5, text: ` part ${n} ` }]) });
    const heartbeat = jest.fn();
    const transcriber = new OpenAiTranscriber({ apiKey: API_KEY, baseUrl, maxUploadBytes: 1_000, chunkSeconds: 2, tmpDir: chunkDir });

    const result = await transcriber.transcribe({ file, filename: 'tour.wav', contentType: 'audio/wav', heartbeat });

    const requests = fake.transcriptions();
    expect(requests).toHaveLength(3);
    for (const [i, req] of requests.entries()) {
      const sent = req.form!.get('file') as File;
      expect(sent.name).toBe(`tour-part-00${i + 1}.mp3`);
      expect(sent.type).toBe('audio/mpeg');
      expect(sent.size).toBeGreaterThan(1_000);
      expect(req.form!.get('model')).toBe('whisper-1');
      expect(req.form!.getAll('timestamp_granularities[]')).toEqual(['segment']);
    }
    expect(result.text).toBe('part 1 part 2 part 3');
    expect(result.segments.map((s) => s.text)).toEqual(['part 1', 'part 2', 'part 3']);
    // Chunks start near 0, 2 and 4 s (ffmpeg cuts on 72 ms mp3 frames).
    const expected = [500, 2_500, 4_500];
    result.segments.forEach((s, i) => {
      expect(Math.abs(s.start_ms - expected[i]!)).toBeLessThanOrEqual(100);
      expect(s.end_ms - s.start_ms).toBe(1_000);
    });
    expect(heartbeat.mock.calls.length).toBeGreaterThanOrEqual(3);
    // The temporary chunks are gone.
    expect(await readdir(chunkDir)).toEqual([]);
  });

  it('when the file type is not one Whisper accepts, then it is re-encoded to mp3 first', async () => {
    const file = await makeTone('recording.wav', 1);
    fake.transcriptionDefault = () => ({ status: 200, body: verbose([{ start: 0, end: 1, text: 'Tone.' }]) });
    const result = await new OpenAiTranscriber({ apiKey: API_KEY, baseUrl }).transcribe({ file, filename: 'recording.mkv', contentType: 'video/x-matroska' });
    const requests = fake.transcriptions();
    expect(requests).toHaveLength(1);
    expect((requests[0]!.form!.get('file') as File).name).toBe('recording-part-001.mp3');
    expect(result.segments).toEqual([{ start_ms: 0, end_ms: 1000, text: 'Tone.', avg_logprob: -0.2 }]);
  });
});

describe('splitAudio', () => {
  it('when a recording is split, then chunks are mono mp3 files with their offsets, removed by cleanup', async () => {
    const file = await makeTone('tone.wav', 6);
    const split = await splitAudio(file, { chunkSeconds: 2, tmpDir: dir });
    expect(split.chunks).toHaveLength(3);
    expect(split.chunks[0]!.offsetMs).toBe(0);
    expect(Math.abs(split.chunks[1]!.offsetMs - 2_000)).toBeLessThanOrEqual(100);
    expect(Math.abs(split.chunks[2]!.offsetMs - 4_000)).toBeLessThanOrEqual(100);
    for (const c of split.chunks) expect(existsSync(c.path)).toBe(true);
    await split.cleanup();
    expect(existsSync(split.dir)).toBe(false);
  });

  it('when the input is not audio, then it fails and leaves no temporary folder', async () => {
    const file = await writeBytes('junk.wav', Buffer.from('not audio at all'));
    await expect(splitAudio(file, { chunkSeconds: 2, tmpDir: dir })).rejects.toThrow(/ffmpeg/);
    expect((await readdir(dir)).filter((n) => n.startsWith('rfy-audio-'))).toEqual([]);
  });
});

describe('OpenAiTourAnalyst', () => {
  const input: AnalysisInput = {
    property: { address: '12 Oak Street, Springfield', price: 450_000 },
    notes: [
      { timestamp_ms: 65_000, content: 'Love the kitchen', tag: 'kitchen', author_role: 'buyer' },
      { timestamp_ms: 130_000, content: 'Ask about HOA fees', tag: 'price', author_role: 'realtor' },
    ],
    transcript: {
      text: 'Welcome. This is the kitchen. What is the HOA fee?',
      segments: [
        { start_ms: 0, end_ms: 4_000, text: 'Welcome.' },
        { start_ms: 60_000, end_ms: 70_000, text: 'This is the kitchen.' },
        { start_ms: 120_000, end_ms: 125_000, text: 'What is the HOA fee?' },
      ],
    },
  };

  function userPrompt(req: Received): string {
    const messages = req.json!.messages as { role: string; content: string }[];
    return messages.find((m) => m.role === 'user')!.content;
  }

  it('when highlights are asked for, then the request uses a strict JSON schema and the reply is parsed and tied to transcript times', async () => {
    fake.chatReplies.push(
      chatReply(
        JSON.stringify({
          highlights: [
            { timestamp_ms: 121_500, type: 'question', note: 'Buyer asked about the HOA fee.' },
            { timestamp_ms: 61_000, type: 'feature', note: 'Newly fitted kitchen.' },
            { timestamp_ms: 65_000, type: 'feature', note: 'Buyer loves the kitchen.' },
            { timestamp_ms: 60_000, type: 'feature', note: 'Newly fitted kitchen.' },
            { timestamp_ms: 999_999, type: 'price', note: '  ' },
          ],
        }),
      ),
    );
    const analyst = new OpenAiTourAnalyst({ apiKey: API_KEY, baseUrl });
    expect(analyst.name).toBe('openai');

    const highlights = await analyst.highlights(input);

    const [req] = fake.chats();
    const body = req!.json!;
    expect(body.model).toBe('gpt-4o-mini');
    const format = body.response_format as SentResponseFormat;
    expect(format.type).toBe('json_schema');
    expect(format.json_schema.strict).toBe(true);
    expect(format.json_schema.name).toBe('tour_highlights');
    const item = format.json_schema.schema.properties?.highlights?.items;
    expect(item?.properties?.timestamp_ms?.type).toBe('integer');
    expect(item?.properties?.type?.enum).toEqual([...HIGHLIGHT_TYPES]);
    expect(item?.required).toEqual(['timestamp_ms', 'type', 'note']);
    expect(item?.additionalProperties).toBe(false);
    expect(format.json_schema.schema.additionalProperties).toBe(false);

    const prompt = userPrompt(req!);
    expect(prompt).toContain('12 Oak Street, Springfield');
    expect(prompt).toContain('$450,000');
    expect(prompt).toContain('[65000 ms, 01:05] buyer, tag "kitchen": Love the kitchen');
    expect(prompt).toContain('[120000-125000 ms, 02:00] What is the HOA fee?');

    expect(highlights).toEqual([
      { timestamp_ms: 60_000, type: 'feature', note: 'Newly fitted kitchen.' },
      { timestamp_ms: 65_000, type: 'feature', note: 'Buyer loves the kitchen.' },
      { timestamp_ms: 120_000, type: 'question', note: 'Buyer asked about the HOA fee.' },
    ]);
  });

  it('when a summary is asked for, then the request uses the summary schema and the reply is returned as AI generated', async () => {
    const reply = {
      overview: 'A short, positive tour of the house.',
      key_points: ['Kitchen is new', ' '],
      buyer_interest: 'High: loved the kitchen.',
      concerns: ['HOA fees unknown'],
      next_steps: ['Send HOA documents'],
    };
    fake.chatReplies.push(chatReply(JSON.stringify(reply), { model: 'gpt-4o-mini-2024-07-18' }));
    const analyst = new OpenAiTourAnalyst({ apiKey: API_KEY, baseUrl, chatModel: 'gpt-4o-mini' });

    const summary = await analyst.summarize({ ...input, highlights: [{ timestamp_ms: 60_000, type: 'feature', note: 'Newly fitted kitchen.' }] });

    const [req] = fake.chats();
    const format = req!.json!.response_format as SentResponseFormat;
    expect(format.type).toBe('json_schema');
    expect(format.json_schema.strict).toBe(true);
    expect(format.json_schema.name).toBe('tour_summary');
    expect(format.json_schema.schema.required).toEqual(['overview', 'key_points', 'buyer_interest', 'concerns', 'next_steps']);
    expect(userPrompt(req!)).toContain('[60000 ms, 01:00] feature: Newly fitted kitchen.');
    expect(summary).toEqual({
      overview: 'A short, positive tour of the house.',
      key_points: ['Kitchen is new'],
      buyer_interest: 'High: loved the kitchen.',
      concerns: ['HOA fees unknown'],
      next_steps: ['Send HOA documents'],
      ai_generated: true,
      model: 'gpt-4o-mini-2024-07-18',
    });
  });

  it('when the reply is not JSON, then it is an error', async () => {
    fake.chatReplies.push(chatReply('Sure! Here are the highlights: kitchen'));
    await expect(new OpenAiTourAnalyst({ apiKey: API_KEY, baseUrl }).highlights(input)).rejects.toThrow(/not JSON/);
  });

  it('when the reply does not match the schema, then it is an error', async () => {
    fake.chatReplies.push(chatReply(JSON.stringify({ highlights: [{ timestamp_ms: 1, type: 'gossip', note: 'x' }] })));
    await expect(new OpenAiTourAnalyst({ apiKey: API_KEY, baseUrl }).highlights(input)).rejects.toThrow(/does not match its schema/);
    fake.chatReplies.push(chatReply(JSON.stringify({ overview: 'x' })));
    await expect(new OpenAiTourAnalyst({ apiKey: API_KEY, baseUrl }).summarize({ ...input, highlights: [] })).rejects.toThrow(/does not match its schema/);
  });

  it('when the model refuses, then the error is permanent', async () => {
    fake.chatReplies.push(chatReply(null, { refusal: 'I cannot help with that.' }));
    await expect(new OpenAiTourAnalyst({ apiKey: API_KEY, baseUrl }).summarize({ ...input, highlights: [] })).rejects.toBeInstanceOf(AiPermanentError);
  });

  it('when the chat request is refused with 400, then the error is permanent; with 429 it is retryable', async () => {
    fake.chatReplies.push(apiError(400), apiError(429));
    const analyst = new OpenAiTourAnalyst({ apiKey: API_KEY, baseUrl });
    await expect(analyst.highlights(input)).rejects.toBeInstanceOf(AiPermanentError);
    const err = await analyst.highlights(input).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect(err).not.toBeInstanceOf(AiPermanentError);
  });

  it('when there are neither notes nor a transcript, then no request is made and there are no highlights', async () => {
    const analyst = new OpenAiTourAnalyst({ apiKey: API_KEY, baseUrl });
    expect(await analyst.highlights({ ...input, notes: [], transcript: null })).toEqual([]);
    expect(fake.received).toHaveLength(0);
  });

  it('when the transcript is very long, then the prompt is shortened evenly over the tour', async () => {
    const segments = Array.from({ length: 400 }, (_, i) => ({ start_ms: i * 10_000, end_ms: i * 10_000 + 9_000, text: `Segment number ${i} ${'blah '.repeat(30)}` }));
    fake.chatReplies.push(chatReply(JSON.stringify({ highlights: [{ timestamp_ms: 3_990_000, type: 'feature', note: 'End.' }] })));
    const analyst = new OpenAiTourAnalyst({ apiKey: API_KEY, baseUrl, maxTranscriptChars: 5_000 });

    const highlights = await analyst.highlights({ ...input, notes: [], transcript: { text: '', segments } });

    const prompt = userPrompt(fake.chats()[0]!);
    const transcriptPart = prompt.slice(prompt.indexOf('Transcript segments'));
    expect(transcriptPart.length).toBeLessThan(6_000);
    expect(transcriptPart).toMatch(/shortened to \d+ of 400 segments/);
    expect(transcriptPart).toContain('Segment number 0 ');
    expect(transcriptPart).toMatch(/Segment number 3[5-9]\d /);
    expect(highlights).toEqual([{ timestamp_ms: 3_990_000, type: 'feature', note: 'End.' }]);
  });
});
