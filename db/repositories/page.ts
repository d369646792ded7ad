import type { Knex } from 'knex';

/** 1-based page number and page size, as the API's `?page=&per_page=` give them. */
export interface PageRequest {
  page: number;
  per_page: number;
}

export interface Page<T> {
  items: T[];
  /** How many rows match in all, across every page. */
  total: number;
}

/**
 * One page of `matches` and the count of all of them. `matches` carries only the filters
 * (no select, order or limit); `rows` adds the columns and the order for the page. The two
 * statements are sent together rather than one after the other.
 */
export async function pageOf<T>(
  matches: Knex.QueryBuilder,
  rows: (q: Knex.QueryBuilder) => Knex.QueryBuilder,
  { page, per_page }: PageRequest,
): Promise<Page<T>> {
  const [items, counted] = await Promise.all([
    rows(matches.clone()).limit(per_page).offset((page - 1) * per_page) as Promise<T[]>,
    matches.clone().count<Array<{ count: number | string }>>({ count: '*' }),
  ]);
  return { items, total: Number(counted[0]?.count ?? 0) };
}
