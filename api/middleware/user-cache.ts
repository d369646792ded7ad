import type { UserRecord as User } from '../../db/repositories/users.repository';

/**
 * Verified users by token `sub`, for a short time, so an authenticated request does not
 * read `users` every time. Bounded (oldest entry out first) and short-lived: whatever
 * changes a user in this process (admin disable, delete, role change, profile, role sync
 * at sign-in) calls `forget`, and a change made elsewhere (another API instance, SQL by
 * hand) is seen within `ttlMs` at the latest.
 */
export class UserCache {
  private readonly entries = new Map<string, { user: User; expires: number }>();
  private readonly forgetListeners: Array<(sub: string) => void> = [];

  constructor(
    private readonly opts: { ttlMs: number; maxEntries: number; now?: () => number } = { ttlMs: 30_000, maxEntries: 10_000 },
  ) {}

  get(sub: string): User | undefined {
    const hit = this.entries.get(sub);
    if (!hit) return undefined;
    if (hit.expires <= this.now()) {
      this.entries.delete(sub);
      return undefined;
    }
    return hit.user;
  }

  set(sub: string, user: User): void {
    this.entries.delete(sub);
    if (this.entries.size >= this.opts.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(sub, { user, expires: this.now() + this.opts.ttlMs });
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

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }
}
