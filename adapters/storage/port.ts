import { Transform, type Readable, type TransformCallback } from 'node:stream';

/**
 * The storage port: S3, or files under the data folder served by the API at signed,
 * expiring URLs (the default). Keys are relative paths such as `avatars/12/ab12.webp`.
 */
export interface StoredObject {
  key: string;
  size: number;
  contentType: string;
}

export interface ObjectStorage {
  readonly name: 'local' | 's3';
  put(key: string, body: Buffer, contentType: string): Promise<StoredObject>;
  /**
   * Streams `body` to `key` without holding it in memory. The object appears whole or not
   * at all: a body that fails, or passes `maxBytes` (ObjectTooLargeError), leaves nothing
   * behind and any earlier object at `key` untouched.
   */
  putStream(key: string, body: Readable, contentType: string, opts?: PutStreamOptions): Promise<StoredObject>;
  get(key: string): Promise<{ body: Readable; size: number; contentType: string }>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /**
   * Keys that start with `prefix` (a plain string prefix, as S3 lists: end it with `/` for
   * a folder), sorted. For finding what another writer put there, such as Chime's output.
   */
  list(prefix: string): Promise<string[]>;
  /** A GET URL that stops working after `ttlSeconds`. */
  signedUrl(key: string, ttlSeconds?: number): Promise<string>;
  /**
   * GET URLs for many keys at once (a page of listings), with the default lifetime: each
   * works for at least that long and at most a short reuse window longer, and a key gets
   * the same URL for the whole window (see SharedSignedUrls), so repeated pages cost no
   * signing and browsers can cache the files. Rejects if any key is unsafe.
   */
  sharedSignedUrls(keys: readonly string[]): Promise<string[]>;
}

export interface PutStreamOptions {
  /** Refuse (and store nothing) once the body passes this many bytes. */
  maxBytes?: number;
}

export class ObjectTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`The object is larger than ${maxBytes} bytes`);
    this.name = 'ObjectTooLargeError';
  }
}

/** Passes bytes through, counting them; fails with ObjectTooLargeError past `maxBytes`. */
export class ByteLimit extends Transform {
  bytes = 0;

  constructor(private readonly maxBytes = Infinity) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) return done(new ObjectTooLargeError(this.maxBytes));
    done(null, chunk);
  }
}

export class ObjectNotFoundError extends Error {
  constructor(key: string) {
    super(`No object at ${key}`);
    this.name = 'ObjectNotFoundError';
  }
}

/** Keys are plain relative paths: no `..`, no leading slash, no backslashes or NULs. */
export function assertSafeKey(key: string): void {
  if (
    !key ||
    key.length > 1024 ||
    key.startsWith('/') ||
    /[\\\0]/.test(key) ||
    key.split('/').some((part) => part === '' || part === '.' || part === '..')
  ) {
    throw new Error(`Unsafe storage key: ${JSON.stringify(key)}`);
  }
}

/** A list prefix: empty (everything), or a key-like path that may end with `/`. */
export function assertSafePrefix(prefix: string): void {
  if (prefix === '') return;
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  try {
    assertSafeKey(trimmed);
  } catch {
    throw new Error(`Unsafe storage prefix: ${JSON.stringify(prefix)}`);
  }
}
