import Router from '@koa/router';
import type { Knex } from 'knex';
import { ServiceUnavailableError } from '../../lib/errors';
import type { TemporalProbe } from '../../lib/temporal';
import { resource, sendData } from '../envelope';

export interface HealthDeps {
  knex: Knex;
  temporalProbe: TemporalProbe;
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
      postgres: withTimeout(deps.knex.raw('SELECT 1'), CHECK_TIMEOUT_MS, 'PostgreSQL'),
      temporal: withTimeout(deps.temporalProbe.check(CHECK_TIMEOUT_MS), CHECK_TIMEOUT_MS + 500, 'Temporal'),
    };
    const names = Object.keys(checks) as Array<keyof typeof checks>;
    const results = await Promise.allSettled(names.map((n) => checks[n]));
    const failing = results.flatMap((r, i) =>
      r.status === 'rejected'
        ? [{ field: names[i]!, message: `${names[i]} is not reachable: ${(r.reason as Error).message ?? 'unknown error'}` }]
        : [],
    );
    if (failing.length) {
      (ctx.state.log as { warn: (o: object, m: string) => void }).warn({ failing }, 'not ready');
      throw new ServiceUnavailableError(failing);
    }
    sendData(ctx, resource('health', 'readiness', { status: 'ready', postgres: 'ok', temporal: 'ok' }));
  });

  return router;
}
