import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import OpenAI, { APIError, toFile } from 'openai';
import { z } from 'zod';
import { withAudioChunks } from './audio-chunks';
import { confidenceFrom, fromVerboseJson, type VerbosePart } from './verbose-json';
import {
  AiPermanentError,
  HIGHLIGHT_TYPES,
  type AnalysisInput,
  type HighlightDraft,
  type TourAnalyst,
  type TourSummary,
  type TranscribeInput,
  type TranscriptSegment,
  type Transcription,
  type TranscriptionProvider,
} from './port';

/**
 * OpenAI: Whisper (`verbose_json` with segment timestamps) for transcription and a chat
 * model with Structured Outputs (`json_schema`, strict) for highlights and the summary.
 * `baseUrl` (OPENAI_BASE_URL) reaches any OpenAI-compatible server.
 *
 * The client does not retry by default (`maxRetries: 0`): Temporal's activity retry owns
 * retries, and a refused request (4xx other than 408/429) becomes `AiPermanentError` so
 * the activity can fail it as non-retryable.
 */

export interface OpenAiOptions {
  apiKey: string;
  /** OPENAI_BASE_URL, e.g. http://127.0.0.1:8000/v1; defaults to the OpenAI API. */
  baseUrl?: string;
  transcriptionModel?: 'whisper-1';
  /** Defaults to gpt-4o-mini. */
  chatModel?: string;
  /** Per-request timeout; defaults to the client's own (10 minutes). */
  timeoutMs?: number;
  /** Retries inside the client; defaults to 0 (the caller retries). */
  maxRetries?: number;
  /** A ready client (tests, shared connection pools); the options above are then ignored. */
  client?: OpenAI;
}

export interface OpenAiTranscriberOptions extends OpenAiOptions {
  /** Larger files are split with ffmpeg; defaults to the API's 25 MB limit less a margin. */
  maxUploadBytes?: number;
  /** Length of each chunk of a split file; defaults to 10 minutes. */
  chunkSeconds?: number;
  /** Parent of the temporary chunk folder; defaults to the OS temp folder. */
  tmpDir?: string;
}

export interface OpenAiTourAnalystOptions extends OpenAiOptions {
  /** Characters of transcript put in a prompt; longer transcripts are shortened evenly. */
  maxTranscriptChars?: number;
}

const DEFAULT_CHAT_MODEL = 'gpt-4o-mini';
const TRANSCRIPTION_MODEL = 'whisper-1';
/** The API refuses uploads above 25 MB; the multipart envelope needs a little room. */
const DEFAULT_MAX_UPLOAD_BYTES = 25 * 1024 * 1024 - 256 * 1024;
const DEFAULT_CHUNK_SECONDS = 600;
const DEFAULT_MAX_TRANSCRIPT_CHARS = 48_000;
const MAX_NOTES_IN_PROMPT = 300;
const MAX_NOTE_CHARS = 500;
const MAX_HIGHLIGHTS = 40;
/** File types Whisper accepts as they are; anything else is re-encoded first. */
const WHISPER_EXTENSIONS = new Set(['.flac', '.m4a', '.mp3', '.mp4', '.mpeg', '.mpga', '.oga', '.ogg', '.wav', '.webm']);

export function createOpenAiClient(opts: OpenAiOptions): OpenAI {
  if (opts.client) return opts.client;
  if (!opts.apiKey) throw new Error('OpenAI needs an API key');
  return new OpenAI({
    apiKey: opts.apiKey,
    baseURL: opts.baseUrl,
    timeout: opts.timeoutMs,
    maxRetries: opts.maxRetries ?? 0,
  });
}

/**
 * A request the provider refuses for good becomes `AiPermanentError`; server errors,
 * 408, 429, timeouts and connection failures are rethrown as they are (retryable).
 */
export function classifyOpenAiError(err: unknown): unknown {
  if (err instanceof APIError && typeof err.status === 'number' && err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 429) {
    return new AiPermanentError(`OpenAI refused the request (${err.status}): ${err.message}`, { cause: err });
  }
  return err;
}

async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw classifyOpenAiError(err);
  }
}

// --- transcription ---------------------------------------------------------------------

export class OpenAiTranscriber implements TranscriptionProvider {
  readonly name = 'openai' as const;
  readonly configured = true;
  private readonly client: OpenAI;
  private readonly model: string;
  private readonly maxUploadBytes: number;
  private readonly chunkSeconds: number;
  private readonly tmpDir: string | undefined;

