import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { buildWorkerAdapters } from '../../adapters';
import { LocalTourAnalyst, classifySentence, typeForTag } from '../../adapters/ai/local';
import { LocalWhisperTranscriber } from '../../adapters/ai/local-whisper';
import { OpenAiTourAnalyst, OpenAiTranscriber } from '../../adapters/ai/openai';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import type { AnalysisInput, TourNoteInput, TranscriptSegment } from '../../adapters/ai/port';

const analyst = new LocalTourAnalyst();

function note(timestamp_ms: number, content: string, tag: string | null = null, author_role: 'buyer' | 'realtor' = 'buyer'): TourNoteInput {
  return { timestamp_ms, content, tag, author_role };
}

function seg(start_ms: number, text: string, end_ms = start_ms + 5_000): TranscriptSegment {
  return { start_ms, end_ms, text };
}

function input(parts: Partial<AnalysisInput> = {}): AnalysisInput {
  return { property: { address: '12 Oak Street, Springfield', price: 450_000 }, notes: [], transcript: null, ...parts };
}

const richInput = input({
  notes: [
    note(65_000, 'Love the kitchen, so much light', 'kitchen'),
    note(120_000, 'Ask about the HOA fees', 'price'),
    note(200_000, 'Damp patch in the basement', null),
    note(300_000, 'Send the floor plans', 'next step', 'realtor'),
  ],
  transcript: {
    text: '',
    segments: [
      seg(0, 'Welcome to the house. The asking price is $450,000.'),
      seg(30_000, 'Is the boiler included? We are worried about the noise from the road.'),
      seg(90_000, 'The garden faces south. Nice weather today'),
      seg(150_000, 'I will schedule a second viewing for Saturday.'),
    ],
  },
});

describe('choosing the AI adapters', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'rfy-ai-choice-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  function adaptersFor(env: Record<string, string>) {
    const config = loadConfig({ ...process.env, DATA_DIR: dataDir, ...env });
    // Building adapters opens no connection: the knex handle is only used when mail is sent.
    return buildWorkerAdapters(config, {} as Knex, createLogger(config, 'test'));
  }

  it('when AI_PROVIDER is local, then recordings are transcribed by the local faster-whisper process and analysed locally', () => {
    const { transcriber, analyst } = adaptersFor({ AI_PROVIDER: 'local' });
    expect(transcriber).toBeInstanceOf(LocalWhisperTranscriber);
    expect(transcriber).toMatchObject({ name: 'local', configured: true });
    expect(analyst).toBeInstanceOf(LocalTourAnalyst);
  });

  it('when only TRANSCRIPTION_PROVIDER is openai, then transcription uses OpenAI and analysis stays local', () => {
    const { transcriber, analyst } = adaptersFor({ AI_PROVIDER: 'local', TRANSCRIPTION_PROVIDER: 'openai', OPENAI_API_KEY: 'sk-test' });
    expect(transcriber).toBeInstanceOf(OpenAiTranscriber);
    expect(analyst).toBeInstanceOf(LocalTourAnalyst);
  });

  it('when only ANALYSIS_PROVIDER is openai, then transcription stays local', () => {
    const { transcriber, analyst } = adaptersFor({ AI_PROVIDER: 'local', ANALYSIS_PROVIDER: 'openai', OPENAI_API_KEY: 'sk-test' });
    expect(transcriber).toBeInstanceOf(LocalWhisperTranscriber);
    expect(analyst).toBeInstanceOf(OpenAiTourAnalyst);
  });
});

describe('classifySentence', () => {
  it.each([
    ['The asking price is $450,000.', 'price'],
    ['What is your budget', 'price'],
    ['It would cost a lot to redo the floors', 'price'],
    ['We can afford it', 'price'],
    ['There is a crack in the ceiling', 'concern'],
    ['The windows leak when it rains', 'concern'],
    ['The roof is old', 'concern'],
    ['Any issue with the neighbours?', 'concern'],
    ['How many square feet is it?', 'question'],
    ['Can we book a second viewing?', 'next_step'],
    ['I will follow up tomorrow', 'next_step'],
    ['We would like to make an offer', 'next_step'],
    ['Please call back on Monday', 'next_step'],
    ['The kitchen was redone last year', 'feature'],
    ['Three bedrooms upstairs', 'feature'],
    ['Great view from the balcony', 'feature'],
    ['The weather is nice today', null],
  ])('when the sentence is "%s", then it is %s', (sentence, type) => {
    expect(classifySentence(sentence)).toBe(type);
  });

  it('when a keyword is only part of a longer word, then it does not match', () => {
    expect(classifySentence('A golden household')).toBeNull();
    expect(classifySentence('Delightful')).toBeNull();
  });
});

describe('typeForTag', () => {
  it.each([
    ['price', 'price'],
    ['Concern', 'concern'],
    ['#question', 'question'],
    ['next step', 'next_step'],
    ['next-step', 'next_step'],
    ['feature', 'feature'],
    ['kitchen', null],
    [null, null],
  ])('when the tag is %p, then the type is %p', (tag, type) => {
    expect(typeForTag(tag)).toBe(type);
  });
});

