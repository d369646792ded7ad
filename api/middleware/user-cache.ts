import { ExpiringCache } from '../../lib/expiring-cache';
import type { UserRecord as User } from '../../db/repositories/users.repository';

/**
 * Verified users by token `sub`, for a short time, so an authenticated request does not
 * read `users` every time. Bounded (oldest entry out first) and short-lived: whatever
 * changes a user in this process (admin disable, delete, role change, profile, role sync
 * at sign-in) calls `forget`, and a change made elsewhere (another API instance, SQL by
 * hand) is seen within `ttlMs` at the latest.
 */
export class UserCache {
  private readonly entries: ExpiringCache<string, User>;
  private readonly forgetListeners: Array<(sub: string) => void> = [];

  constructor(
    private readonly opts: { ttlMs: number; maxEntries: number; now?: () => number } = { ttlMs: 30_000, maxEntries: 10_000 },
  ) {
    this.entries = new ExpiringCache(opts);
  }

  get(sub: string): User | undefined {
    return this.entries.get(sub);
  }

  set(sub: string, user: User): void {
    this.entries.set(sub, user, this.entries.now() + this.opts.ttlMs);
  }

  forget(sub: string): void {
    this.entries.delete(sub);
    for (const listener of this.forgetListeners) listener(sub);
  }

  /** Runs `listener` whenever a user is forgotten, so what else is remembered of them goes too. */
  onForget(listener: (sub: string) => void): void {
    this.forgetListeners.push(listener);
  }

  get size(): number {
    return this.entries.size;
  }
}
