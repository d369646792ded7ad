import Router from '@koa/router';
import type { Knex } from 'knex';
import { ServiceUnavailableError } from '../../lib/errors';
import type { TemporalProbe } from '../../lib/temporal';
import { resource, sendData } from '../envelope';
import type { WorkerPresence } from '../worker-presence';

export interface HealthDeps {
  knex: Knex;
  temporalProbe: TemporalProbe;
  /** Absent: readiness does not look for a worker (an API without one by design). */
  workerPresence?: WorkerPresence;
}

const CHECK_TIMEOUT_MS = 2000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export function healthRoutes(deps: HealthDeps): Router {
  const router = new Router();
  const started = Date.now();

  router.get('/health', (ctx) => {
    sendData(ctx, resource('health', 'liveness', { status: 'ok', uptime_seconds: Math.round((Date.now() - started) / 1000) }));
  });

  router.get('/health/ready', async (ctx) => {
    const checks = {
      postgres: withTimeout(deps.knex.raw('SELECT 1'), CHECK_TIMEOUT_MS, 'PostgreSQL').then(() => 'ok'),
      temporal: withTimeout(deps.temporalProbe.check(CHECK_TIMEOUT_MS), CHECK_TIMEOUT_MS + 500, 'Temporal').then(() => 'ok'),
      // Temporal up but nobody polling: every workflow command would hang.
      ...(deps.workerPresence ? { worker: deps.workerPresence.require().then((s) => (s === 'polling' ? 'ok' : s)) } : {}),
    };
    const names = Object.keys(checks) as Array<keyof typeof checks>;
    const results = await Promise.allSettled(names.map((n) => checks[n]));
    const failing = results.flatMap((r, i) => {
      if (r.status === 'fulfilled') return [];
      const name = names[i]!;
      // The worker check's own message says what is missing; the others say what failed.
      const message = r.reason instanceof ServiceUnavailableError && name === 'worker' ? r.reason.message : `${name} is not reachable: ${(r.reason as Error).message ?? 'unknown error'}`;
      return [{ field: name, message }];
    });
    if (failing.length) {
      (ctx.state.log as { warn: (o: object, m: string) => void }).warn({ failing }, 'not ready');
      throw new ServiceUnavailableError(failing);
    }
    const states = Object.fromEntries(names.map((n, i) => [n, (results[i] as PromiseFulfilledResult<string>).value]));
    sendData(ctx, resource('health', 'readiness', { status: 'ready', ...states }));
  });

  return router;
}
