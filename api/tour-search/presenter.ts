import type { TourSearchHit } from '../../db/repositories/tour-search.repository';
import { resource } from '../envelope';

/** A match as the API shows it: where it is, its time in the tour, the snippet, and its tour. */
export function presentSearchHit(hit: TourSearchHit) {
  const position = hit.segment_index ?? hit.item_id;
  return resource(
    'tour_search_hit',
    `${hit.kind}-${hit.tour_id}-${position}`,
    {
      kind: hit.kind,
      tour_id: hit.tour_id,
      timestamp_ms: hit.timestamp_ms,
      end_ms: hit.end_ms,
      segment_index: hit.segment_index,
      speaker: hit.speaker,
      text: hit.text,
      snippet: hit.snippet,
      rank: hit.rank,
      tour: {
        id: hit.tour.id,
        property_id: hit.tour.property_id,
        property_address: hit.tour.property_address,
        scheduled_at: hit.tour.scheduled_at.toISOString(),
        status: hit.tour.status,
      },
    },
    { tour: { data: { id: String(hit.tour_id), type: 'tour' } } },
  );
}
