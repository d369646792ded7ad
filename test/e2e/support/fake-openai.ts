import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local OpenAI-compatible server for tour processing: `POST /v1/audio/transcriptions`
 * (multipart, Whisper `verbose_json`) and `POST /v1/chat/completions` (Structured Outputs
 * for the `tour_highlights` and `tour_summary` schemas). A request is recorded when it
 * arrives, before any (possibly slow) answer, so a test can see work in flight.
 */

export const FAKE_OPENAI_KEY = 'sk-fake-tours';
export const FAKE_CHAT_MODEL = 'gpt-4o-mini-fake';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** Multipart requests, parsed as a server would. */
  form?: FormData;
  /** JSON requests. */
  json?: { model?: string; response_format?: { type: string; json_schema?: { name: string } }; messages?: Array<{ role: string; content: string }> };
  /** When it arrived (ms since the epoch). */
  receivedAt: number;
  /** When the answer was written; never set when the client had gone by then. */
  answered?: number;
}

export interface FakeReply {
  status: number;
  body: unknown;
  /** Milliseconds to wait before answering. */
  delayMs?: number;
}

export const TRANSCRIPT_SEGMENTS = [
  { start: 0, end: 2.5, text: ' Welcome to the house, the kitchen was redone last year.' },
  { start: 2.5, end: 5, text: ' We would like to schedule a second viewing next week.' },
];

export function verboseJson(segments = TRANSCRIPT_SEGMENTS) {
  return {
    task: 'transcribe',
    language: 'english',
    duration: segments.at(-1)?.end ?? 0,
    text: segments.map((s) => s.text.trim()).join(' '),
    segments: segments.map((s, id) => ({ id, seek: 0, start: s.start, end: s.end, text: s.text, tokens: [1, 2], temperature: 0, avg_logprob: -0.1, compression_ratio: 1.1, no_speech_prob: 0.01 })),
  };
}

function chatCompletion(content: unknown) {
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: FAKE_CHAT_MODEL,
    choices: [{ index: 0, message: { role: 'assistant', content: JSON.stringify(content), refusal: null }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
  };
}

export const FAKE_HIGHLIGHTS = [
  { timestamp_ms: 0, type: 'feature', note: 'The kitchen was redone last year.' },
  { timestamp_ms: 2500, type: 'next_step', note: 'The buyer wants a second viewing next week.' },
];

export const FAKE_SUMMARY = {
  overview: 'A short tour; the buyer liked the kitchen and wants to come back.',
  key_points: ['Kitchen redone last year'],
  buyer_interest: 'High: asked for a second viewing.',
  concerns: [],
  next_steps: ['Schedule a second viewing next week'],
};

export class FakeOpenAi {
  readonly received: ReceivedRequest[] = [];
  /** The n-th transcription request (1-based) is answered with this. */
  transcription: (n: number, form: FormData) => FakeReply = () => ({ status: 200, body: verboseJson() });
  chat: (schemaName: string) => FakeReply = (name) =>
    name === 'tour_highlights' ? { status: 200, body: chatCompletion({ highlights: FAKE_HIGHLIGHTS }) } : { status: 200, body: chatCompletion(FAKE_SUMMARY) };
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server = http.createServer((req, res) => void this.handle(req, res));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  transcriptions(): ReceivedRequest[] {
    return this.received.filter((r) => r.url === '/v1/audio/transcriptions');
  }

  chats(name?: string): ReceivedRequest[] {
    return this.received.filter((r) => r.url === '/v1/chat/completions' && (!name || r.json?.response_format?.json_schema?.name === name));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    res.on('error', () => undefined);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer);
    } catch {
      return; // the client went away mid-upload
    }
    const raw = Buffer.concat(chunks);
    const contentType = String(req.headers['content-type'] ?? '');
    const received: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, receivedAt: Date.now() };
    this.received.push(received);
    let reply: FakeReply;
    if (req.headers.authorization !== `Bearer ${FAKE_OPENAI_KEY}`) {
      reply = { status: 401, body: { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } } };
    } else if (req.method === 'POST' && req.url === '/v1/audio/transcriptions' && contentType.startsWith('multipart/form-data')) {
      received.form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
      reply = this.transcription(this.transcriptions().length, received.form);
    } else if (req.method === 'POST' && req.url === '/v1/chat/completions' && contentType.startsWith('application/json')) {
      received.json = JSON.parse(raw.toString('utf8')) as ReceivedRequest['json'];
      reply = this.chat(received.json?.response_format?.json_schema?.name ?? '');
    } else {
      reply = { status: 404, body: { error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error' } } };
    }
    if (reply.delayMs) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          resolve();
        }, reply.delayMs);
        this.timers.add(timer);
      });
    }
    if (res.destroyed || req.socket.destroyed) return;
    res.writeHead(reply.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(reply.body));
    received.answered = Date.now();
  }
}
