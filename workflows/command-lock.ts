import { condition } from '@temporalio/workflow';

/**
 * Commands (updates) and the workflow's own timers take turns: each runs alone and sees
 * the state the previous one left. Nothing runs before `ready()` (the row has loaded).
 */
export class CommandLock {
  private held = false;

  constructor(private readonly ready: () => boolean) {}

  get busy(): boolean {
    return this.held;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await condition(() => !this.held && this.ready());
    this.held = true;
    try {
      return await fn();
    } finally {
      this.held = false;
    }
  }
}
