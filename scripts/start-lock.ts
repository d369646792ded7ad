import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { isAlive } from '../db/embedded';
import { StartupError } from '../lib/shutdown';

/**
 * One `npm start` per data folder. The lock file names the running one's PID and ports,
 * so a second start says who is running instead of failing half-way on a taken port.
 * Scripts (migrate, seed, create-admin) do not take it: they use the running server.
 */

export interface StartRecord {
  pid: number;
  apiPort: number;
  postgresPort?: number;
  temporalPort?: number;
  uiPort?: number;
  startedAt: string;
}

export const LOCK_FILE = 'npm-start.lock';

export function acquireStartLock(dataDir: string, record: Omit<StartRecord, 'pid' | 'startedAt'>): { release(): void } {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, LOCK_FILE);
  const mine: StartRecord = { pid: process.pid, startedAt: new Date().toISOString(), ...record };
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o644);
      writeSync(fd, `${JSON.stringify(mine)}\n`);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      const other = readRecord(file);
      if (other && other.pid !== process.pid && isAlive(other.pid) && looksLikeStart(other.pid)) throw alreadyRunning(dataDir, other);
      // Left by a start that was killed: take it over.
      unlinkSync(file);
    }
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    if (readRecord(file)?.pid === process.pid) unlinkSync(file);
  };
  process.once('exit', release);
  return { release };
}

/** After a crash the PID may since belong to another program; Linux can tell. */
function looksLikeStart(pid: number): boolean {
  try {
    return /scripts[/\\]start\.[jt]s/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return true;
  }
}

function readRecord(file: string): StartRecord | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as StartRecord;
    return Number.isInteger(parsed.pid) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function alreadyRunning(dataDir: string, r: StartRecord): StartupError {
  const parts = [`PID ${r.pid}`, `API port ${r.apiPort}`];
  if (r.postgresPort) parts.push(`PostgreSQL port ${r.postgresPort}`);
  if (r.temporalPort) parts.push(`Temporal port ${r.temporalPort}`);
  if (r.uiPort) parts.push(`Temporal Web UI port ${r.uiPort}`);
  return new StartupError(
    `RealtyForYou is already running on the data folder ${dataDir} (${parts.join(', ')}, since ${r.startedAt}). ` +
      `Use that one (scripts such as npm run create-admin, seed and migrate work beside it), ` +
      `stop it first (Ctrl-C in its terminal, or kill ${r.pid}), or start this one with another DATA_DIR and ports.`,
  );
}
