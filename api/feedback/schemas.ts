import { z } from 'zod';
import {
  FEEDBACK_COMMENTS_MAX,
  FEEDBACK_EDIT_WINDOW_MS,
  FEEDBACK_INTEREST_LEVELS,
  FEEDBACK_PRICE_OPINIONS,
  FEEDBACK_RATING_MAX,
  FEEDBACK_RATING_MIN,
} from '../../contracts/feedback';
import { bodyInt, isoDateTime, nonEmptyObject, queryInt, resourceSchema, textField } from '../schemas';

export const EDIT_DAYS = Math.round(FEEDBACK_EDIT_WINDOW_MS / 86_400_000);
export const MAX_RECENT_COMMENTS = 50;

const rating = bodyInt(FEEDBACK_RATING_MIN, FEEDBACK_RATING_MAX).describe(`overall impression, ${FEEDBACK_RATING_MIN} (poor) to ${FEEDBACK_RATING_MAX} (excellent)`);
const interestLevel = z.enum(FEEDBACK_INTEREST_LEVELS).describe('how interested the buyer is in the home');
const priceOpinion = z.enum(FEEDBACK_PRICE_OPINIONS).describe('what the buyer thinks of the asking price');
const comments = textField().trim().max(FEEDBACK_COMMENTS_MAX).nullable().describe('anything else, for the realtor; empty or null: none');

export const giveFeedbackBody = z
  .object({ rating, interest_level: interestLevel, price_opinion: priceOpinion, comments: comments.optional() })
  .strict();

export const editFeedbackBody = nonEmptyObject(
  z.object({ rating: rating.optional(), interest_level: interestLevel.optional(), price_opinion: priceOpinion.optional(), comments: comments.optional() }).strict(),
);

export const listingFeedbackQuery = z
  .object({ comment_limit: queryInt(0, MAX_RECENT_COMMENTS).prefault(10).describe(`how many of the latest comments to include (0 to ${MAX_RECENT_COMMENTS})`) })
  .strict();

export const feedbackResource = resourceSchema(
  'tour_feedback',
  z.object({
    tour_id: z.number().int(),
    property_id: z.number().int(),
    buyer_id: z.number().int(),
    realtor_id: z.number().int(),
    rating: z.number().int(),
    interest_level: z.enum(FEEDBACK_INTEREST_LEVELS),
    price_opinion: z.enum(FEEDBACK_PRICE_OPINIONS),
    comments: z.string().nullable(),
    created_at: isoDateTime,
    updated_at: isoDateTime,
    editable_until: isoDateTime.describe(`the buyer may change it until then (${EDIT_DAYS} days after it was given)`),
  }),
);

const counts = <K extends string>(keys: readonly K[]) => z.object(Object.fromEntries(keys.map((k) => [k, z.number().int()])) as Record<K, z.ZodNumber>);
const RATINGS = Array.from({ length: FEEDBACK_RATING_MAX - FEEDBACK_RATING_MIN + 1 }, (_, i) => String(FEEDBACK_RATING_MIN + i));

export const feedbackSummaryResource = resourceSchema(
  'property_feedback_summary',
  z.object({
    property_id: z.number().int(),
    count: z.number().int().describe('feedback given on the tours of this listing'),
    averages: z.object({
      rating: z.number().nullable().describe('mean rating (1–5), two decimals; null with no feedback'),
      interest_score: z.number().nullable().describe('mean interest: not_interested 1, somewhat_interested 2, very_interested 3'),
      price_score: z.number().nullable().describe('mean opinion of the price: too_low -1, about_right 0, too_high +1 (above 0: buyers find it expensive)'),
    }),
    distribution: z.object({
      rating: counts(RATINGS).describe('how many gave each rating'),
      interest_level: counts(FEEDBACK_INTEREST_LEVELS),
      price_opinion: counts(FEEDBACK_PRICE_OPINIONS),
    }),
    recent_comments: z
      .array(
        z.object({
          feedback_id: z.number().int(),
          tour_id: z.number().int(),
          rating: z.number().int(),
          interest_level: z.enum(FEEDBACK_INTEREST_LEVELS),
          price_opinion: z.enum(FEEDBACK_PRICE_OPINIONS),
          comments: z.string(),
          created_at: isoDateTime,
        }),
      )
      .describe('the latest feedback with comments, newest first'),
  }),
);
