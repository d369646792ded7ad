import type { Knex } from 'knex';
import { tourSearchRepository, type TourSearchHit, type TourSearchKind } from '../../db/repositories/tour-search.repository';
import type { PageMeta } from '../envelope';
import { pageMeta, type PageRequest } from '../pagination';
import type { Actor } from '../routing';
import { tourPolicy } from '../tours/policy';

export interface TourSearchServiceDeps {
  knex: Knex;
}

/** Search over the transcripts, highlights and notes of the tours the caller may see. */
export class TourSearchService {
  constructor(private readonly deps: TourSearchServiceDeps) {}

  async search(actor: Actor, q: { q: string; kind?: TourSearchKind } & PageRequest): Promise<{ items: TourSearchHit[]; meta: PageMeta }> {
    // Whose tours: a buyer's own, a realtor's own, an admin's all (as for the tour list).
    const scope = tourPolicy.scope(actor);
    const repo = tourSearchRepository(this.deps.knex);
    const parsed = await repo.parse(q.q);
    // Nothing to look for (only common words such as "the", punctuation, or only exclusions
    // such as `-price`, which would list everything else and no index answers): nothing found.
    if (!parsed || parsed.indexable === null) return { items: [], meta: pageMeta(q, 0) };
    const { items, total } = await repo.search(scope, parsed, { kind: q.kind }, q);
    return { items, meta: pageMeta(q, total) };
  }
}
