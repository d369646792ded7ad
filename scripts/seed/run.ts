// One seed run: number it, optionally clear earlier runs, then plan and write users, images and listings.
import type { Knex } from 'knex';
import type { IdentityProvider } from '../../adapters/identity/port';
import type { ObjectStorage } from '../../adapters/storage/port';
import type { SeedOptions } from './args';
import { nextRun, resetData } from './earlier-runs';
import { storeSeedImages } from './images';
import { planProperties, planUsers } from './plan';
import { stream } from './random';
import { tallyPlans, type SeedSummary } from './summary';
import { createUsers, insertProperties } from './write';

export interface SeedDeps {
  knex: Knex;
  identity: IdentityProvider;
  storage: ObjectStorage;
  now?: () => Date;
}

export async function seedDatabase(deps: SeedDeps, opts: SeedOptions): Promise<SeedSummary> {
  const started = Date.now();
  const now = (deps.now ?? (() => new Date()))().getTime();
  // Numbered before a reset: a removed run's accounts may live on in Cognito, so never reuse it.
  const run = await nextRun(deps.knex);
  const reset = opts.reset ? await resetData(deps.knex, deps.identity) : null;

  const t0 = Date.now();
  const users = await createUsers(deps, planUsers({ realtors: opts.realtors, buyers: opts.buyers, seed: opts.seed, run }), opts.password);
  const realtors = users.filter((u) => u.role === 'realtor').map(({ id, email }) => ({ id, email }));
  const buyers = users.filter((u) => u.role === 'buyer').map(({ id, email }) => ({ id, email }));

  const t1 = Date.now();
  const files = opts.properties > 0 && opts.imagesPerProperty > 0 ? await storeSeedImages(deps.storage) : [];

  const t2 = Date.now();
  const plans = planProperties({ count: opts.properties, seed: opts.seed, run, realtors: realtors.length });
  const images = await insertProperties(deps.knex, {
    plans,
    realtorIds: realtors.map((r) => r.id),
    files,
    imagesPerProperty: opts.imagesPerProperty,
    pickImage: stream(opts.seed, run, 'images'),
    now,
  });
  const t3 = Date.now();

  return {
    run,
    seed: opts.seed,
    password: opts.password,
    identityProvider: deps.identity.name,
    storage: deps.storage.name,
    reset,
    realtors,
    buyers,
    properties: plans.length,
    ...tallyPlans(plans),
    images,
    imageFiles: files.length * 3,
    ms: { users: t1 - t0, images: t2 - t1, properties: t3 - t2, total: Date.now() - started },
  };
}
