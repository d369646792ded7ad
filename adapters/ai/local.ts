import {
  HIGHLIGHT_TYPES,
  type AnalysisInput,
  type HighlightDraft,
  type HighlightType,
  type TourAnalyst,
  type TourNoteInput,
  type TourSummary,
} from './port';

/**
 * The local tour analyst, used when ANALYSIS_PROVIDER is local: a real, deterministic,
 * extractive one. Highlights are the people's notes plus the transcript sentences that
 * match keyword rules, and the summary is assembled from them. Same input, same output.
 * (Local transcription is faster-whisper: local-whisper.ts.)
 */

export const LOCAL_ANALYST_MODEL = 'local-extractive';

const MAX_HIGHLIGHTS = 100;
const MAX_NOTE_CHARS = 280;
const MAX_KEY_POINTS = 5;
const MAX_LIST_ITEMS = 10;

/**
 * Keyword rules, tried in this order: a sentence about making an offer is a next step
 * before it is about price; a question about damp is a concern before it is a question.
 */
const RULES: { type: HighlightType; test: (s: string) => boolean }[] = [
  {
    type: 'next_step',
    test: words(['follow up', 'follow-up', 'following up', 'next step', 'next steps', 'schedule', 'scheduled', 'send', 'sending', 'call back', 'call me back', 'second viewing', 'second visit', 'make an offer', 'making an offer']),
  },
  {
    type: 'concern',
    test: words(['concern', 'concerns', 'concerned', 'concerning', 'worried', 'worry', 'worries', 'problem', 'problems', 'issue', 'issues', 'noise', 'noisy', 'damp', 'dampness', 'crack', 'cracks', 'cracked', 'leak', 'leaks', 'leaking', 'leaky', 'old']),
  },
  {
    type: 'price',
    test: (s) => s.includes('$') || words(['price', 'prices', 'priced', 'pricing', 'budget', 'offer', 'offers', 'cost', 'costs', 'afford', 'affordable'])(s),
  },
  { type: 'question', test: (s) => s.trimEnd().endsWith('?') },
  {
    type: 'feature',
    test: words(['kitchen', 'kitchens', 'garden', 'gardens', 'pool', 'bedroom', 'bedrooms', 'bathroom', 'bathrooms', 'view', 'views', 'light', 'natural light', 'garage', 'balcony', 'terrace', 'fireplace', 'basement', 'attic', 'yard', 'patio', 'living room', 'dining room', 'closet', 'storage', 'parking']),
  },
];

/** Tags people commonly use, mapped to a highlight type. */
const TAG_TYPES: Record<string, HighlightType> = {
  price: 'price', pricing: 'price', cost: 'price', costs: 'price', budget: 'price', offer: 'price',
  feature: 'feature', features: 'feature',
  concern: 'concern', concerns: 'concern', issue: 'concern', issues: 'concern', problem: 'concern',
  question: 'question', questions: 'question',
  next_step: 'next_step', next_steps: 'next_step', nextstep: 'next_step', nextsteps: 'next_step', follow_up: 'next_step', followup: 'next_step', todo: 'next_step',
};

const POSITIVE_WORDS = words([
  'love', 'loved', 'loves', 'like', 'liked', 'likes', 'great', 'beautiful', 'perfect', 'amazing', 'nice', 'lovely',
  'interested', 'excellent', 'wonderful', 'spacious', 'bright', 'gorgeous', 'stunning', 'fantastic', 'impressed', 'charming', 'cozy', 'cosy',
]);

/** A matcher for whole words or phrases, case-insensitive. */
function words(list: string[]): (s: string) => boolean {
  const escaped = list.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/[ -]/g, '[\\s-]+'));
  const re = new RegExp(`(?<![\\p{L}\\p{N}])(?:${escaped.join('|')})(?![\\p{L}\\p{N}])`, 'iu');
  return (s) => re.test(s);
}

/** The first matching rule's type, or null when nothing matches. */
export function classifySentence(sentence: string): HighlightType | null {
  for (const rule of RULES) if (rule.test(sentence)) return rule.type;
  return null;
}

