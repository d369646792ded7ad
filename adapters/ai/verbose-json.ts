import { z } from 'zod';
import type { TranscriptSegment, TranscriptWord } from './port';

/**
 * Whisper's `verbose_json` transcription reply, as OpenAI (and compatible servers) send it
 * and as the local faster-whisper process writes it: both transcribers turn it into
 * segments and a confidence here, so everything after transcription is one path.
 */

/** What a reply must hold; compatible servers may leave out the rest. */
export const verboseTranscriptionSchema = z.object({
  text: z.string(),
  language: z.string().nullish(),
  duration: z.number().nullish(),
  segments: z
    .array(
      z.object({
        start: z.number(),
        end: z.number(),
        text: z.string(),
        avg_logprob: z.number().nullish(),
      }),
    )
    .nullish(),
  /** Top level, as OpenAI sends them with `timestamp_granularities: ['word']`. */
  words: z.array(z.object({ word: z.string(), start: z.number(), end: z.number() })).nullish(),
});

export type VerboseTranscription = z.infer<typeof verboseTranscriptionSchema>;

/** One reply (one chunk of a recording) in our terms. */
export interface VerbosePart {
  text: string;
  segments: TranscriptSegment[];
  logprobs: number[];
  language: string | null;
}

const ms = (seconds: number) => Math.round(seconds * 1000);

/** Parses a reply; `offsetMs` is where its audio starts in the whole recording. */
export function fromVerboseJson(reply: unknown, offsetMs: number): VerbosePart {
  const parsed = verboseTranscriptionSchema.safeParse(reply);
  if (!parsed.success) throw new Error(`unexpected transcription reply: ${parsed.error.message}`);
  const body = parsed.data;
  const text = body.text.trim();
  const segments: TranscriptSegment[] = [];
  const logprobs: number[] = [];
  for (const s of body.segments ?? []) {
    const segText = s.text.trim();
    if (!segText) continue;
    const start = offsetMs + Math.max(0, ms(s.start));
    const end = Math.max(start, offsetMs + ms(s.end));
    const segment: TranscriptSegment = { start_ms: start, end_ms: end, text: segText };
    if (typeof s.avg_logprob === 'number') {
      segment.avg_logprob = s.avg_logprob;
      logprobs.push(s.avg_logprob);
    }
    segments.push(segment);
  }
  // Without segments the text still needs a place in time for highlights.
  if (segments.length === 0 && text) {
    const end = offsetMs + Math.max(0, ms(body.duration ?? 0));
    segments.push({ start_ms: offsetMs, end_ms: end, text });
  }
  attachWords(segments, body.words ?? [], offsetMs);
  return { text, segments, logprobs, language: body.language ?? null };
}

/** Each word goes to the last segment that starts at or before it (segments are in time order). */
function attachWords(segments: TranscriptSegment[], words: NonNullable<VerboseTranscription['words']>, offsetMs: number): void {
  if (segments.length === 0) return;
  let i = 0;
  for (const w of words) {
    const word = w.word.trim();
    if (!word) continue;
    const start = offsetMs + Math.max(0, ms(w.start));
    while (i + 1 < segments.length && segments[i + 1]!.start_ms <= start) i++;
    const out: TranscriptWord = { start_ms: start, end_ms: Math.max(start, offsetMs + ms(w.end)), word };
    (segments[i]!.words ??= []).push(out);
  }
}

/** Mean token probability of the segments (exp of each average log-probability), 0..1. */
export function confidenceFrom(logprobs: number[]): number | null {
  if (logprobs.length === 0) return null;
  const mean = logprobs.reduce((sum, lp) => sum + Math.exp(lp), 0) / logprobs.length;
  if (!Number.isFinite(mean)) return null;
  return Math.min(1, Math.max(0, Math.round(mean * 10_000) / 10_000));
}
