import { cpuMeter, machineBusyMs, mergeLoads, runLoad, type LoadResult } from './load';

/** Servers measured under the same load, in alternating rounds. */

export interface Target {
  name: string;
  url: string;
  headers?: Record<string, string>;
  pid: number;
}

export interface MeasuredServer extends LoadResult {
  /** CPU milliseconds per request: the server process, all of Postgres, and autocannon's process. */
  cpuPerRequest: { server: number; postgres: number; loadGenerator: number };
  /** CPU of everything else on the machine during the measured time, in % of one core: noise. */
  otherCpuPercent: number;
  rounds: number;
  /** req/s of each slice, in the order run. */
  sliceRps: number[];
  /** Rounds run again because other processes disturbed them. */
  discardedRounds: number;
}

interface Round {
  load: LoadResult;
  server: number;
  postgres: number;
  loadGenerator: number;
  other: number;
}

async function once(t: Target, connections: number, seconds: number, postgresPids: () => number[]): Promise<Round> {
  const server = cpuMeter(() => [t.pid]);
  const postgres = cpuMeter(postgresPids);
  const machine = machineBusyMs();
  const self = process.cpuUsage();
  const load = await runLoad(t.url, { connections, durationSeconds: seconds, headers: t.headers });
  const used = process.cpuUsage(self);
  const r = { load, server: server(), postgres: postgres(), loadGenerator: (used.user + used.system) / 1000 };
  return { ...r, other: Math.max(0, machineBusyMs() - machine - r.server - r.postgres - r.loadGenerator) };
}

function combine(rounds: Round[]): Omit<MeasuredServer, 'discardedRounds'> {
  const load = mergeLoads(rounds.map((r) => r.load));
  const sum = (k: 'server' | 'postgres' | 'loadGenerator' | 'other') => rounds.reduce((s, r) => s + r[k], 0);
  const per = (ms: number) => ms / Math.max(1, load.requests);
  return {
    ...load,
    cpuPerRequest: { server: per(sum('server')), postgres: per(sum('postgres')), loadGenerator: per(sum('loadGenerator')) },
    otherCpuPercent: (sum('other') / (load.durationSeconds * 1000)) * 100,
    rounds: rounds.length,
    sliceRps: rounds.map((r) => r.load.rps),
  };
}

/**
 * Warms each up, then measures them in `rounds` slices that add up to `seconds` each, in
 * alternating order (A B, B A, …), so drift on a shared machine hits all alike. A round in
 * which other processes took more than `maxOtherPercent` of a core in any slice is run
 * again (up to `retries` times), so one server is not judged on a disturbed slice.
 */
export async function compare(
  targets: Target[],
  opts: {
    connections: number;
    seconds: number;
    rounds: number;
    warmupSeconds: number;
    postgresPids: () => number[];
    say: (line: string) => void;
    maxOtherPercent?: number;
    retries?: number;
  },
): Promise<MeasuredServer[]> {
  for (const t of targets) {
    if (opts.warmupSeconds > 0) {
      opts.say(`${t.name}: warm-up ${opts.warmupSeconds} s`);
      await runLoad(t.url, { connections: opts.connections, durationSeconds: opts.warmupSeconds, headers: t.headers });
    }
  }
  const slice = opts.seconds / opts.rounds;
  const maxOther = opts.maxOtherPercent ?? Infinity;
  const results: Round[][] = targets.map(() => []);
  const order = targets.map((_, i) => i);
  let discarded = 0;
  for (let round = 0; round < opts.rounds; round++) {
    for (let attempt = 0; ; attempt++) {
      const got: Array<[number, Round]> = [];
      for (const i of round % 2 === 0 ? order : [...order].reverse()) {
        const t = targets[i]!;
        const r = await once(t, opts.connections, slice, opts.postgresPids);
        const other = (r.other / (slice * 1000)) * 100;
        opts.say(
          `${t.name}: ${opts.connections} connections, ${slice} s: ${r.load.rps.toFixed(1)} req/s, p50 ${r.load.latency.p50.toFixed(1)} ms, p95 ${r.load.latency.p95.toFixed(1)} ms (other processes: ${other.toFixed(0)} % of a core)`,
        );
        got.push([i, r]);
      }
      const disturbed = got.some(([, r]) => (r.other / (slice * 1000)) * 100 > maxOther);
      if (!disturbed || attempt >= (opts.retries ?? 0)) {
        for (const [i, r] of got) results[i]!.push(r);
        break;
      }
      discarded += 1;
      opts.say(`round ${round + 1} disturbed by other processes (> ${maxOther} % of a core): running it again`);
    }
  }
  return results.map((r) => ({ ...combine(r), discardedRounds: discarded }));
}
