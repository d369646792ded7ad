import { z } from 'zod';
import type { PageRequest } from '../db/repositories/page';
import type { PageMeta } from './envelope';
import { queryInt } from './schemas';

export const MAX_PER_PAGE = 100;

/** `?page=&per_page=`; per_page above 100 is clamped to 100, as documented. */
export const paginationQuery = {
  page: queryInt(1).prefault(1).describe('1-based page number'),
  per_page: queryInt(1)
    .prefault(20)
    .transform((n) => Math.min(n, MAX_PER_PAGE))
    .describe(`items per page, at most ${MAX_PER_PAGE} (larger values are clamped)`),
};

export type { PageRequest } from '../db/repositories/page';

/** The envelope's page fields for a page of `total` matches in all. */
export function pageMeta({ page, per_page }: PageRequest, total: number): PageMeta {
  return { current_page: page, per_page, total_pages: Math.ceil(total / per_page), total_count: total };
}

export const pageMetaSchema = z.object({
  current_page: z.number().int(),
  per_page: z.number().int(),
  total_pages: z.number().int(),
  total_count: z.number().int(),
});