describe('LocalTourAnalyst.highlights', () => {
  it('when notes and a transcript are given, then notes and matching sentences become highlights in time order', async () => {
    const highlights = await analyst.highlights(richInput);
    expect(highlights).toEqual([
      { timestamp_ms: 0, type: 'price', note: 'The asking price is $450,000.' },
      { timestamp_ms: 30_000, type: 'concern', note: 'We are worried about the noise from the road.' },
      { timestamp_ms: 30_000, type: 'question', note: 'Is the boiler included?' },
      { timestamp_ms: 65_000, type: 'feature', note: 'Love the kitchen, so much light' },
      { timestamp_ms: 90_000, type: 'feature', note: 'The garden faces south.' },
      { timestamp_ms: 120_000, type: 'price', note: 'Ask about the HOA fees' },
      { timestamp_ms: 150_000, type: 'next_step', note: 'I will schedule a second viewing for Saturday.' },
      { timestamp_ms: 200_000, type: 'concern', note: 'Damp patch in the basement' },
      { timestamp_ms: 300_000, type: 'next_step', note: 'Send the floor plans' },
    ]);
  });

  it('when a note has a tag that names no type, then it is a feature at the note time', async () => {
    const highlights = await analyst.highlights(input({ notes: [note(5_000, 'Is the oven included?', 'appliances')] }));
    expect(highlights).toEqual([{ timestamp_ms: 5_000, type: 'feature', note: 'Is the oven included?' }]);
  });

  it('when a note is untagged, then its content is classified, falling back to feature', async () => {
    const highlights = await analyst.highlights(
      input({ notes: [note(1_000, 'Is the oven included?'), note(2_000, 'Cute mailbox')] }),
    );
    expect(highlights).toEqual([
      { timestamp_ms: 1_000, type: 'question', note: 'Is the oven included?' },
      { timestamp_ms: 2_000, type: 'feature', note: 'Cute mailbox' },
    ]);
  });

  it('when a remark is both said and noted, or repeated, then it is kept once at its first time', async () => {
    const highlights = await analyst.highlights(
      input({
        notes: [note(40_000, 'The garden faces south!', 'feature')],
        transcript: { text: '', segments: [seg(10_000, 'The garden faces south.'), seg(50_000, 'the garden faces south')] },
      }),
    );
    expect(highlights).toEqual([{ timestamp_ms: 10_000, type: 'feature', note: 'The garden faces south.' }]);
  });

  it('when a transcript sentence matches no rule, then it is not a highlight', async () => {
    const highlights = await analyst.highlights(input({ transcript: { text: 'Hello there.', segments: [seg(0, 'Hello there. Nice weather.')] } }));
    expect(highlights).toEqual([]);
  });

  it('when the input is empty, then there are no highlights', async () => {
    expect(await analyst.highlights(input())).toEqual([]);
    expect(await analyst.highlights(input({ notes: [note(0, '   ')], transcript: { text: '', segments: [] } }))).toEqual([]);
  });

  it('when the same input is given twice, or in another order, then the output is the same', async () => {
    const first = await analyst.highlights(richInput);
    const again = await new LocalTourAnalyst().highlights(structuredClone(richInput));
    const reordered = await analyst.highlights({ ...richInput, notes: [...richInput.notes].reverse() });
    expect(again).toEqual(first);
    expect(reordered).toEqual(first);
  });
});

describe('LocalTourAnalyst.summarize', () => {
  it('when highlights exist, then the summary is assembled from the property, counts and highlights', async () => {
    const highlights = await analyst.highlights(richInput);
    const summary = await analyst.summarize({ ...richInput, highlights });
    expect(summary.ai_generated).toBe(true);
    expect(summary.model).toBe('local-extractive');
    expect(summary.overview).toContain('12 Oak Street, Springfield');
    expect(summary.overview).toContain('$450,000');
    expect(summary.overview).toContain('4 notes taken (3 by the buyer, 1 by the realtor)');
    expect(summary.overview).toContain('9 highlights: 2 prices, 2 features, 2 concerns, 1 question, 2 next steps');
    expect(summary.key_points).toHaveLength(5);
    // One of each type is represented, in time order.
    expect(summary.key_points[0]).toBe('00:00 price: The asking price is $450,000.');
    expect(summary.key_points.some((p) => p.includes('next step: I will schedule a second viewing'))).toBe(true);
    expect(summary.concerns).toEqual(['We are worried about the noise from the road.', 'Damp patch in the basement']);
    expect(summary.next_steps).toEqual(['I will schedule a second viewing for Saturday.', 'Send the floor plans']);
    expect(summary.buyer_interest).toMatch(/^High: 3 buyer notes, 1 positive and 1 concern/);
    expect(summary.buyer_interest).toContain('Love the kitchen');
  });

  it('when the buyer mostly notes concerns, then interest is low', async () => {
    const i = input({ notes: [note(0, 'Crack in the wall'), note(1_000, 'Leaky roof', 'concern')] });
    const summary = await analyst.summarize({ ...i, highlights: await analyst.highlights(i) });
    expect(summary.buyer_interest).toMatch(/^Low:/);
    expect(summary.concerns).toEqual(['Crack in the wall', 'Leaky roof']);
  });

  it('when the input is empty, then the summary says so', async () => {
    const summary = await analyst.summarize({ ...input({ property: { address: '1 Elm Road', price: null } }), highlights: [] });
    expect(summary).toEqual({
      overview: 'Tour of 1 Elm Road. No notes were taken. No transcript is available. No highlights stood out.',
      key_points: [],
      buyer_interest: 'Unknown: the buyer took no notes and nothing in the tour shows their interest.',
      concerns: [],
      next_steps: [],
      ai_generated: true,
      model: 'local-extractive',
    });
  });

  it('when the same input is given twice, then the summary is the same', async () => {
    const highlights = await analyst.highlights(richInput);
    const a = await analyst.summarize({ ...richInput, highlights });
    const b = await analyst.summarize(structuredClone({ ...richInput, highlights }));
    expect(b).toEqual(a);
  });
});
