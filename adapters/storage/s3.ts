import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type PutObjectCommandInput,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { pipeline } from 'node:stream/promises';
import { assertSafeKey, assertSafePrefix, ByteLimit, ObjectNotFoundError, type ObjectStorage, type PutStreamOptions, type StoredObject } from './port';
import { SharedSignedUrls } from './url-cache';

/**
 * Objects in one S3 bucket (or any S3-compatible server reached through `endpoint`), with
 * server-side encryption on every write and presigned GET URLs for downloads.
 *
 * "Not found" relies on S3 answering 404 for a missing key, which it only does when the
 * credentials may list the bucket (`s3:ListBucket`); without that S3 answers 403, and a
 * 403 is surfaced as an error rather than guessed to mean "missing".
 */

/**
 * Streamed writes go up in parts of this size (S3's minimum), at most this many at once:
 * an upload holds about PART_BYTES * PART_QUEUE in memory, whatever its length.
 */
const PART_BYTES = 5 * 1024 * 1024;
const PART_QUEUE = 2;

/** SigV4 presigned URLs cannot outlive a week. */
const MAX_PRESIGN_SECONDS = 7 * 86_400;

export interface S3ObjectStorageOptions {
  bucket: string;
  region: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  sse: 'none' | 'AES256' | 'aws:kms';
  /** With `sse: 'aws:kms'`; absent, S3 uses the account's `aws/s3` managed key. */
  kmsKeyId?: string;
  defaultTtlSeconds: number;
  /** Prepended to every key, e.g. `staging` stores `avatars/1.webp` at `staging/avatars/1.webp`. */
  keyPrefix?: string;
  /** A ready client (tests); otherwise one is built from region, endpoint and credentials. */
  client?: S3Client;
  /** Absent: the SDK's default provider chain (env, profile, container or instance role). */
  credentials?: S3ClientConfig['credentials'];
  /** The clock of shared URLs (tests). */
  now?: () => number;
}

export class S3ObjectStorage implements ObjectStorage {
  readonly name = 's3' as const;
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly sse: S3ObjectStorageOptions['sse'];
  private readonly kmsKeyId: string | undefined;
  private readonly defaultTtlSeconds: number;
  private readonly keyPrefix: string;
  private readonly shared: SharedSignedUrls;

