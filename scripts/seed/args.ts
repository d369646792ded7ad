import { parseArgs } from 'node:util';

export interface SeedOptions {
  properties: number;
  realtors: number;
  buyers: number;
  imagesPerProperty: number;
  seed: number;
  password: string;
  reset: boolean;
}

export const DEFAULT_PASSWORD = 'seed-pass-123';

export const USAGE =
  'usage: npm run seed -- --properties <n> [--realtors 200] [--buyers 50] [--images-per-property 3] [--seed 42] [--password seed-pass-123] [--reset]';

export class UsageError extends Error {}

export function parseSeedArgs(argv: string[]): SeedOptions {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        properties: { type: 'string' },
        realtors: { type: 'string' },
        buyers: { type: 'string' },
        'images-per-property': { type: 'string' },
        seed: { type: 'string' },
        password: { type: 'string' },
        reset: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const int = (name: string, raw: string | undefined, fallback: number, min: number, max: number): number => {
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new UsageError(`--${name}: must be an integer from ${min} to ${max}`);
    return Number(raw);
  };
  const opts: SeedOptions = {
    properties: int('properties', values.properties, 1000, 0, 1_000_000),
    realtors: int('realtors', values.realtors, 200, 0, 10_000),
    buyers: int('buyers', values.buyers, 50, 0, 10_000),
    imagesPerProperty: int('images-per-property', values['images-per-property'], 3, 0, 20),
    seed: int('seed', values.seed, 42, 0, 2 ** 31 - 1),
    password: values.password ?? DEFAULT_PASSWORD,
    reset: values.reset ?? false,
  };
  if (opts.properties > 0 && opts.realtors === 0) throw new UsageError('--realtors: properties need at least one realtor');
  if (opts.password.length < 8) throw new UsageError('--password: must be at least 8 characters');
  return opts;
}
