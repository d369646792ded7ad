import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';

/**
 * Activity options more than one workflow uses. Their values are part of every history
 * that scheduled them: change one and a new workflow behaves differently, never a replay.
 */

/**
 * The same options for a local activity (the short database steps of the local-steps
 * paths): it retries inside the workflow task for up to 10 seconds, then through a timer.
 */
export function asLocal(options: ActivityOptions): LocalActivityOptions {
  return { ...options, localRetryThreshold: '10 seconds' };
}

/**
 * Emails to the booking's, the tour's or the endpoint's people: a mail provider that is
 * down for a while is waited out (the notifications ledger keeps each at most once).
 */
export const EMAIL_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 20 },
};
