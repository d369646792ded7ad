import { readFileSync, readdirSync } from 'node:fs';
import autocannon from 'autocannon';

/** One autocannon run, with every response time kept so any percentile can be read. */

export interface LoadSettings {
  connections: number;
  durationSeconds: number;
  headers?: Record<string, string>;
  /** Requests per second over all connections; unset = as fast as the server answers. */
  rate?: number;
}

export interface LoadResult {
  /** Mean of autocannon's per-second request counts (its "Req/Sec Avg"). */
  rps: number;
  requests: number;
  durationSeconds: number;
  latency: { p50: number; p95: number; p99: number; mean: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  bytesPerResponse: number;
  /** Every response time, ascending (ms). */
  times: number[];
}

export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function latencyOf(sorted: number[]): LoadResult['latency'] {
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    mean: sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

/** Several runs against one server as one: requests over total time, percentiles over all responses. */
export function mergeLoads(runs: LoadResult[]): LoadResult {
  const times = runs.flatMap((r) => r.times).sort((a, b) => a - b);
  const durationSeconds = runs.reduce((s, r) => s + r.durationSeconds, 0);
  const requests = runs.reduce((s, r) => s + r.requests, 0);
  return {
    rps: runs.reduce((s, r) => s + r.rps * r.durationSeconds, 0) / (durationSeconds || 1),
    requests,
    durationSeconds,
    latency: latencyOf(times),
    non2xx: runs.reduce((s, r) => s + r.non2xx, 0),
    errors: runs.reduce((s, r) => s + r.errors, 0),
    timeouts: runs.reduce((s, r) => s + r.timeouts, 0),
    bytesPerResponse: runs.reduce((s, r) => s + r.bytesPerResponse * r.times.length, 0) / (times.length || 1),
    times,
  };
}

export function runLoad(url: string, s: LoadSettings): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const times: number[] = [];
    let bytes = 0;
    const instance = autocannon(
      { url, connections: s.connections, duration: s.durationSeconds, headers: s.headers, pipelining: 1, ...(s.rate ? { overallRate: s.rate } : {}) },
      (err: unknown, result: autocannon.Result) => {
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        times.sort((a, b) => a - b);
        resolve({
          rps: result.requests.average,
          requests: result.requests.total,
          durationSeconds: result.duration,
          latency: latencyOf(times),
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          bytesPerResponse: times.length ? bytes / times.length : 0,
          times,
        });
      },
    );
    instance.on('response', (_client, _status, resBytes, responseTime) => {
      times.push(responseTime);
      bytes += resBytes;
    });
  });
}

// ---------------------------------------------------------------------------------------
// CPU accounting from /proc (Linux): who spent the two cores during a run.

const TICKS_PER_SECOND = 100;

/** user+system CPU milliseconds a process has used so far (0 when it is gone). */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** The postmaster and its backends (children), by the postmaster's pid. */
export function postgresPids(postmasterPid: number): number[] {
  const pids = [postmasterPid];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmasterPid) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/** Busy CPU milliseconds of the whole machine so far (all cores), from /proc/stat. */
export function machineBusyMs(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...
  const busy = cpu.reduce((a, b) => a + b, 0) - (cpu[3] ?? 0) - (cpu[4] ?? 0);
  return (busy * 1000) / TICKS_PER_SECOND;
}

/**
 * CPU of a process group over a span. Backends come and go (a pool may reconnect), so
 * the set is re-read at the end and a process first seen then counts from zero.
 */
export function cpuMeter(pidsNow: () => number[]): () => number {
  const start = new Map(pidsNow().map((p) => [p, cpuMs(p)]));
  return () => pidsNow().reduce((sum, p) => sum + cpuMs(p) - (start.get(p) ?? 0), 0);
}