  constructor(opts: S3ObjectStorageOptions) {
    if (!opts.bucket) throw new Error('S3ObjectStorage needs a bucket');
    if (opts.kmsKeyId && opts.sse !== 'aws:kms') {
      throw new Error(`S3ObjectStorage: a KMS key id is only used with sse 'aws:kms', not '${opts.sse}'`);
    }
    assertTtl(opts.defaultTtlSeconds);
    this.bucket = opts.bucket;
    this.sse = opts.sse;
    this.kmsKeyId = opts.kmsKeyId || undefined;
    this.defaultTtlSeconds = opts.defaultTtlSeconds;
    this.keyPrefix = normalisePrefix(opts.keyPrefix);
    this.client =
      opts.client ??
      new S3Client({
        region: opts.region,
        endpoint: opts.endpoint,
        forcePathStyle: opts.forcePathStyle,
        credentials: opts.credentials,
        // The SDK's default (WHEN_SUPPORTED) adds CRC checksum headers to uploads and
        // `x-amz-checksum-mode` to GETs; in a presigned URL those become signed query
        // parameters a plain browser GET cannot satisfy, and some S3-compatible servers
        // reject them outright.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
    // SigV4 puts the signing time in the URL: signing at the start of the reuse window (and
    // for the window's length more) keeps one URL per key for the whole window.
    this.shared = new SharedSignedUrls({
      ttlSeconds: opts.defaultTtlSeconds,
      maxLifetimeSeconds: MAX_PRESIGN_SECONDS,
      now: opts.now,
      check: (key) => this.objectKey(key),
      sign: (key, expires, issuedAt) =>
        getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }), {
          expiresIn: expires - issuedAt,
          signingDate: new Date(issuedAt * 1000),
        }),
    });
  }

  async put(key: string, body: Buffer, contentType: string): Promise<StoredObject> {
    const input: PutObjectCommandInput = { ...this.writeParams(key, contentType), Body: body, ContentLength: body.length };
    await this.client.send(new PutObjectCommand(input));
    return { key, size: body.length, contentType };
  }

  /**
   * A multipart upload (one PutObject when the body fits in a part). A failing or oversized
   * body aborts it, so S3 keeps no parts and the key's earlier object stays.
   */
  async putStream(key: string, body: Readable, contentType: string, opts: PutStreamOptions = {}): Promise<StoredObject> {
    const params = this.writeParams(key, contentType);
    const limit = new ByteLimit(opts.maxBytes);
    const upload = new Upload({ client: this.client, params: { ...params, Body: limit }, partSize: PART_BYTES, queueSize: PART_QUEUE, leavePartsOnError: false });
    const piped = pipeline(body, limit);
    // A failing body (or the limit) errors the stream the upload reads, which aborts it; a
    // failing upload stops reading, so it must break the pipe or the body would stall.
    const uploaded = upload.done().catch((err: unknown) => {
      limit.destroy(err as Error);
      throw err;
    });
    const [pipe, up] = await Promise.allSettled([piped, uploaded]);
    // The body's own failure says more than the upload's echo of it.
    if (pipe.status === 'rejected') throw pipe.reason;
    if (up.status === 'rejected') throw up.reason;
    return { key, size: limit.bytes, contentType };
  }

  async get(key: string): Promise<{ body: Readable; size: number; contentType: string }> {
    const objectKey = this.objectKey(key);
    let out;
    try {
      out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }));
    } catch (err) {
      if (isMissingObject(err)) throw new ObjectNotFoundError(key);
      throw err;
    }
    const body = toNodeReadable(out.Body);
    if (out.ContentLength === undefined) {
      // Callers send the size on as Content-Length; a guessed one would corrupt the response.
      body.destroy();
      throw new Error(`S3 returned no Content-Length for ${objectKey}`);
    }
    return { body, size: out.ContentLength, contentType: out.ContentType || 'application/octet-stream' };
  }

  async delete(key: string): Promise<void> {
    // S3 answers 204 whether or not the key existed.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return true;
    } catch (err) {
      if (isMissingObject(err)) return false;
      throw err;
    }
  }

  /** Pages through ListObjectsV2 (needs `s3:ListBucket`); keys come back without the key prefix. */
  async list(prefix: string): Promise<string[]> {
    assertSafePrefix(prefix);
    const base = this.keyPrefix ? `${this.keyPrefix}/` : '';
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base + prefix, ContinuationToken: token }));
      for (const item of out.Contents ?? []) {
        if (item.Key?.startsWith(base)) keys.push(item.Key.slice(base.length));
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  async signedUrl(key: string, ttlSeconds?: number): Promise<string> {
    const ttl = ttlSeconds ?? this.defaultTtlSeconds;
    assertTtl(ttl);
    const command = new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) });
    return getSignedUrl(this.client, command, { expiresIn: Math.ceil(ttl) });
  }

  sharedSignedUrls(keys: readonly string[]): Promise<string[]> {
    return this.shared.urls(keys);
  }

  private writeParams(key: string, contentType: string): PutObjectCommandInput {
    const input: PutObjectCommandInput = { Bucket: this.bucket, Key: this.objectKey(key), ContentType: contentType };
    if (this.sse === 'AES256') {
      input.ServerSideEncryption = 'AES256';
    } else if (this.sse === 'aws:kms') {
      input.ServerSideEncryption = 'aws:kms';
      if (this.kmsKeyId) input.SSEKMSKeyId = this.kmsKeyId;
    }
    return input;
  }

  private objectKey(key: string): string {
    assertSafeKey(key);
    return this.keyPrefix ? `${this.keyPrefix}/${key}` : key;
  }
}

function normalisePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/\/+$/, '');
  if (trimmed) assertSafeKey(trimmed);
  return trimmed;
}

function assertTtl(ttl: number): void {
  if (!Number.isFinite(ttl) || ttl <= 0 || ttl > MAX_PRESIGN_SECONDS) {
    throw new Error(`Invalid signed URL lifetime: ${ttl} (1..${MAX_PRESIGN_SECONDS} seconds)`);
  }
}

/**
 * GetObject's NoSuchKey, or HeadObject's body-less 404 (which the SDK names NotFound).
 * NoSuchBucket is a configuration error, not a missing object, so it is not swallowed.
 */
function isMissingObject(err: unknown): boolean {
  if (!(err instanceof S3ServiceException)) return false;
  if (err.name === 'NoSuchBucket') return false;
  return err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata.httpStatusCode === 404;
}

/** In Node the SDK's Body is an `http.IncomingMessage`; other runtimes give a web stream. */
function toNodeReadable(body: unknown): Readable {
  if (body instanceof Readable) return body;
  if (body && typeof (body as ReadableStream).getReader === 'function') {
    return Readable.fromWeb(body as Parameters<typeof Readable.fromWeb>[0]);
  }
  throw new Error('S3 GetObject returned no readable body');
}
