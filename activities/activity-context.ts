import { Context } from '@temporalio/activity';

/**
 * The running activity's context, or undefined when an activity function is called directly
 * (tests, scripts): heartbeats, cancellation and sleeps then do without it.
 */
export function currentActivity(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}