/** A tag that names a highlight type (loosely: case, spaces, dashes, a leading #). */
export function typeForTag(tag: string | null): HighlightType | null {
  if (!tag) return null;
  const key = tag.trim().toLowerCase().replace(/^#/, '').replace(/[\s-]+/g, '_');
  return TAG_TYPES[key] ?? null;
}

function splitSentences(text: string): string[] {
  return text
    .replace(/\s+/g, ' ')
    .split(/(?<=[.!?])\s+/)
    .map((s) => s.trim())
    .filter((s) => /[\p{L}\p{N}$]/u.test(s));
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1).trimEnd()}…`;
}

function normalize(s: string): string {
  return s.toLowerCase().replace(/[^\p{L}\p{N}$]+/gu, ' ').trim();
}

function clock(ms: number): string {
  const total = Math.floor(Math.max(0, ms) / 1000);
  const h = Math.floor(total / 3600);
  const mm = String(Math.floor((total % 3600) / 60)).padStart(2, '0');
  const ss = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function formatPrice(price: number): string {
  return new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 0, maximumFractionDigits: 2 }).format(price);
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

const TYPE_RANK = new Map<HighlightType, number>(HIGHLIGHT_TYPES.map((t, i) => [t, i]));

/** Timestamp, then type, then text: a total order, so input order never shows. */
function compareHighlights(a: HighlightDraft, b: HighlightDraft): number {
  return (
    a.timestamp_ms - b.timestamp_ms ||
    (TYPE_RANK.get(a.type) ?? 0) - (TYPE_RANK.get(b.type) ?? 0) ||
    (a.note < b.note ? -1 : a.note > b.note ? 1 : 0)
  );
}

function noteHighlight(note: TourNoteInput): HighlightDraft | null {
  const text = oneLine(note.content);
  if (!text) return null;
  // A tag is the person's own classification; a tag that names no type still marks
  // something they chose to note (a room, a fitting): a feature. Untagged notes are
  // classified like transcript sentences.
  const type = note.tag?.trim() ? (typeForTag(note.tag) ?? 'feature') : (classifySentence(text) ?? 'feature');
  return { timestamp_ms: Math.max(0, Math.round(note.timestamp_ms)), type, note: truncate(text, MAX_NOTE_CHARS) };
}

export class LocalTourAnalyst implements TourAnalyst {
  readonly name = 'local' as const;

  highlights(input: AnalysisInput): Promise<HighlightDraft[]> {
    return Promise.resolve(extractHighlights(input));
  }

  summarize(input: AnalysisInput & { highlights: HighlightDraft[] }): Promise<TourSummary> {
    return Promise.resolve(buildSummary(input));
  }
}

export function extractHighlights(input: AnalysisInput): HighlightDraft[] {
  const candidates: HighlightDraft[] = [];
  for (const note of input.notes) {
    const h = noteHighlight(note);
    if (h) candidates.push(h);
  }
  for (const segment of input.transcript?.segments ?? []) {
    for (const sentence of splitSentences(segment.text)) {
      const type = classifySentence(sentence);
      if (type) candidates.push({ timestamp_ms: Math.max(0, Math.round(segment.start_ms)), type, note: truncate(sentence, MAX_NOTE_CHARS) });
    }
  }
  candidates.sort(compareHighlights);
  // The same remark (said and noted, or repeated) is kept once, at its first time.
  const seen = new Set<string>();
  const out: HighlightDraft[] = [];
  for (const h of candidates) {
    const key = `${h.type}|${normalize(h.note)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(h);
  }
  return out.slice(0, MAX_HIGHLIGHTS);
}

function uniqueNotes(highlights: HighlightDraft[], type: HighlightType): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const h of highlights) {
    if (h.type !== type) continue;
    const key = normalize(h.note);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(h.note);
  }
  return out.slice(0, MAX_LIST_ITEMS);
}

