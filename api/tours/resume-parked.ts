import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { recordAudit } from '../../db/audit';
import { retryProcessingUpdate, tourWorkflowId } from '../../workflows/tour.workflow';
import { runWorkflowCommand } from '../workflow-errors';

/**
 * Resumes every tour parked in `processing_failed` (optionally only those parked at one
 * step, or since a time), one after another at a bounded rate, so that a provider that has
 * just come back is not sent every parked tour's work at once. Each resume is the tour
 * workflow's own `retryProcessing` update (the workflow stays the only writer of the tour)
 * and is audit-logged. Used by `POST /api/v1/admin/tours/retry` and
 * `npm run tours:resume-parked`.
 */

export interface ResumeFilter {
  /** Only tours parked at this pipeline step. */
  step?: string;
  /** Only tours that failed at or after this time. */
  since?: Date;
  /** At most this many (oldest failure first). */
  limit: number;
}

export interface ResumeOptions {
  dryRun: boolean;
  /** Resumes per second at most. */
  perSecond: number;
  /** Who asked: an admin's user id, or null for the command line. */
  actorId: number | null;
  requestId?: string | null;
  via: 'api' | 'cli';
  onProgress?: (line: string) => void;
}

export interface ParkedTour {
  id: number;
  step: string | null;
  error: string | null;
  failed_at: string;
}

export interface ResumeSummary {
  dry_run: boolean;
  matched: number;
  resumed: number[];
  failed: Array<{ id: number; reason: string }>;
  tours: ParkedTour[];
}

export async function findParkedTours(knex: Knex, f: ResumeFilter): Promise<ParkedTour[]> {
  const rows = await knex('tours as t')
    .leftJoin('tour_processing_steps as s', function joinFailed() {
      this.on('s.tour_id', 't.id').andOnVal('s.status', 'failed');
    })
    .where('t.status', 'processing_failed')
    .modify((q) => {
      if (f.step) q.where('t.processing_step', f.step);
      if (f.since) q.where(knex.raw('COALESCE(s.updated_at, t.updated_at)'), '>=', f.since);
    })
    .orderBy([{ column: 'failed_at' }, { column: 't.id' }])
    .limit(f.limit)
    .select<Array<{ id: string | number; step: string | null; error: string | null; failed_at: Date }>>(
      't.id',
      't.processing_step as step',
      't.processing_error as error',
      knex.raw('COALESCE(s.updated_at, t.updated_at) as failed_at'),
    );
  return rows.map((r) => ({ id: Number(r.id), step: r.step, error: r.error, failed_at: new Date(r.failed_at).toISOString() }));
}

export async function resumeParkedTours(deps: { knex: Knex; temporal: Client }, filter: ResumeFilter, opts: ResumeOptions): Promise<ResumeSummary> {
  const tours = await findParkedTours(deps.knex, filter);
  const summary: ResumeSummary = { dry_run: opts.dryRun, matched: tours.length, resumed: [], failed: [], tours };
  if (opts.dryRun) return summary;
  const gapMs = 1000 / opts.perSecond;
  let last = 0;
  for (const tour of tours) {
    const wait = last + gapMs - Date.now();
    if (wait > 0) await sleep(wait);
    last = Date.now();
    try {
      await runWorkflowCommand(() => deps.temporal.workflow.getHandle(tourWorkflowId(tour.id)).executeUpdate(retryProcessingUpdate, { args: [] }), {
        refused: 'The tour cannot be resumed now',
        whenGone: async () => {
          throw new Error('its workflow is no longer running');
        },
      });
      await recordAudit(deps.knex, {
        actorId: opts.actorId,
        action: 'tour_processing_retried',
        resourceType: 'tour',
        resourceId: tour.id,
        details: { step: tour.step, bulk: true, via: opts.via },
        requestId: opts.requestId ?? null,
      });
      summary.resumed.push(tour.id);
      opts.onProgress?.(`resumed tour ${tour.id} (parked at ${tour.step ?? '?'})`);
    } catch (err) {
      const reason = (err as Error).message;
      summary.failed.push({ id: tour.id, reason });
      opts.onProgress?.(`NOT resumed tour ${tour.id}: ${reason}`);
    }
  }
  return summary;
}
