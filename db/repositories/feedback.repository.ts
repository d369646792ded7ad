import type { Knex } from 'knex';
import type { BookingStatus } from '../../contracts/bookings';
import {
  FEEDBACK_INTEREST_LEVELS,
  FEEDBACK_INTEREST_SCORE,
  FEEDBACK_PRICE_OPINIONS,
  FEEDBACK_PRICE_SCORE,
  FEEDBACK_RATING_MAX,
  FEEDBACK_RATING_MIN,
  type FeedbackInterestLevel,
  type FeedbackPriceOpinion,
} from '../../contracts/feedback';
import type { TourStatus } from '../../contracts/tours';

/**
 * Buyer feedback on tours: one row per tour, the per-listing aggregates, and what the
 * feedback emails are made of. Plain records; takes the knex instance or the caller's
 * transaction. Shared by the feedback API and the FeedbackWorkflow's activities.
 */

export interface FeedbackRecord {
  id: number;
  tour_id: number;
  buyer_id: number;
  property_id: number;
  realtor_id: number;
  rating: number;
  interest_level: FeedbackInterestLevel;
  price_opinion: FeedbackPriceOpinion;
  comments: string | null;
  created_at: Date;
  updated_at: Date;
}

export type FeedbackAnswers = Pick<FeedbackRecord, 'rating' | 'interest_level' | 'price_opinion' | 'comments'>;
export type NewFeedback = Pick<FeedbackRecord, 'tour_id' | 'buyer_id' | 'property_id' | 'realtor_id'> & FeedbackAnswers;

export interface FeedbackSummary {
  count: number;
  averages: { rating: number | null; interest_score: number | null; price_score: number | null };
  distribution: {
    rating: Record<string, number>;
    interest_level: Record<FeedbackInterestLevel, number>;
    price_opinion: Record<FeedbackPriceOpinion, number>;
  };
  /** The latest feedback with comments, newest first. */
  recent_comments: Array<Pick<FeedbackRecord, 'id' | 'tour_id' | 'rating' | 'interest_level' | 'price_opinion' | 'comments' | 'created_at'>>;
}

/** What a feedback email needs, and what decides whether it still goes out. */
export interface FeedbackNoticeFacts {
  tourId: number;
  tourStatus: TourStatus;
  endedAt: Date | null;
  bookingStatus: BookingStatus | null;
  answered: boolean;
  address: string;
  city: string | null;
  buyer: { id: number; name: string; email: string };
  realtor: { id: number; name: string };
}

const COLUMNS = ['id', 'tour_id', 'buyer_id', 'property_id', 'realtor_id', 'rating', 'interest_level', 'price_opinion', 'comments', 'created_at', 'updated_at'];

/** Averages to two decimals, as a listing's page shows them. */
const round2 = (v: unknown): number | null => (v === null || v === undefined ? null : Math.round(Number(v) * 100) / 100);

/** A CASE mapping each enum value to its score, from the contract's table. */
function scoreCase(column: string, scores: Readonly<Record<string, number>>): string {
  return `CASE ${column} ${Object.entries(scores).map(([k, v]) => `WHEN '${k}' THEN ${v}`).join(' ')} END`;
}

