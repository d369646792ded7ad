/**
 * What the toolchain steps share: a project-local Python virtualenv under .tools/, filled
 * from PyPI once and marked with a stamp that names exactly what was installed. A stamp
 * that differs (new pins) or a missing one (interrupted install) means start over.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first of `candidates` on PATH; `purpose` says in the error what it was needed for. */
export function findPython(purpose: string, candidates = ['python3', 'python']): string {
  for (const candidate of candidates) {
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next name
    }
  }
  throw new Error(`${candidates[0]} is needed once to ${purpose}; none of ${candidates.join(', ')} was found on PATH`);
}

/** "3.11" for the given interpreter. */
export function pythonVersion(python: string): string {
  return execFileSync(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' }).trim();
}

export function venvPython(dir: string): string {
  return path.join(dir, 'bin', 'python');
}

const stampPath = (dir: string) => path.join(dir, '.installed');

/** True when `dir` holds a finished install of exactly `stamp`. */
export function venvIsCurrent(dir: string, stamp: string): boolean {
  const file = stampPath(dir);
  return existsSync(file) && readFileSync(file, 'utf8') === stamp && isExecutable(venvPython(dir));
}

export interface VenvInstall {
  dir: string;
  /** Written last; an install that stops half-way leaves no stamp and is redone. */
  stamp: string;
  /** Arguments of `pip install`. */
  pipArgs: string[];
  /** Interpreter that creates the venv; found on PATH when absent. */
  python?: string;
  /** Prefix of progress lines on stderr, e.g. "temporal-toolchain". */
  label: string;
  /** What the install is for, for the error when no Python exists. */
  purpose: string;
}

/** Recreates the venv from scratch and installs into it. */
export function installVenv(spec: VenvInstall): void {
  const python = spec.python ?? findPython(spec.purpose);
  process.stderr.write(`[${spec.label}] installing into ${spec.dir}\n`);
  rmSync(spec.dir, { recursive: true, force: true });
  execFileSync(python, ['-m', 'venv', spec.dir], { stdio: 'inherit' });
  execFileSync(
    venvPython(spec.dir),
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-input', ...spec.pipArgs],
    { stdio: 'inherit' },
  );
  writeFileSync(stampPath(spec.dir), spec.stamp);
}

export interface LockedVenv {
  dir: string;
  /** A pip requirements file listing every wheel with its SHA-256. */
  requirements: string;
  /** "3.11": the version the locked wheels are built for. */
  pythonVersion: string;
  label: string;
  purpose: string;
  /** What to do instead, said when this machine cannot use the locked wheels. */
  otherwise: string;
}

/**
 * A venv holding exactly the wheels of a hash-locked requirements file (Linux x86-64, one
 * CPython version): pip in hash-checking mode with no resolver, so nothing but the listed
 * files installs. The stamp is the file's own hash, so a changed lock reinstalls and an
 * unchanged one costs a file read. Returns the venv's python.
 */
export function ensureLockedVenv(spec: LockedVenv): string {
  const locked = readFileSync(spec.requirements, 'utf8');
  const stamp = `sha256:${createHash('sha256').update(locked).digest('hex')}\n`;
  if (!venvIsCurrent(spec.dir, stamp)) {
    const file = path.relative(process.cwd(), spec.requirements);
    if (process.platform !== 'linux' || process.arch !== 'x64') {
      throw new Error(`${file} locks Linux x86-64 wheels; on ${process.platform}/${process.arch} ${spec.otherwise}`);
    }
    const python = findPython(spec.purpose, [`python${spec.pythonVersion}`, 'python3', 'python']);
    const version = pythonVersion(python);
    if (version !== spec.pythonVersion) {
      throw new Error(`${file} locks wheels for Python ${spec.pythonVersion}, but ${python} is ${version}; install python${spec.pythonVersion} or ${spec.otherwise}`);
    }
    installVenv({
      dir: spec.dir,
      stamp,
      python,
      pipArgs: ['--require-hashes', '--no-deps', '--only-binary=:all:', '-r', spec.requirements],
      label: spec.label,
      purpose: spec.purpose,
    });
  }
  return venvPython(spec.dir);
}