/** One highlight of each type first (in port order), then the earliest others; shown in time order. */
function keyPoints(highlights: HighlightDraft[]): string[] {
  const sorted = [...highlights].sort(compareHighlights);
  const picked = new Set<HighlightDraft>();
  for (const type of HIGHLIGHT_TYPES) {
    const first = sorted.find((h) => h.type === type);
    if (first && picked.size < MAX_KEY_POINTS) picked.add(first);
  }
  for (const h of sorted) {
    if (picked.size >= MAX_KEY_POINTS) break;
    picked.add(h);
  }
  return sorted.filter((h) => picked.has(h)).map((h) => `${clock(h.timestamp_ms)} ${h.type.replace('_', ' ')}: ${h.note}`);
}

function buyerInterest(input: AnalysisInput & { highlights: HighlightDraft[] }): string {
  const buyerNotes = input.notes.filter((n) => n.author_role === 'buyer' && oneLine(n.content));
  const positives = buyerNotes.filter((n) => POSITIVE_WORDS(n.content));
  const worries = buyerNotes.filter((n) => {
    const t = typeForTag(n.tag);
    return t === 'concern' || (!t && classifySentence(n.content) === 'concern');
  });
  const transcriptPositives = (input.transcript?.segments ?? []).filter((s) => POSITIVE_WORDS(s.text)).length;
  const nextSteps = input.highlights.filter((h) => h.type === 'next_step').length;

  if (buyerNotes.length === 0 && transcriptPositives === 0 && nextSteps === 0) {
    return 'Unknown: the buyer took no notes and nothing in the tour shows their interest.';
  }
  const score = positives.length * 2 + transcriptPositives + nextSteps * 2 - worries.length * 2;
  const level = score >= 4 ? 'High' : score >= 1 ? 'Moderate' : 'Low';
  const reasons: string[] = [];
  if (buyerNotes.length) {
    reasons.push(`${plural(buyerNotes.length, 'buyer note')}, ${positives.length} positive and ${plural(worries.length, 'concern')}`);
  }
  if (transcriptPositives) reasons.push(`${plural(transcriptPositives, 'positive remark')} in the conversation`);
  if (nextSteps) reasons.push(`${plural(nextSteps, 'next step')} discussed`);
  const example = positives[0] ? ` For example: "${truncate(oneLine(positives[0].content), 120)}"` : '';
  return `${level}: ${reasons.join('; ')}.${example}`;
}

function overview(input: AnalysisInput & { highlights: HighlightDraft[] }): string {
  const { property, notes, transcript, highlights } = input;
  const price = property.price === null ? '' : ` (listed at ${formatPrice(property.price)})`;
  const buyer = notes.filter((n) => n.author_role === 'buyer').length;
  const realtor = notes.length - buyer;
  const parts: string[] = [];
  parts.push(`Tour of ${oneLine(property.address) || 'the property'}${price}.`);
  parts.push(notes.length ? `${plural(notes.length, 'note')} taken (${buyer} by the buyer, ${realtor} by the realtor).` : 'No notes were taken.');
  const segments = transcript?.segments ?? [];
  if (segments.length) {
    const end = Math.max(...segments.map((s) => s.end_ms));
    parts.push(`The recording was transcribed (${plural(segments.length, 'segment')}, about ${clock(end)}).`);
  } else if (transcript?.text.trim()) {
    parts.push('The recording was transcribed.');
  } else {
    parts.push('No transcript is available.');
  }
  if (highlights.length) {
    const counts = HIGHLIGHT_TYPES.map((t) => [t, highlights.filter((h) => h.type === t).length] as const)
      .filter(([, n]) => n > 0)
      .map(([t, n]) => plural(n, t.replace('_', ' '), t === 'next_step' ? 'next steps' : `${t}s`));
    parts.push(`${plural(highlights.length, 'highlight')}: ${counts.join(', ')}.`);
  } else {
    parts.push('No highlights stood out.');
  }
  return parts.join(' ');
}

export function buildSummary(input: AnalysisInput & { highlights: HighlightDraft[] }): TourSummary {
  return {
    overview: overview(input),
    key_points: keyPoints(input.highlights),
    buyer_interest: buyerInterest(input),
    concerns: uniqueNotes([...input.highlights].sort(compareHighlights), 'concern'),
    next_steps: uniqueNotes([...input.highlights].sort(compareHighlights), 'next_step'),
    ai_generated: true,
    model: LOCAL_ANALYST_MODEL,
  };
}
