/**
 * Signed GET URLs reused for a short window. A page of listings signs two URLs per image
 * (a hundred or more per page); signing each anew on every request costs an HMAC (local)
 * or a SigV4 signature (S3), and gives every response a different URL, so a browser
 * fetches the same image again. Instead the expiry is rounded up to the end of a window
 * (a tenth of the lifetime, at most five minutes): within a window every request gets the
 * same URL for a key, signed once, valid for at least the lifetime asked and at most one
 * window longer.
 */

/** The longest reuse window. */
export const MAX_REUSE_WINDOW_SECONDS = 300;

export interface SharedUrlOptions {
  /** How long a URL must stay valid at least, from the moment it is handed out. */
  ttlSeconds: number;
  /** Never let an expiry pass this many seconds from now (S3 presigning's one-week limit). */
  maxLifetimeSeconds?: number;
  /** Cached keys at most; the oldest go first. */
  maxEntries?: number;
  now?: () => number;
  /** Checks the key's form; runs once per key before it is first signed. */
  check(key: string): void;
  /**
   * The URL of `key` that expires at `expires` (Unix seconds). `issuedAt` is the start of
   * the window (Unix seconds, not after now): signers that put a signing time in the URL
   * (SigV4) use it so the URL is the same for the whole window.
   */
  sign(key: string, expires: number, issuedAt: number): string | Promise<string>;
}

interface Entry {
  expires: number;
  url: string | Promise<string>;
}

export class SharedSignedUrls {
  private readonly entries = new Map<string, Entry>();
  private readonly ttl: number;
  private readonly window: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(private readonly opts: SharedUrlOptions) {
    if (!Number.isFinite(opts.ttlSeconds) || opts.ttlSeconds <= 0) throw new Error(`Invalid signed URL lifetime: ${opts.ttlSeconds}`);
    this.ttl = Math.ceil(opts.ttlSeconds);
    const room = (opts.maxLifetimeSeconds ?? Infinity) - this.ttl;
    // No room above the lifetime (a URL already at the maximum): every URL is signed anew.
    this.window = Math.max(0, Math.min(MAX_REUSE_WINDOW_SECONDS, Math.floor(this.ttl / 10), room));
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** The URLs of `keys`, in order. Rejects (signing nothing) if any key is unsafe. */
  urls(keys: readonly string[]): Promise<string[]> {
    const nowSeconds = Math.floor(this.now() / 1000);
    let expires: number;
    let issuedAt: number;
    if (this.window === 0) {
      expires = nowSeconds + this.ttl;
      issuedAt = nowSeconds;
    } else {
      expires = Math.ceil((nowSeconds + this.ttl) / this.window) * this.window;
      issuedAt = expires - this.ttl - this.window;
    }
    const out: Array<string | Promise<string>> = new Array(keys.length);
    let pending = false;
    try {
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const hit = this.entries.get(key);
        let url: string | Promise<string>;
        if (hit && hit.expires === expires) {
          url = hit.url;
        } else {
          if (!hit) this.opts.check(key);
          url = this.opts.sign(key, expires, issuedAt);
          this.remember(key, { expires, url });
        }
        if (typeof url !== 'string') pending = true;
        out[i] = url;
      }
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return pending ? Promise.all(out) : Promise.resolve(out as string[]);
  }

  get size(): number {
    return this.entries.size;
  }

  private remember(key: string, entry: Entry): void {
    if (this.window === 0) return;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, entry);
    // A failed signature is not kept: the next request signs again.
    if (typeof entry.url !== 'string') {
      entry.url.then(
        (url) => {
          if (this.entries.get(key) === entry) entry.url = url;
        },
        () => {
          if (this.entries.get(key) === entry) this.entries.delete(key);
        },
      );
    }
  }
}
