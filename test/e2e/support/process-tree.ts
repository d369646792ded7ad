import { readdirSync, readFileSync } from 'node:fs';

/**
 * Processes as Linux shows them under /proc: who started whom, which group each is in,
 * and when each started (a pid can be reused; pid plus start time cannot).
 */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** Clock ticks after boot. */
  startTime: number;
  /** The executable's name, as the kernel keeps it (at most 15 characters). */
  comm: string;
  /** R, S, D, Z (exited, not yet reaped), ... */
  state: string;
}

/** One process, or undefined once it is gone. */
export function processInfo(pid: number): ProcessInfo | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime priority nice threads itrealvalue starttime ..."
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  const rest = stat.slice(close + 2).split(' ');
  return {
    pid: Number(stat.slice(0, open).trim()),
    comm: stat.slice(open + 1, close),
    state: rest[0]!,
    ppid: Number(rest[1]),
    pgid: Number(rest[2]),
    startTime: Number(rest[19]),
  };
}

export function allProcesses(): ProcessInfo[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((name) => processInfo(Number(name)) ?? []);
}

/** `pid` and every process below it, whatever group each has moved to. */
export function processTree(pid: number): ProcessInfo[] {
  const all = allProcesses();
  const tree: ProcessInfo[] = [];
  const queue = [pid];
  while (queue.length) {
    const next = queue.shift()!;
    const self = all.find((p) => p.pid === next);
    if (self) tree.push(self);
    queue.push(...all.filter((p) => p.ppid === next).map((p) => p.pid));
  }
  return tree;
}

/** The processes of `list` that still run (the same pid with the same start time). */
export function stillRunning(list: ProcessInfo[]): ProcessInfo[] {
  return list.filter((p) => processInfo(p.pid)?.startTime === p.startTime);
}

/** Whether any process is in group `pgid`. */
export function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