  constructor(opts: OpenAiTranscriberOptions) {
    this.client = createOpenAiClient(opts);
    this.model = opts.transcriptionModel ?? TRANSCRIPTION_MODEL;
    this.maxUploadBytes = opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
    this.chunkSeconds = opts.chunkSeconds ?? DEFAULT_CHUNK_SECONDS;
    this.tmpDir = opts.tmpDir;
  }

  async transcribe(input: TranscribeInput): Promise<Transcription> {
    const { size } = await stat(input.file);
    const supported = WHISPER_EXTENSIONS.has(path.extname(input.filename).toLowerCase());
    let parts: VerbosePart[];
    if (size <= this.maxUploadBytes && supported) {
      input.heartbeat?.();
      parts = [await this.transcribeOne(input.file, input.filename, input.contentType, 0, input.signal)];
    } else {
      const stem = path.basename(input.filename, path.extname(input.filename)) || 'recording';
      parts = await withAudioChunks(
        input.file,
        { chunkSeconds: this.chunkSeconds, tmpDir: this.tmpDir, heartbeat: input.heartbeat },
        async (chunks) => {
          const results: VerbosePart[] = [];
          for (const [i, chunk] of chunks.entries()) {
            input.heartbeat?.();
            const name = `${stem}-part-${String(i + 1).padStart(3, '0')}.mp3`;
            results.push(await this.transcribeOne(chunk.path, name, 'audio/mpeg', chunk.offsetMs, input.signal));
          }
          input.heartbeat?.();
          return results;
        },
      );
    }
    const logprobs = parts.flatMap((p) => p.logprobs);
    return {
      text: parts.map((p) => p.text).filter((t) => t.length > 0).join(' '),
      segments: parts.flatMap((p) => p.segments),
      confidence: confidenceFrom(logprobs),
      language: parts.find((p) => p.language)?.language ?? null,
      model: this.model,
    };
  }

  private async transcribeOne(file: string, filename: string, contentType: string, offsetMs: number, signal?: AbortSignal): Promise<VerbosePart> {
    // A File (not a stream) so the body can be sent again should the client retry.
    const upload = await toFile(createReadStream(file), filename, { type: contentType });
    const reply: unknown = await call(() =>
      this.client.audio.transcriptions.create({
        file: upload,
        model: this.model,
        response_format: 'verbose_json',
        timestamp_granularities: ['segment'],
      }, { signal }),
    );
    return fromVerboseJson(reply, offsetMs);
  }
}

// --- highlights and summary ------------------------------------------------------------

const HIGHLIGHTS_JSON_SCHEMA = {
  type: 'object',
  properties: {
    highlights: {
      type: 'array',
      description: `The most useful moments of the tour, at most ${MAX_HIGHLIGHTS}.`,
      items: {
        type: 'object',
        properties: {
          timestamp_ms: { type: 'integer', description: 'Milliseconds from the tour start; one of the times given in the input.' },
          type: { type: 'string', enum: [...HIGHLIGHT_TYPES] },
          note: { type: 'string', description: 'One short sentence for the buyer and realtor.' },
        },
        required: ['timestamp_ms', 'type', 'note'],
        additionalProperties: false,
      },
    },
  },
  required: ['highlights'],
  additionalProperties: false,
} as const;

const SUMMARY_JSON_SCHEMA = {
  type: 'object',
  properties: {
    overview: { type: 'string', description: 'Two to four sentences on how the tour went.' },
    key_points: { type: 'array', items: { type: 'string' }, description: 'The most important points, at most 8.' },
    buyer_interest: { type: 'string', description: "The buyer's level of interest and why, in one or two sentences." },
    concerns: { type: 'array', items: { type: 'string' } },
    next_steps: { type: 'array', items: { type: 'string' } },
  },
  required: ['overview', 'key_points', 'buyer_interest', 'concerns', 'next_steps'],
  additionalProperties: false,
} as const;

const highlightsReplySchema = z.object({
  highlights: z.array(
    z.object({
      timestamp_ms: z.number().int().nonnegative(),
      type: z.enum(HIGHLIGHT_TYPES),
      note: z.string(),
    }),
  ),
});

const summaryReplySchema = z.object({
  overview: z.string().trim().min(1),
  key_points: z.array(z.string()),
  buyer_interest: z.string(),
  concerns: z.array(z.string()),
  next_steps: z.array(z.string()),
});

const HIGHLIGHTS_SYSTEM_PROMPT = [
  'You analyse recorded real-estate property tours for the buyer and the realtor.',
  'From the notes people took during the tour and the transcript, pick the moments worth remembering.',
  'Types: "price" (asking price, budget, offers, costs), "feature" (rooms, fittings, garden, views and other qualities),',
  '"concern" (problems, defects, worries), "question" (questions asked that matter), "next_step" (follow-ups, second viewings, offers to make, documents to send).',
  'Every timestamp_ms must be one of the times given in the input (a transcript segment start or a note time).',
  'Each note is one short factual sentence in the language of the tour. Do not invent facts. Return an empty list when nothing stands out.',
].join(' ');

