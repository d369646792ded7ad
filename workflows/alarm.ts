import { CancellationScope, condition, isCancellation, sleep } from '@temporalio/workflow';

/**
 * One durable timer that a workflow's waits share. Every timer started is a billable action
 * in Temporal Cloud (the implicit one of `condition(fn, timeout)` too), and a main loop
 * that re-waits after each change would start a new one every time. The alarm keeps its
 * timer while a new deadline is at or after it: a timer that fires early only makes the
 * loop look again and set the alarm for what is left; a deadline that moves earlier
 * replaces it.
 */
export class Alarm {
  private timer: { at: number; fired: boolean; scope: CancellationScope } | null = null;

  /** Resolves true as soon as `woken()` holds, false once workflow time reaches `atMs`. */
  async wait(atMs: number, woken: () => boolean): Promise<boolean> {
    for (;;) {
      if (woken()) return true;
      if (Date.now() >= atMs) return false;
      if (!this.timer || this.timer.fired || this.timer.at > atMs) this.set(atMs);
      const timer = this.timer!;
      await condition(() => woken() || timer.fired);
    }
  }

  /** Stops the timer, if one is running (a cancelled timer is not billed). */
  private cancel(): void {
    if (this.timer && !this.timer.fired) this.timer.scope.cancel();
    this.timer = null;
  }

  private set(atMs: number): void {
    this.cancel();
    const scope = new CancellationScope();
    const timer = { at: atMs, fired: false, scope };
    this.timer = timer;
    scope
      .run(() => sleep(atMs - Date.now()))
      .then(
        () => {
          timer.fired = true;
        },
        (err: unknown) => {
          if (!isCancellation(err)) throw err;
        },
      );
  }
}
