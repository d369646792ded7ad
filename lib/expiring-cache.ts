/**
 * A bounded in-memory map whose entries expire: an entry is gone from its expiry time on
 * (checked when it is read; nothing runs in the background), and when the map is full the
 * entry set longest ago goes first. Setting a key again moves it to the newest place.
 */
export class ExpiringCache<K, V> {
  private readonly entries = new Map<K, { value: V; expiresMs: number }>();

  constructor(private readonly opts: { maxEntries: number; now?: () => number }) {}

  get(key: K): V | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (hit.expiresMs <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return hit.value;
  }

  /** Remembers `value` until `expiresMs` (epoch milliseconds); one already expired is not kept. */
  set(key: K, value: V, expiresMs: number): void {
    if (!(expiresMs > this.now())) return;
    this.entries.delete(key);
    if (this.entries.size >= this.opts.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, expiresMs });
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  /** Drops every entry whose value matches. */
  deleteWhere(matches: (value: V) => boolean): void {
    for (const [key, entry] of this.entries) {
      if (matches(entry.value)) this.entries.delete(key);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cache's clock, in epoch milliseconds. */
  now(): number {
    return (this.opts.now ?? Date.now)();
  }
}
