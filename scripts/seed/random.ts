// Deterministic randomness: the same --seed gives the same data on a fresh database.

/** mulberry32: tiny, fast and good enough for fake data. */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One independent stream per purpose, so more realtors do not move every address. */
export function stream(seed: number, run: number, purpose: string): () => number {
  let h = 2166136261 ^ seed ^ Math.imul(run, 0x9e3779b1);
  for (const ch of purpose) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return createRng(h >>> 0);
}

export type Rng = () => number;
export const between = (r: Rng, min: number, max: number) => min + Math.floor(r() * (max - min + 1));
export const pick = <T>(r: Rng, items: readonly T[]): T => items[Math.floor(r() * items.length)]!;
export function weighted<T>(r: Rng, items: ReadonlyArray<readonly [T, number]>): T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let x = r() * total;
  for (const [item, w] of items) {
    x -= w;
    if (x < 0) return item;
  }
  return items[items.length - 1]![0];
}
export function pickSome<T>(r: Rng, items: readonly T[], n: number): T[] {
  const pool = [...items];
  const out: T[] = [];
  while (out.length < n && pool.length) out.push(pool.splice(Math.floor(r() * pool.length), 1)[0]!);
  return out;
}
