import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startNpmStart } from '../../lib/child-process';
import { freePort } from '../../lib/ports';

/**
 * The system under test: `npm start` (scripts/start.ts) on its embedded defaults, in a data
 * folder of its own under the temp folder and on free ports, so a benchmark never meets a
 * developer's `.data/` or a running `npm start`; or an existing deployment given by its
 * URLs.
 */

export interface Stack {
  apiUrl: string;
  temporalAddress: string;
  namespace: string;
  databaseUrl: string;
  /** The `npm start` process, whose tree is measured; unset for an external stack. */
  rootPid?: number;
  /** What the stack was started with, for the report. */
  settings: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * What the benchmark changes from the `npm start` defaults, and why: tours booked three
 * hours ahead must start at once, the reminder bookings are made 15 minutes and a little
 * ahead (the default notice is 60 minutes), and one client address registers and signs in
 * every user (the per-address auth limit would measure 429s, not the system).
 */
export const BENCH_SETTINGS: Record<string, string> = {
  TOUR_EARLY_START_MINUTES: String(24 * 60),
  BOOKING_MIN_NOTICE_MINUTES: '10',
  AUTH_RATE_LIMIT_MAX: '1000000',
  API_RATE_LIMIT_MAX: '0',
};

export async function startEmbeddedStack(opts: { keep?: boolean; say: (line: string) => void; timeoutMs?: number; extra?: Record<string, string>; nodeArgs?: string[] }): Promise<Stack> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'rfy-bench-tours-'));
  // As root, PostgreSQL runs as a separate `postgres` user that must reach its folder.
  chmodSync(root, 0o755);
  const [api, pg, temporal, ui] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DATA_DIR: path.join(root, 'data'),
    PORT: String(api),
    EMBEDDED_PG_PORT: String(pg),
    TEMPORAL_DEV_PORT: String(temporal),
    TEMPORAL_UI_PORT: String(ui),
    // Its own stack beside whatever else runs here: no fixed metrics ports.
    METRICS_PORT: '0',
    TEMPORAL_SDK_METRICS_PORT: '0',
    ...BENCH_SETTINGS,
    ...opts.extra,
  };
  opts.say(`npm start in ${root} (API ${api}, PostgreSQL ${pg}, Temporal ${temporal})`);
  const apiUrl = `http://127.0.0.1:${api}`;
  const removeRoot = () => {
    if (!opts.keep) rmSync(root, { recursive: true, force: true });
  };
  const npmStart = await startNpmStart({ env, apiUrl, nodeArgs: opts.nodeArgs, timeoutMs: opts.timeoutMs }).catch((err: unknown) => {
    removeRoot();
    throw err;
  });
  const stop = async () => {
    await npmStart.stop();
    removeRoot();
  };
  return {
    apiUrl,
    // --set TEMPORAL_ADDRESS=… runs npm start against that Temporal instead of its own dev server.
    temporalAddress: env.TEMPORAL_ADDRESS ?? `127.0.0.1:${temporal}`,
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    databaseUrl: `postgres://postgres:postgres@127.0.0.1:${pg}/realtyforyou`,
    rootPid: npmStart.child.pid,
    settings: { ...BENCH_SETTINGS, ...opts.extra, RECORD_CALLS: 'true (default; local meetings capture nothing, so no recording is processed)' },
    stop,
  };
}