export function feedbackRepository(db: Knex | Knex.Transaction) {
  return {
    async findByTour(tourId: number): Promise<FeedbackRecord | undefined> {
      return db('tour_feedback').select(COLUMNS).where({ tour_id: tourId }).first<FeedbackRecord | undefined>();
    },

    /** Inserts the tour's feedback; undefined when the tour already has some (a race lost). */
    async insert(row: NewFeedback): Promise<FeedbackRecord | undefined> {
      const [saved] = await db('tour_feedback').insert(row).onConflict('tour_id').ignore().returning<FeedbackRecord[]>(COLUMNS);
      return saved;
    },

    async update(tourId: number, patch: Partial<FeedbackAnswers>): Promise<FeedbackRecord> {
      const [saved] = await db('tour_feedback').where({ tour_id: tourId }).update(patch).returning<FeedbackRecord[]>(COLUMNS);
      return saved!;
    },

    /** A listing's feedback: how many, the averages, the spread of each answer, and the latest comments. */
    async summary(propertyId: number, commentLimit: number): Promise<FeedbackSummary> {
      const of = () => db('tour_feedback').where({ property_id: propertyId });
      const [totals, ratings, interests, prices, recent] = await Promise.all([
        of()
          .first<{ count: number | string; rating: string | null; interest: string | null; price: string | null }>(
            db.raw('count(*) AS count'),
            db.raw('avg(rating) AS rating'),
            db.raw(`avg(${scoreCase('interest_level', FEEDBACK_INTEREST_SCORE)}) AS interest`),
            db.raw(`avg(${scoreCase('price_opinion', FEEDBACK_PRICE_SCORE)}) AS price`),
          ),
        of().select('rating').count<Array<{ rating: number; count: string | number }>>({ count: '*' }).groupBy('rating'),
        of().select('interest_level').count<Array<{ interest_level: FeedbackInterestLevel; count: string | number }>>({ count: '*' }).groupBy('interest_level'),
        of().select('price_opinion').count<Array<{ price_opinion: FeedbackPriceOpinion; count: string | number }>>({ count: '*' }).groupBy('price_opinion'),
        commentLimit > 0
          ? of()
              .select('id', 'tour_id', 'rating', 'interest_level', 'price_opinion', 'comments', 'created_at')
              .whereNotNull('comments')
              .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
              .limit(commentLimit)
          : Promise.resolve([]),
      ]);
      const rating: Record<string, number> = {};
      for (let r = FEEDBACK_RATING_MIN; r <= FEEDBACK_RATING_MAX; r += 1) rating[String(r)] = 0;
      for (const row of ratings) rating[String(row.rating)] = Number(row.count);
      const interest = Object.fromEntries(FEEDBACK_INTEREST_LEVELS.map((k) => [k, 0])) as Record<FeedbackInterestLevel, number>;
      for (const row of interests) interest[row.interest_level] = Number(row.count);
      const price = Object.fromEntries(FEEDBACK_PRICE_OPINIONS.map((k) => [k, 0])) as Record<FeedbackPriceOpinion, number>;
      for (const row of prices) price[row.price_opinion] = Number(row.count);
      return {
        count: Number(totals?.count ?? 0),
        averages: { rating: round2(totals?.rating), interest_score: round2(totals?.interest), price_score: round2(totals?.price) },
        distribution: { rating, interest_level: interest, price_opinion: price },
        recent_comments: recent as FeedbackSummary['recent_comments'],
      };
    },

    async noticeFacts(tourId: number): Promise<FeedbackNoticeFacts | undefined> {
      const row = await db('tours as t')
        .join('properties as p', 'p.id', 't.property_id')
        .join('users as buyer', 'buyer.id', 't.buyer_id')
        .join('users as realtor', 'realtor.id', 't.realtor_id')
        .leftJoin('bookings as b', 'b.id', 't.booking_id')
        .leftJoin('tour_feedback as f', 'f.tour_id', 't.id')
        .where('t.id', tourId)
        .first<
          | {
              status: TourStatus;
              ended_at: Date | null;
              booking_status: BookingStatus | null;
              feedback_id: number | null;
              address: string;
              city: string | null;
              buyer_id: number;
              buyer_name: string;
              buyer_email: string;
              realtor_id: number;
              realtor_name: string;
            }
          | undefined
        >(
          't.status', 't.ended_at', 'b.status as booking_status', 'f.id as feedback_id', 'p.address', 'p.city',
          'buyer.id as buyer_id', 'buyer.full_name as buyer_name', 'buyer.email as buyer_email', 'realtor.id as realtor_id', 'realtor.full_name as realtor_name',
        );
      if (!row) return undefined;
      return {
        tourId,
        tourStatus: row.status,
        endedAt: row.ended_at,
        bookingStatus: row.booking_status,
        answered: row.feedback_id !== null,
        address: row.address,
        city: row.city,
        buyer: { id: row.buyer_id, name: row.buyer_name, email: row.buyer_email },
        realtor: { id: row.realtor_id, name: row.realtor_name },
      };
    },
  };
}

export type FeedbackRepository = ReturnType<typeof feedbackRepository>;
