// Planning: every row of a run decided up front, as pure functions of seed, run and counts.
import type { Role } from '../../adapters/identity/port';
import { between, pick, pickSome, stream, weighted } from './random';
import {
  CITIES, CLOSERS, FEATURES, FIRST_NAMES, LAND_FEATURES, LAST_NAMES, NEIGHBOURHOODS, OPENERS, PROPERTY_TYPES, STATUSES, STREETS, SUFFIXES, TYPE_LABEL,
  type PropertyType,
} from './vocabulary';

export interface PropertyPlan {
  address: string;
  mls_id: string;
  description: string;
  price: string;
  bedrooms: number | null;
  bathrooms: number | null;
  sqft: number | null;
  status: string;
  city: string;
  state: string;
  postal_code: string;
  property_type: PropertyType;
  latitude: string;
  longitude: string;
  /** Index into the run's realtors. */
  realtorIndex: number;
  /** Days before "now" the listing was created. */
  ageDays: number;
}

const fill = (template: string, vars: Record<string, string | number>) => template.replace(/\{(\w+)\}/g, (_, k: string) => String(vars[k] ?? ''));

/** Every property of a run, in order; a pure function of its arguments. */
export function planProperties(opts: { count: number; seed: number; run: number; realtors: number }): PropertyPlan[] {
  const r = stream(opts.seed, opts.run, 'properties');
  const cityWeights = CITIES.map((c) => [c, c.weight] as const);
  const plans: PropertyPlan[] = [];
  for (let i = 0; i < opts.count; i++) {
    const city = weighted(r, cityWeights);
    const type = weighted(r, PROPERTY_TYPES);
    const status = weighted(r, STATUSES);
    // Land has no rooms or floor area.
    let bedrooms: number | null = null;
    let bathrooms: number | null = null;
    let sqft: number | null = null;
    let price: number;
    if (type === 'land') {
      const acres = Math.round((0.15 + r() * r() * 5) * 100) / 100;
      price = (25_000 + acres * 60_000 + r() * 40_000) * (city.ppsf / 300);
    } else {
      bedrooms =
        type === 'condominium' ? weighted(r, [[0, 1], [1, 4], [2, 5], [3, 2]])
          : type === 'multi_family' ? between(r, 4, 10)
            : type === 'townhouse' || type === 'manufactured' ? between(r, 2, 4)
              : weighted(r, [[1, 1], [2, 4], [3, 10], [4, 8], [5, 3], [6, 1]]);
      bathrooms = Math.max(1, Math.round(bedrooms * 0.7 + r() * 1.2));
      const perRoom = type === 'condominium' ? 380 : type === 'manufactured' ? 330 : 440;
      sqft = Math.round(((type === 'condominium' ? 250 : 400) + bedrooms * perRoom + bathrooms * 110) * (0.85 + r() * 0.4) / 10) * 10;
      const typeFactor = { single_family: 1, condominium: 1.08, townhouse: 0.95, multi_family: 0.82, manufactured: 0.45, other: 0.9 }[type];
      price = sqft * city.ppsf * typeFactor * (0.82 + r() * 0.4);
    }
    // List prices end like real ones: 449,900 or 450,000.
    const rounded = Math.max(10_000, Math.round(price / 1000) * 1000 - (r() < 0.45 ? 100 : 0));

    const number = between(r, 100, 9899);
    let address = `${number} ${pick(r, STREETS)} ${pick(r, SUFFIXES)}`;
    if (type === 'condominium') address += ` Apt ${between(r, 1, 24)}${pick(r, ['A', 'B', 'C', 'D'])}`;
    else if (type === 'townhouse' && r() < 0.5) address += ` Unit ${between(r, 1, 40)}`;

    const vars = { beds: bedrooms ?? 0, type: TYPE_LABEL[type], sqft: (sqft ?? 0).toLocaleString('en-US'), city: city.name, hood: pick(r, NEIGHBOURHOODS) };
    const sentences =
      type === 'land'
        ? [`Buildable ${TYPE_LABEL.land} in ${vars.hood}, ${city.name}.`, ...pickSome(r, LAND_FEATURES, between(r, 1, 3))]
        : [fill(pick(r, OPENERS), vars), ...pickSome(r, FEATURES, between(r, 2, 5))];
    sentences.push(fill(pick(r, CLOSERS), vars));

    plans.push({
      address,
      mls_id: `SEED${opts.run}-${String(i + 1).padStart(6, '0')}`,
      description: sentences.join(' '),
      price: rounded.toFixed(2),
      bedrooms,
      bathrooms,
      sqft,
      status,
      city: city.name,
      state: city.state,
      postal_code: String(city.zip + between(r, 0, city.zipSpan)).padStart(5, '0'),
      property_type: type,
      latitude: (city.lat + (r() - 0.5) * 0.24).toFixed(6),
      longitude: (city.lon + (r() - 0.5) * 0.3).toFixed(6),
      realtorIndex: Math.floor(r() * opts.realtors),
      ageDays: r() * 365,
    });
  }
  return plans;
}

export interface UserPlan {
  email: string;
  fullName: string;
  role: Extract<Role, 'realtor' | 'buyer'>;
}

export function planUsers(opts: { realtors: number; buyers: number; seed: number; run: number }): UserPlan[] {
  const r = stream(opts.seed, opts.run, 'users');
  const make = (role: UserPlan['role'], i: number): UserPlan => ({
    email: `seed${opts.run}-${role}-${String(i + 1).padStart(4, '0')}@example.com`,
    fullName: `${pick(r, FIRST_NAMES)} ${pick(r, LAST_NAMES)}`,
    role,
  });
  return [...Array.from({ length: opts.realtors }, (_, i) => make('realtor', i)), ...Array.from({ length: opts.buyers }, (_, i) => make('buyer', i))];
}
