import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { StartupError } from '../lib/shutdown';

/**
 * PostgreSQL refuses to run as root. As root, its binaries and cluster run as a
 * `postgres` user, which must be able to reach both. In a private checkout (mode 700,
 * under /root or a `mktemp -d` folder) it cannot: the binaries and the cluster then live
 * under RELOCATED_ROOT instead, and the data folder's `postgres` entry is a link there,
 * so the cluster still belongs to that data folder (delete the folder to start over).
 */

export const RELOCATED_ROOT = '/var/lib/realtyforyou';

export interface PostgresRunAs {
  uid: number;
  gid: number;
}

export interface PostgresLayout {
  /** The `native` folder (bin, lib, share) whose binaries run. */
  nativeDir: string;
  /** The cluster folder the server is started with. */
  dataDir: string;
  /** Set when running as root: the server runs as this user. */
  runAs?: PostgresRunAs;
  /** Set when binaries and cluster were moved out of a folder the user cannot reach. */
  relocatedTo?: string;
}

/** As root: the `postgres` user's ids, creating the user when it does not exist. */
export function postgresUser(): PostgresRunAs {
  const lookup = (): PostgresRunAs | undefined => {
    try {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      return { uid, gid };
    } catch {
      return undefined;
    }
  };
  const found = lookup();
  if (found) return found;
  const made = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { encoding: 'utf8' });
  const created = lookup();
  if (!created) {
    throw new StartupError(
      'running as root: PostgreSQL refuses to run as root and there is no `postgres` user to run it as, ' +
        `and creating one failed (${made.error?.message ?? made.stderr?.trim() ?? `useradd exit ${made.status}`}). ` +
        'Create it (useradd --system --user-group postgres) or run npm start as a normal user.',
    );
  }
  return created;
}

/** Whether `user` can traverse to and use every path given (checked by that user itself). */
export function reachableBy(user: PostgresRunAs, paths: string[]): boolean {
  const tests = paths.map((_, i) => `test -x "$${i + 1}"`).join(' && ');
  const res = spawnSync('/bin/sh', ['-c', tests, 'sh', ...paths], { uid: user.uid, gid: user.gid, stdio: 'ignore' });
  return res.status === 0;
}

/**
 * Where the server's binaries and cluster are for this data folder. Only root needs
 * anything but the package's own binaries and the folder itself.
 */
export function planLayout(nativeDir: string, dir: string): PostgresLayout {
  if (process.getuid?.() !== 0) return { nativeDir, dataDir: dir };
  const runAs = postgresUser();
  mkdirSync(path.dirname(dir), { recursive: true });
  const linked = isLink(dir);
  if (!linked && reachableBy(runAs, [path.join(nativeDir, 'bin', 'postgres'), path.dirname(dir)])) {
    return { nativeDir, dataDir: dir, runAs };
  }

  mkdirSync(RELOCATED_ROOT, { recursive: true, mode: 0o755 });
  chmodSync(RELOCATED_ROOT, 0o755);
  const binaries = relocatedBinaries(nativeDir);
  // One cluster per data folder, named after its path so it is found again after a restart.
  const id = createHash('sha256').update(path.join(realpathSync(path.dirname(dir)), path.basename(dir))).digest('hex').slice(0, 16);
  const clusters = path.join(RELOCATED_ROOT, 'clusters');
  mkdirSync(clusters, { recursive: true, mode: 0o755 });
  const cluster = path.join(clusters, id);
  if (linked) {
    if (readlinkSync(dir) !== cluster) throw new StartupError(`${dir} links to ${readlinkSync(dir)}, not to this data folder's cluster ${cluster}; remove the link to start over`);
  } else {
    if (existsSync(dir)) {
      if (readdirSync(dir).length > 0) {
        throw new StartupError(
          `running as root in a folder the postgres user cannot reach, and ${dir} already holds a cluster it cannot use. ` +
            `Move it to ${cluster} and replace it with a link (ln -s ${cluster} ${dir}), or delete it to start over.`,
        );
      }
      rmSync(dir, { recursive: true });
    }
    // The link was deleted with the data folder: its old cluster goes too, as it would have.
    rmSync(cluster, { recursive: true, force: true });
    symlinkSync(cluster, dir);
  }
  return { nativeDir: binaries, dataDir: cluster, runAs, relocatedTo: RELOCATED_ROOT };
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** A copy of the package's binaries that any user can run; copied once per version. */
function relocatedBinaries(nativeDir: string): string {
  const pkg = JSON.parse(readFileSync(path.join(nativeDir, '..', 'package.json'), 'utf8')) as { name: string; version: string };
  const target = path.join(RELOCATED_ROOT, `${pkg.name.replace(/[@/]/g, '_')}-${pkg.version}`);
  if (existsSync(path.join(target, 'bin', 'postgres'))) return target;
  // Copy next to the target and rename, so a half-finished copy is never used.
  const partial = `${target}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  cpSync(nativeDir, partial, { recursive: true, verbatimSymlinks: true });
  chmodSync(partial, 0o755);
  try {
    renameSync(partial, target);
  } catch (err) {
    // Another start copied it at the same moment: theirs is as good.
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(path.join(target, 'bin', 'postgres'))) throw err;
  }
  return target;
}
