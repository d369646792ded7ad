import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes that workflows upsert so operators can filter them in the
 * Temporal Web UI. The dev server registers every one of these at start; a production
 * cluster needs them created once (`temporal operator search-attribute create`).
 */
export const BookingStatus = defineSearchAttributeKey('BookingStatus', SearchAttributeType.KEYWORD);
export const TourStage = defineSearchAttributeKey('TourStage', SearchAttributeType.KEYWORD);
export const PropertyId = defineSearchAttributeKey('PropertyId', SearchAttributeType.INT);
export const RealtorId = defineSearchAttributeKey('RealtorId', SearchAttributeType.INT);
export const BuyerId = defineSearchAttributeKey('BuyerId', SearchAttributeType.INT);

export const SEARCH_ATTRIBUTES = [BookingStatus, TourStage, PropertyId, RealtorId, BuyerId];

const CLI_TYPE_NAMES: Record<string, 'Keyword' | 'Int'> = {
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.INT]: 'Int',
};

/** name → type as `temporal server start-dev --search-attribute` spells it. */
export function searchAttributesForCli(): Record<string, 'Keyword' | 'Int'> {
  return Object.fromEntries(SEARCH_ATTRIBUTES.map((k) => [k.name, CLI_TYPE_NAMES[k.type]!]));
}
