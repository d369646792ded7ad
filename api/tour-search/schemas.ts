import { z } from 'zod';
import { TOUR_SEARCH_KINDS } from '../../db/repositories/tour-search.repository';
import { TOUR_STATUSES } from '../../contracts/tours';
import { paginationQuery } from '../pagination';
import { isoDateTime, resourceSchema, textField } from '../schemas';

export const SEARCH_QUERY_MAX_LENGTH = 200;

export const tourSearchQuery = z
  .object({
    q: textField()
      .trim()
      .min(1)
      .max(SEARCH_QUERY_MAX_LENGTH)
      .describe('what to find, as in a web search: words (all must match), "a phrase" in quotes, `or` between alternatives, -word to exclude; a query with no word to find (only common words like "the", punctuation, or only exclusions) finds nothing'),
    kind: z.enum(TOUR_SEARCH_KINDS).optional().describe('only matches of this kind'),
    ...paginationQuery,
  })
  .strict();

export const tourSearchHitResource = resourceSchema(
  'tour_search_hit',
  z.object({
    kind: z.enum(TOUR_SEARCH_KINDS).describe('where the match is: a transcript segment, a highlight or a note'),
    tour_id: z.number().int(),
    timestamp_ms: z.number().int().nullable().describe('milliseconds from the tour start: the segment\'s start, or the highlight\'s or note\'s time'),
    end_ms: z.number().int().nullable().describe('the segment\'s end (transcript matches)'),
    segment_index: z.number().int().nullable().describe('the segment\'s position in the transcript, from 0 (transcript matches)'),
    speaker: z.string().nullable().describe('who spoke the segment, when known'),
    text: z.string().describe('the whole matched segment, highlight or note'),
    snippet: z.string().describe('the text around the match, HTML-escaped, each matched word in <mark></mark>'),
    rank: z.number(),
    tour: z.object({ id: z.number().int(), property_id: z.number().int(), property_address: z.string(), scheduled_at: isoDateTime, status: z.enum(TOUR_STATUSES) }),
  }),
  z.object({ tour: z.object({ data: z.object({ id: z.string(), type: z.literal('tour') }) }) }),
);