const SUMMARY_SYSTEM_PROMPT = [
  'You write the summary of a recorded real-estate property tour for the buyer and the realtor.',
  'Use only what the notes, transcript and highlights say; do not invent facts.',
  'overview: two to four sentences. key_points: at most 8 short points. buyer_interest: how interested the buyer seems and why.',
  'concerns and next_steps: short items, empty lists when there are none.',
].join(' ');

export class OpenAiTourAnalyst implements TourAnalyst {
  readonly name = 'openai' as const;
  private readonly client: OpenAI;
  private readonly model: string;
  private readonly maxTranscriptChars: number;

  constructor(opts: OpenAiTourAnalystOptions) {
    this.client = createOpenAiClient(opts);
    this.model = opts.chatModel ?? DEFAULT_CHAT_MODEL;
    this.maxTranscriptChars = opts.maxTranscriptChars ?? DEFAULT_MAX_TRANSCRIPT_CHARS;
  }

  async highlights(input: AnalysisInput): Promise<HighlightDraft[]> {
    const hasTranscript = !!input.transcript && (input.transcript.segments.length > 0 || input.transcript.text.trim().length > 0);
    if (input.notes.length === 0 && !hasTranscript) return [];
    const { content } = await this.complete('tour_highlights', HIGHLIGHTS_JSON_SCHEMA, HIGHLIGHTS_SYSTEM_PROMPT, this.describe(input));
    const reply = parseReply(content, highlightsReplySchema, 'highlights');
    const anchors = timeAnchors(input);
    const seen = new Set<string>();
    const drafts: HighlightDraft[] = [];
    for (const h of reply.highlights) {
      const note = h.note.trim();
      if (!note) continue;
      const timestamp_ms = snap(h.timestamp_ms, anchors);
      const key = `${timestamp_ms}|${h.type}|${note.toLowerCase()}`;
      if (seen.has(key)) continue;
      seen.add(key);
      drafts.push({ timestamp_ms, type: h.type, note });
    }
    drafts.sort((a, b) => a.timestamp_ms - b.timestamp_ms);
    return drafts.slice(0, MAX_HIGHLIGHTS);
  }

  async summarize(input: AnalysisInput & { highlights: HighlightDraft[] }): Promise<TourSummary> {
    const highlights = input.highlights.length
      ? ['Highlights already found (timestamp_ms, type: note):', ...input.highlights.map((h) => `- [${h.timestamp_ms} ms, ${clock(h.timestamp_ms)}] ${h.type}: ${h.note}`)]
      : ['Highlights already found: none.'];
    const prompt = `${this.describe(input)}\n\n${highlights.join('\n')}`;
    const { content, model } = await this.complete('tour_summary', SUMMARY_JSON_SCHEMA, SUMMARY_SYSTEM_PROMPT, prompt);
    const reply = parseReply(content, summaryReplySchema, 'summary');
    const list = (items: string[]) => items.map((s) => s.trim()).filter((s) => s.length > 0);
    return {
      overview: reply.overview.trim(),
      key_points: list(reply.key_points),
      buyer_interest: reply.buyer_interest.trim(),
      concerns: list(reply.concerns),
      next_steps: list(reply.next_steps),
      ai_generated: true,
      model,
    };
  }

  private async complete(name: string, schema: Record<string, unknown>, system: string, user: string): Promise<{ content: string; model: string }> {
    const completion = await call(() =>
      this.client.chat.completions.create({
        model: this.model,
        messages: [
          { role: 'system', content: system },
          { role: 'user', content: user },
        ],
        response_format: { type: 'json_schema', json_schema: { name, strict: true, schema } },
      }),
    );
    const message = completion.choices?.[0]?.message;
    if (message?.refusal) throw new AiPermanentError(`the model refused to write the ${name}: ${message.refusal}`);
    if (typeof message?.content !== 'string' || !message.content.trim()) throw new Error(`the model returned no ${name}`);
    const model = typeof completion.model === 'string' && completion.model ? completion.model : this.model;
    return { content: message.content, model };
  }

