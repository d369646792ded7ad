import type { FeedbackNoticeKind, FeedbackNoticeOutcome } from '../../contracts/feedback';

/** One email the fake sent: to the buyer of `tourId`, at server time `atMs`. */
export interface SentFeedbackNotice {
  tourId: number;
  kind: FeedbackNoticeKind;
  atMs: number;
}

/**
 * The FeedbackWorkflow's one activity, in memory: it answers what `outcomes` says for a tour
 * and kind ('sent' unless told otherwise) and records what it sent, with the server time
 * `now()` gives. Shared by the workflow test and the history recorder.
 */
export class FakeFeedbackNotices {
  readonly sent: SentFeedbackNotice[] = [];
  /** What the activity answers, per `${tourId}:${kind}`. */
  readonly outcomes = new Map<string, FeedbackNoticeOutcome>();

  constructor(private readonly now: () => Promise<number>) {}

  readonly activities = {
    sendFeedbackNotice: async (tourId: number, kind: FeedbackNoticeKind): Promise<FeedbackNoticeOutcome> => {
      const outcome = this.outcomes.get(`${tourId}:${kind}`) ?? 'sent';
      if (outcome === 'sent') this.sent.push({ tourId, kind, atMs: await this.now() });
      return outcome;
    },
  };

  /** What was sent to the buyer of `tourId`, in order. */
  of(tourId: number): SentFeedbackNotice[] {
    return this.sent.filter((s) => s.tourId === tourId);
  }
}
