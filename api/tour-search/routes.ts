import type { z } from 'zod';
import { sendPage } from '../envelope';
import { actorOf, defineRoute, type AnyRouteSpec } from '../routing';
import { presentSearchHit } from './presenter';
import { tourSearchHitResource, tourSearchQuery } from './schemas';
import type { TourSearchService } from './service';

type Area = 'realtors' | 'buyers' | 'admin';

const TAGS: Record<Area, string> = { realtors: 'Realtor: tours', buyers: 'Buyer: tours', admin: 'Admin: tours' };
const SUMMARIES: Record<Area, string> = {
  realtors: 'Search the transcripts, highlights and notes of your tours',
  buyers: 'Search the transcripts, highlights and notes of your tours',
  admin: 'Search the transcripts, highlights and notes of all tours',
};

/**
 * GET /api/v1/{realtors|buyers|admin}/tours/search. Mounted before the tour routes: a path
 * segment `search` must not be read as a tour id by `/tours/:id`.
 */
export function tourSearchRoutes(search: TourSearchService): AnyRouteSpec[] {
  return (['realtors', 'buyers', 'admin'] as const).map((area) =>
    defineRoute({
      method: 'get',
      path: `/api/v1/${area}/tours/search`,
      summary: SUMMARIES[area],
      tags: [TAGS[area]],
      query: tourSearchQuery,
      responses: {
        200: { description: 'A page of matches, best first: each with its tour, its kind, its time in the tour and a snippet', data: tourSearchHitResource.array(), paginated: true },
      },
      async handler(ctx, input) {
        const { items, meta } = await search.search(actorOf(input), input.query as z.infer<typeof tourSearchQuery>);
        sendPage(ctx, items.map(presentSearchHit), meta);
      },
    }),
  );
}
