import { Context } from '@temporalio/activity';
import type { Notification, Notifier } from '../../adapters/email/notifier';

/**
 * `base`, except that the `nth` mail of `template` hangs until its activity is cancelled
 * (shutting its worker down cancels it): a worker stopped half-way through a notice.
 * `stuck` resolves once that mail hangs; the ones before it went out.
 */
export function notifierStuckAt(base: Notifier, template: string, nth = 2): { notifier: Notifier; stuck: Promise<void> } {
  let signal!: () => void;
  const stuck = new Promise<void>((resolve) => (signal = resolve));
  let seen = 0;
  const notifier = new Proxy(base, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver);
      return async (n: Notification) => {
        if (n.template === template && ++seen === nth) {
          signal();
          await Context.current().cancelled;
        }
        return target.send(n);
      };
    },
  }) satisfies Notifier;
  return { notifier, stuck };
}
