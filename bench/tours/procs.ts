import { readdirSync, readFileSync } from 'node:fs';
import { cpuMs } from '../load';

/**
 * RSS and CPU of every process of the stack under test, from /proc (Linux): the tree
 * under the `npm start` process, grouped by what each process is (the `npm start` node
 * process runs the API, its child node process the worker; PostgreSQL's postmaster and
 * backends; the Temporal dev server; the transcription process), and the API and worker
 * together (their RSS summed at each sample). RSS is sampled once a second and the peak
 * kept; CPU is user+system time spent between `start()` and `stop()`.
 */

interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
}

function readProc(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return { pid, ppid, comm };
  } catch {
    return undefined;
  }
}

function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** `root` and all its descendants. */
export function processTree(root: number): ProcInfo[] {
  const all = readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map((e) => readProc(Number(e)))
    .filter((p): p is ProcInfo => p !== undefined);
  const children = new Map<number, ProcInfo[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out: ProcInfo[] = [];
  const self = all.find((p) => p.pid === root);
  const queue = self ? [self] : [];
  while (queue.length) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...(children.get(p.pid) ?? []));
  }
  return out;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

export const API_GROUP = 'api (node)';
export const WORKER_GROUP = 'worker (node)';
/** The API and the worker together: what `npm start` ran as one process before the worker had its own. */
export const NODE_TOTAL_GROUP = 'api + worker (node)';

/** The part of the stack a process belongs to. */
function groupOf(p: ProcInfo, root: number): string {
  if (p.pid === root) return API_GROUP;
  if (p.comm === 'node' && /workers[/\\]main\.[jt]s/.test(cmdline(p.pid))) return WORKER_GROUP;
  if (/^postgres|^postmaster/.test(p.comm)) return 'postgresql';
  if (/^temporal/.test(p.comm)) return 'temporal dev server';
  if (/^python/.test(p.comm)) return 'transcription (python)';
  return p.comm;
}

export interface ProcessGroupStats {
  group: string;
  processes: number;
  peakRssMiB: number;
  cpuSeconds: number;
  /** Share of one core over the measured span. */
  cpuPercent: number;
}

export interface ProcessMeter {
  stop(): ProcessGroupStats[];
}

export function meterProcesses(root: number, everyMs = 1000): ProcessMeter {
  const t0 = performance.now();
  const startCpu = new Map<number, number>(processTree(root).map((p) => [p.pid, cpuMs(p.pid)]));
  const peak = new Map<string, number>();
  const members = new Map<string, Set<number>>();
  const lastCpu = new Map<number, { group: string; ms: number }>();
  const sample = () => {
    const sums = new Map<string, number>();
    for (const p of processTree(root)) {
      const group = groupOf(p, root);
      sums.set(group, (sums.get(group) ?? 0) + rssKiB(p.pid));
      members.set(group, (members.get(group) ?? new Set()).add(p.pid));
      // Backends come and go: keep the last CPU reading of each, so one that exits still counts.
      lastCpu.set(p.pid, { group, ms: cpuMs(p.pid) });
    }
    sums.set(NODE_TOTAL_GROUP, (sums.get(API_GROUP) ?? 0) + (sums.get(WORKER_GROUP) ?? 0));
    for (const [g, kib] of sums) peak.set(g, Math.max(peak.get(g) ?? 0, kib));
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      const seconds = (performance.now() - t0) / 1000;
      const cpu = new Map<string, number>();
      for (const [pid, { group, ms }] of lastCpu) cpu.set(group, (cpu.get(group) ?? 0) + ms - (startCpu.get(pid) ?? 0));
      cpu.set(NODE_TOTAL_GROUP, (cpu.get(API_GROUP) ?? 0) + (cpu.get(WORKER_GROUP) ?? 0));
      return [...peak.keys()].map((group) => ({
        group,
        processes: group === NODE_TOTAL_GROUP ? (members.get(API_GROUP)?.size ?? 0) + (members.get(WORKER_GROUP)?.size ?? 0) : (members.get(group)?.size ?? 0),
        peakRssMiB: Math.round((peak.get(group) ?? 0) / 1024),
        cpuSeconds: (cpu.get(group) ?? 0) / 1000,
        cpuPercent: seconds > 0 ? ((cpu.get(group) ?? 0) / 1000 / seconds) * 100 : 0,
      }));
    },
  };
}
