import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createWriteStream, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertSafeKey, assertSafePrefix, ByteLimit, ObjectNotFoundError, type ObjectStorage, type PutStreamOptions, type StoredObject } from './port';
import { SharedSignedUrls } from './url-cache';

/**
 * Files under a data folder, one `<key>` file each with a `<key>.meta.json` sidecar holding
 * the content type. The API serves them at `/files/<key>` only with a valid, unexpired
 * HMAC signature (see `verifySignedUrl`), so links behave like S3 presigned URLs.
 */

const META_SUFFIX = '.meta.json';

interface ObjectMeta {
  contentType: string;
}

export interface LocalObjectStorageOptions {
  dir: string;
  /** Public origin of the API, without a trailing slash, e.g. `http://localhost:3000`. */
  baseUrl: string;
  secret: string;
  defaultTtlSeconds: number;
  now?: () => number;
}

export class LocalObjectStorage implements ObjectStorage {
  readonly name = 'local' as const;
  private readonly dir: string;
  private readonly baseUrl: string;
  private readonly secret: string;
  private readonly defaultTtlSeconds: number;
  private readonly now: () => number;
  private readonly shared: SharedSignedUrls;

  constructor(opts: LocalObjectStorageOptions) {
    if (!opts.secret) throw new Error('LocalObjectStorage needs a signing secret');
    this.dir = path.resolve(opts.dir);
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.secret = opts.secret;
    this.defaultTtlSeconds = opts.defaultTtlSeconds;
    this.now = opts.now ?? Date.now;
    this.shared = new SharedSignedUrls({
      ttlSeconds: opts.defaultTtlSeconds,
      now: this.now,
      check: (key) => this.checkKey(key),
      sign: (key, expires) => this.urlFor(key, expires),
    });
  }

  async put(key: string, body: Buffer, contentType: string): Promise<StoredObject> {
    const file = this.pathFor(key);
    await mkdir(path.dirname(file), { recursive: true });
    // The sidecar first: a reader that sees the new body also sees its content type.
    const meta: ObjectMeta = { contentType };
    await writeAtomic(file + META_SUFFIX, JSON.stringify(meta));
    await writeAtomic(file, body);
    return { key, size: body.length, contentType };
  }

