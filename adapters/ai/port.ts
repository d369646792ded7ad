/**
 * The transcription and tour-analysis ports: OpenAI (Whisper and a chat model with JSON
 * schema output; any OpenAI-compatible server through OPENAI_BASE_URL), or a local
 * implementation: faster-whisper in a long-lived child process, and deterministic
 * extractive highlights and summary from the notes and whatever transcript exists.
 */

export interface TranscriptWord {
  start_ms: number;
  end_ms: number;
  word: string;
}

export interface TranscriptSegment {
  start_ms: number;
  end_ms: number;
  text: string;
  /** Whisper's average token log-probability of the segment, when the provider gives it. */
  avg_logprob?: number;
  /** Word timings, when the provider gives them. */
  words?: TranscriptWord[];
}

export interface Transcription {
  text: string;
  segments: TranscriptSegment[];
  /** 0..1, or null when the provider gives no measure. */
  confidence: number | null;
  language: string | null;
  model: string;
}

/** How far a transcription has got, in seconds of the recording. */
export interface TranscriptionProgress {
  done_s: number;
  duration_s: number;
}

export interface TranscribeInput {
  /** A local path to the audio or video. */
  file: string;
  filename: string;
  contentType: string;
  /** Called while the work goes on (with progress when the provider knows it). */
  heartbeat?: (progress?: TranscriptionProgress) => void;
  /** Aborts the transcription (activity cancellation). */
  signal?: AbortSignal;
}

export interface TranscriptionProvider {
  readonly name: 'local' | 'openai';
  /** False when no transcription service is configured: the step is skipped. */
  readonly configured: boolean;
  transcribe(input: TranscribeInput): Promise<Transcription>;
  /** Checks what it needs before the worker takes work (e.g. the local model's hashes). */
  prepare?(): Promise<void>;
  /** Releases what it holds (e.g. the local transcription process). */
  close?(): Promise<void>;
}

export const HIGHLIGHT_TYPES = ['price', 'feature', 'concern', 'question', 'next_step'] as const;
export type HighlightType = (typeof HIGHLIGHT_TYPES)[number];

export interface HighlightDraft {
  timestamp_ms: number;
  type: HighlightType;
  note: string;
}

export interface TourNoteInput {
  timestamp_ms: number;
  content: string;
  tag: string | null;
  author_role: 'buyer' | 'realtor';
}

export interface AnalysisInput {
  property: { address: string; price: number | null };
  notes: TourNoteInput[];
  transcript: { text: string; segments: TranscriptSegment[] } | null;
}

export interface TourSummary {
  overview: string;
  key_points: string[];
  buyer_interest: string;
  concerns: string[];
  next_steps: string[];
  ai_generated: true;
  model: string;
}

export interface TourAnalyst {
  readonly name: 'local' | 'openai';
  highlights(input: AnalysisInput): Promise<HighlightDraft[]>;
  summarize(input: AnalysisInput & { highlights: HighlightDraft[] }): Promise<TourSummary>;
}

/** A request the provider refuses for good (4xx other than 408/429): not retried. */
export class AiPermanentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AiPermanentError';
  }
}