  /** The tour as the model reads it: property, notes, then the (possibly shortened) transcript. */
  private describe(input: AnalysisInput): string {
    const lines: string[] = [];
    lines.push(`Property: ${oneLine(input.property.address)}`);
    lines.push(`Asking price: ${input.property.price === null ? 'not listed' : formatPrice(input.property.price)}`);
    lines.push('');
    const notes = [...input.notes].sort((a, b) => a.timestamp_ms - b.timestamp_ms);
    if (notes.length === 0) {
      lines.push('Notes taken during the tour: none.');
    } else {
      const shown = notes.slice(0, MAX_NOTES_IN_PROMPT);
      lines.push(`Notes taken during the tour (timestamp_ms, author, tag: note)${shown.length < notes.length ? `, first ${shown.length} of ${notes.length}` : ''}:`);
      for (const n of shown) {
        const tag = n.tag ? `, tag "${oneLine(n.tag)}"` : '';
        lines.push(`- [${n.timestamp_ms} ms, ${clock(n.timestamp_ms)}] ${n.author_role}${tag}: ${truncate(oneLine(n.content), MAX_NOTE_CHARS)}`);
      }
    }
    lines.push('');
    lines.push(...this.describeTranscript(input.transcript));
    return lines.join('\n');
  }

  private describeTranscript(transcript: AnalysisInput['transcript']): string[] {
    if (!transcript) return ['Transcript: none (the tour was not transcribed).'];
    const segments = transcript.segments.filter((s) => s.text.trim());
    if (segments.length === 0) {
      const text = oneLine(transcript.text);
      if (!text) return ['Transcript: empty.'];
      return ['Transcript (no timestamps; it starts at 0 ms):', truncate(text, this.maxTranscriptChars)];
    }
    const shown = shortenSegments(segments, this.maxTranscriptChars);
    const header =
      shown.length < segments.length
        ? `Transcript segments (start_ms-end_ms: text), shortened to ${shown.length} of ${segments.length} segments spread over the tour:`
        : 'Transcript segments (start_ms-end_ms: text):';
    return [header, ...shown.map((s) => `- [${s.start_ms}-${s.end_ms} ms, ${clock(s.start_ms)}] ${s.text}`)];
  }
}

function parseReply<T>(content: string, schema: z.ZodType<T>, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(stripCodeFence(content));
  } catch (err) {
    throw new Error(`the model's ${what} reply is not JSON`, { cause: err });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new Error(`the model's ${what} reply does not match its schema: ${parsed.error.message}`);
  return parsed.data;
}

/** Some compatible servers wrap JSON in a Markdown fence despite the response format. */
function stripCodeFence(s: string): string {
  const m = /^\s*```[a-zA-Z]*\s*\n([\s\S]*?)\n?```\s*$/.exec(s);
  return m?.[1] ?? s;
}

/**
 * Times a highlight may sit at: transcript segment starts and note times (both moments of
 * the tour); 0 when the input has neither.
 */
function timeAnchors(input: AnalysisInput): number[] {
  const set = new Set<number>();
  for (const s of input.transcript?.segments ?? []) if (s.text.trim()) set.add(s.start_ms);
  for (const n of input.notes) set.add(n.timestamp_ms);
  if (set.size === 0) set.add(0);
  return [...set].sort((a, b) => a - b);
}

/** The nearest anchor; the earlier one on a tie. */
function snap(ms: number, anchors: number[]): number {
  let best = anchors[0] ?? 0;
  for (const a of anchors) if (Math.abs(a - ms) < Math.abs(best - ms)) best = a;
  return best;
}

/**
 * Fits the segments into `budget` characters: first each segment's text is cut to a fair
 * share, then, if still too long, segments are kept at an even stride so the whole tour
 * stays represented rather than only its beginning.
 */
function shortenSegments(segments: TranscriptSegment[], budget: number): TranscriptSegment[] {
  const LINE_OVERHEAD = 32;
  const MIN_TEXT = 80;
  const cost = (list: TranscriptSegment[]) => list.reduce((n, s) => n + s.text.length + LINE_OVERHEAD, 0);
  const clean = segments.map((s) => ({ ...s, text: oneLine(s.text) }));
  if (cost(clean) <= budget) return clean;
  const share = Math.max(MIN_TEXT, Math.floor(budget / clean.length) - LINE_OVERHEAD);
  const cut = clean.map((s) => ({ ...s, text: truncate(s.text, share) }));
  if (cost(cut) <= budget) return cut;
  const keep = Math.max(1, Math.floor(budget / (share + LINE_OVERHEAD)));
  const stride = cut.length / keep;
  const picked: TranscriptSegment[] = [];
  for (let i = 0; i < keep; i++) {
    const s = cut[Math.floor(i * stride)];
    if (s) picked.push(s);
  }
  return picked;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1)).trimEnd()}…`;
}

function clock(ms: number): string {
  const total = Math.floor(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function formatPrice(price: number): string {
  return new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 0, maximumFractionDigits: 2 }).format(price);
}
