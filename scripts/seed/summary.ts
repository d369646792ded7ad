// What a run did, as a record (for callers such as the benchmark) and as the printed report.
import type { PropertyPlan } from './plan';

export interface SeedSummary {
  run: number;
  seed: number;
  password: string;
  identityProvider: string;
  storage: string;
  reset: { properties: number; users: number } | null;
  realtors: Array<{ id: number; email: string }>;
  buyers: Array<{ id: number; email: string }>;
  properties: number;
  byStatus: Record<string, number>;
  byType: Record<string, number>;
  /** Seeded listings per city, most first. */
  cities: Array<{ city: string; state: string; count: number; available: number }>;
  images: number;
  imageFiles: number;
  ms: { users: number; images: number; properties: number; total: number };
}

/** The planned listings counted by status, by type and by city. */
export function tallyPlans(plans: readonly PropertyPlan[]): Pick<SeedSummary, 'byStatus' | 'byType' | 'cities'> {
  const count = (key: (p: PropertyPlan) => string) => {
    const out: Record<string, number> = {};
    for (const p of plans) out[key(p)] = (out[key(p)] ?? 0) + 1;
    return out;
  };
  const cities = new Map<string, { city: string; state: string; count: number; available: number }>();
  for (const p of plans) {
    const c = cities.get(p.city) ?? { city: p.city, state: p.state, count: 0, available: 0 };
    c.count += 1;
    if (p.status === 'active' || p.status === 'coming_soon') c.available += 1;
    cities.set(p.city, c);
  }
  return {
    byStatus: count((p) => p.status),
    byType: count((p) => p.property_type),
    cities: [...cities.values()].sort((a, b) => b.count - a.count || a.city.localeCompare(b.city)),
  };
}

export function formatSummary(s: SeedSummary): string {
  const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const list = (o: Record<string, number>) => Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
  const lines = [`Seed run ${s.run} (--seed ${s.seed}) done in ${secs(s.ms.total)}`];
  if (s.reset) lines.push(`  reset:      removed ${s.reset.properties} properties and ${s.reset.users} seeded users (audit_logs kept)`);
  lines.push(
    `  users:      ${s.realtors.length} realtors, ${s.buyers.length} buyers via the ${s.identityProvider} identity provider (${secs(s.ms.users)})`,
    `  properties: ${s.properties} (${secs(s.ms.properties)})`,
    `    status:   ${list(s.byStatus) || '-'}`,
    `    type:     ${list(s.byType) || '-'}`,
    `    cities:   ${s.cities.slice(0, 6).map((c) => `${c.city}, ${c.state} ${c.count}`).join('; ') || '-'}`,
    `  images:     ${s.images} ready rows sharing ${s.imageFiles} files in ${s.storage} storage under seed/images/ (${secs(s.ms.images)})`,
    `  sign in with password ${s.password}`,
  );
  if (s.realtors[0]) lines.push(`    realtor:  ${s.realtors[0].email}`);
  if (s.buyers[0]) lines.push(`    buyer:    ${s.buyers[0].email}`);
  return lines.join('\n') + '\n';
}
