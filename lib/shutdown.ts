import { ConfigError } from './config';
import type { Logger } from './logger';

export type ShutdownStep = { name: string; run: () => Promise<unknown> };

/**
 * A startup failure whose message already says what went wrong and what to do (a port
 * taken, an instance already running, a folder PostgreSQL cannot reach): printed as is,
 * without a stack trace, like a configuration error.
 */
export class StartupError extends Error {
  override name = 'StartupError';
}

/**
 * Runs the shutdown steps in order on SIGINT/SIGTERM, each at most once. A second
 * signal, or steps still running after the timeout, end the process at once.
 */
export function handleShutdown(steps: () => ShutdownStep[], logger: Logger, timeoutMs: number): void {
  let stoppingSince: number | undefined;
  const stop = async (signal: string) => {
    if (stoppingSince !== undefined) {
      // Ctrl-C reaches us twice at once (from the terminal and relayed by npm); only a
      // later, deliberate second signal means "stop waiting".
      if (Date.now() - stoppingSince < 2000) return;
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    stoppingSince = Date.now();
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown timed out: exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    let failed = false;
    for (const step of steps()) {
      try {
        await step.run();
        logger.debug({ step: step.name }, 'stopped');
      } catch (err) {
        failed = true;
        logger.error({ err, step: step.name }, 'shutdown step failed');
      }
    }
    logger.info('stopped');
    clearTimeout(timer);
    process.exit(failed ? 1 : 0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/** Prints a startup failure (a bad configuration lists every key) and exits non-zero. */
export function exitOnStartupError(logger: Logger | undefined, err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  // A configuration problem or an explained failure is the operator's to fix, not a
  // crash: no stack trace.
  if (err instanceof StartupError) logger?.fatal({ reason: message }, 'startup failed');
  else if (!(err instanceof ConfigError)) logger?.fatal({ err }, 'startup failed');
  process.stderr.write(`\n${message}\n`);
  process.exit(1);
}

export function isExplained(err: unknown): boolean {
  return err instanceof ConfigError || err instanceof StartupError;
}