  async putStream(key: string, body: Readable, contentType: string, opts: PutStreamOptions = {}): Promise<StoredObject> {
    const file = this.pathFor(key);
    await mkdir(path.dirname(file), { recursive: true });
    // Into a temp file beside the target, renamed into place only when whole: a refused or
    // broken body leaves no partial object, and a reader never sees one being written.
    const temp = tempPathFor(file);
    const limit = new ByteLimit(opts.maxBytes);
    try {
      await pipeline(body, limit, createWriteStream(temp, { flags: 'wx' }));
      const meta: ObjectMeta = { contentType };
      await writeAtomic(file + META_SUFFIX, JSON.stringify(meta));
      await rename(temp, file);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    return { key, size: limit.bytes, contentType };
  }

  async get(key: string): Promise<{ body: Readable; size: number; contentType: string }> {
    const file = this.pathFor(key);
    // Open first, then size the open file: a concurrent delete or overwrite cannot make
    // the stream and the reported size disagree.
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (err) {
      if (isNotFound(err) || (err as NodeJS.ErrnoException).code === 'EISDIR') throw new ObjectNotFoundError(key);
      throw err;
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new ObjectNotFoundError(key);
      const contentType = await this.readContentType(file);
      return { body: handle.createReadStream(), size: info.size, contentType };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.pathFor(key);
    await rm(file, { force: true });
    await rm(file + META_SUFFIX, { force: true });
  }

  async exists(key: string): Promise<boolean> {
    const file = this.pathFor(key);
    try {
      return (await stat(file)).isFile();
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** Walks only the folder the prefix names, so a narrow prefix stays cheap. */
  async list(prefix: string): Promise<string[]> {
    assertSafePrefix(prefix);
    const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const keys: string[] = [];
    const walk = async (relative: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(path.join(this.dir, relative), { withFileTypes: true });
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      for (const entry of entries) {
        const key = relative ? `${relative}/${entry.name}` : entry.name;
        if (entry.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(key);
        } else if (entry.isFile() && key.startsWith(prefix) && !isInternalFile(entry.name)) {
          keys.push(key);
        }
      }
    };
    await walk(folder);
    return keys.sort();
  }

  async signedUrl(key: string, ttlSeconds?: number): Promise<string> {
    // A URL touches no file: checking the key's form is enough here (and cheap, for pages
    // that sign a hundred image URLs).
    this.checkKey(key);
    const ttl = ttlSeconds ?? this.defaultTtlSeconds;
    if (!Number.isFinite(ttl) || ttl <= 0) throw new Error(`Invalid signed URL lifetime: ${ttl}`);
    return this.urlFor(key, Math.floor(this.now() / 1000) + Math.ceil(ttl));
  }

  sharedSignedUrls(keys: readonly string[]): Promise<string[]> {
    return this.shared.urls(keys);
  }

  private urlFor(key: string, expires: number): string {
    const signature = sign(this.secret, key, String(expires));
    const encodedKey = key.split('/').map(encodeURIComponent).join('/');
    return `${this.baseUrl}/files/${encodedKey}?expires=${expires}&signature=${signature}`;
  }

  private checkKey(key: string): void {
    assertSafeKey(key);
    // The sidecars share the namespace; a key naming one could overwrite another object's type.
    if (key.endsWith(META_SUFFIX)) throw new Error(`Unsafe storage key: ${JSON.stringify(key)}`);
  }

  /** The absolute path of a key; never outside `dir`, whatever the key. */
  private pathFor(key: string): string {
    this.checkKey(key);
    const file = path.resolve(this.dir, key);
    const relative = path.relative(this.dir, file);
    if (!relative || relative.startsWith('..') || path.isAbsolute(relative)) {
      throw new Error(`Unsafe storage key: ${JSON.stringify(key)}`);
    }
    return file;
  }

  private async readContentType(file: string): Promise<string> {
    try {
      const meta = JSON.parse(await readFile(file + META_SUFFIX, 'utf8')) as Partial<ObjectMeta>;
      if (typeof meta.contentType === 'string' && meta.contentType) return meta.contentType;
    } catch (err) {
      if (!isNotFound(err) && !(err instanceof SyntaxError)) throw err;
    }
    return 'application/octet-stream';
  }
}

function sign(secret: string, key: string, expires: string): string {
  return createHmac('sha256', secret).update(`GET\n${key}\n${expires}`).digest('hex');
}

/** Checks the query of a `/files/<key>` request against the signature `signedUrl` made. */
export function verifySignedUrl(
  secret: string,
  key: string,
  expires: string | undefined,
  signature: string | undefined,
  nowMs: number = Date.now(),
): 'ok' | 'expired' | 'invalid' {
  if (!expires || !signature || !/^\d{1,15}$/.test(expires) || !/^[0-9a-f]{64}$/i.test(signature)) return 'invalid';
  const expected = Buffer.from(sign(secret, key, expires), 'hex');
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
  // Checked after the signature so an attacker learns nothing from a forged expiry.
  if (Number(expires) * 1000 <= nowMs) return 'expired';
  return 'ok';
}

/** A random signing secret kept in `file` (0600), for when none is configured. */
export function loadOrCreateSecret(file: string): string {
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (/^[0-9a-f]{64}$/.test(existing)) return existing;
    throw new Error(`Signing secret file ${file} is malformed; delete it to make a new one`);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  mkdirSync(path.dirname(file), { recursive: true });
  const secret = randomBytes(32).toString('hex');
  // Written in full to a temp file, then hard-linked into place: link fails if the file
  // exists, so when two processes start together one wins and the other reads its secret,
  // never a half-written file.
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temp, secret + '\n', { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return loadOrCreateSecret(file);
  } finally {
    rmSync(temp, { force: true });
  }
  return secret;
}

/** A hidden sibling of `file` that `list` skips (see isInternalFile). */
function tempPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

async function writeAtomic(file: string, data: Buffer | string): Promise<void> {
  const temp = tempPathFor(file);
  try {
    await writeFile(temp, data);
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** Sidecars and the temp files of writes in progress are not objects. */
function isInternalFile(name: string): boolean {
  return name.endsWith(META_SUFFIX) || (name.startsWith('.') && name.endsWith('.tmp'));
}

function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
