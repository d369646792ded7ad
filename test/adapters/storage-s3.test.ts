import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ObjectNotFoundError, ObjectTooLargeError } from '../../adapters/storage/port';
import { S3ObjectStorage, type S3ObjectStorageOptions } from '../../adapters/storage/s3';

// s3rver ships no type declarations; this is the part of its API these tests use.
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: {
  port: number;
  address: string;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}) => S3rverInstance;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as S3rverConstructor;

const BUCKET = 'test-bucket';
// s3rver's built-in account.
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/** Every byte value, so an encoding slip anywhere on the way shows up. */
function binaryBody(): Buffer {
  return Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
}

interface Recorded {
  command: string;
  input: Record<string, unknown>;
  headers: Record<string, string>;
}

/** A client for s3rver that records each command's input and the headers it sent. */
function recordingClient(endpoint: string): { client: S3Client; sent: Recorded[] } {
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const sent: Recorded[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      sent.push({
        command: String(context.commandName),
        input: { ...(args.input as Record<string, unknown>) },
        headers: { ...request.headers },
      });
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordSentRequests' },
  );
  return { client, sent };
}

describe('S3ObjectStorage against s3rver', () => {
  let root: string;
  let server: S3rverInstance;
  let endpoint: string;
  let storage: S3ObjectStorage;
  const extraClients: S3Client[] = [];

  function makeStorage(overrides: Partial<S3ObjectStorageOptions> = {}): S3ObjectStorage {
    const made = new S3ObjectStorage({
      bucket: BUCKET,
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      sse: 'AES256',
      defaultTtlSeconds: 900,
      credentials: CREDENTIALS,
      ...overrides,
    });
    extraClients.push(made.client);
    return made;
  }

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'rfy-s3rver-'));
    server = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: root,
      configureBuckets: [{ name: BUCKET }],
    });
    const { port } = await server.run();
    endpoint = `http://127.0.0.1:${port}`;
    storage = makeStorage();
  });

  afterAll(async () => {
    // Release the SDK's keep-alive sockets first, or close() waits on them.
    for (const client of extraClients) client.destroy();
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  describe('construction', () => {
    it('when built from options, then its client skips optional checksums on requests and responses', async () => {
      expect(storage.name).toBe('s3');
      expect(await storage.client.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
      expect(await storage.client.config.responseChecksumValidation()).toBe('WHEN_REQUIRED');
      expect(await storage.client.config.region()).toBe('us-east-1');
      expect(storage.client.config.forcePathStyle).toBe(true);
    });

    it('when the bucket is empty, then construction fails', () => {
      expect(() => makeStorage({ bucket: '' })).toThrow(/bucket/);
    });

    it('when a KMS key id is given without aws:kms encryption, then construction fails', () => {
      expect(() => makeStorage({ sse: 'AES256', kmsKeyId: 'alias/rfy' })).toThrow(/KMS key id/);
    });

    it('when the key prefix is unsafe, then construction fails', () => {
      expect(() => makeStorage({ keyPrefix: '../other-tenant' })).toThrow(/Unsafe storage key/);
    });
  });

  describe('putStream', () => {
    /** `chunks` chunks of 1 MiB, each filled with its index; endless when undefined. */
    function source(chunks?: number, failAfter?: number): Readable {
      let i = 0;
      return new Readable({
        read() {
          if (failAfter !== undefined && i === failAfter) return void this.destroy(new Error('the client went away'));
          if (chunks !== undefined && i === chunks) return void this.push(null);
          this.push(Buffer.alloc(1024 * 1024, i % 256));
          i += 1;
        },
      });
    }

    it('when a body of several parts is streamed, then get returns every byte with its size and type', async () => {
      const stored = await storage.putStream('recordings/long.bin', source(12), 'video/mp4', { maxBytes: 12 * 1024 * 1024 });
      expect(stored).toEqual({ key: 'recordings/long.bin', size: 12 * 1024 * 1024, contentType: 'video/mp4' });
      const got = await storage.get('recordings/long.bin');
      expect(got.size).toBe(12 * 1024 * 1024);
      expect(got.contentType).toBe('video/mp4');
      const bytes = await readAll(got.body);
      expect(bytes.equals(Buffer.concat(Array.from({ length: 12 }, (_, i) => Buffer.alloc(1024 * 1024, i))))).toBe(true);
    });

    it('when an endless body passes maxBytes, then ObjectTooLargeError mid-stream, and the earlier object at the key is untouched', async () => {
      await storage.put('recordings/kept/kept.bin', Buffer.from('the earlier upload'), 'audio/wav');
      await expect(storage.putStream('recordings/kept/kept.bin', source(), 'audio/wav', { maxBytes: 8 * 1024 * 1024 })).rejects.toBeInstanceOf(ObjectTooLargeError);
      expect((await readAll((await storage.get('recordings/kept/kept.bin')).body)).toString()).toBe('the earlier upload');
      expect(await storage.list('recordings/kept/')).toEqual(['recordings/kept/kept.bin']);
    });

    it('when the body fails midway, then its error, and nothing is stored', async () => {
      await expect(storage.putStream('recordings/broken.bin', source(undefined, 7), 'audio/wav')).rejects.toThrow('the client went away');
      expect(await storage.exists('recordings/broken.bin')).toBe(false);
    });
  });

  describe('put, get, exists and delete', () => {
    it('when an object is put, then get returns its bytes, size and content type', async () => {
      const body = binaryBody();
      const stored = await storage.put('avatars/12/ab12.webp', body, 'image/webp');
      expect(stored).toEqual({ key: 'avatars/12/ab12.webp', size: body.length, contentType: 'image/webp' });

      const got = await storage.get('avatars/12/ab12.webp');
      expect(got.size).toBe(body.length);
      expect(got.contentType).toBe('image/webp');
      expect(await readAll(got.body)).toEqual(body);
    });

    it('when an object is put twice, then get returns the second version', async () => {
      await storage.put('docs/overwrite.txt', Buffer.from('first'), 'text/plain');
      await storage.put('docs/overwrite.txt', Buffer.from('second, longer'), 'text/markdown');

      const got = await storage.get('docs/overwrite.txt');
      expect(got.contentType).toBe('text/markdown');
      expect((await readAll(got.body)).toString()).toBe('second, longer');
    });

    it('when an empty object is put, then get returns zero bytes', async () => {
      await storage.put('docs/empty.bin', Buffer.alloc(0), 'application/octet-stream');

      const got = await storage.get('docs/empty.bin');
      expect(got.size).toBe(0);
      expect(await readAll(got.body)).toEqual(Buffer.alloc(0));
    });

    it('when a key was put, then exists is true; when it never was, then exists is false', async () => {
      await storage.put('exists/yes.txt', Buffer.from('x'), 'text/plain');

      await expect(storage.exists('exists/yes.txt')).resolves.toBe(true);
      await expect(storage.exists('exists/no.txt')).resolves.toBe(false);
    });

    it('when a key was never put, then get rejects with ObjectNotFoundError', async () => {
      await expect(storage.get('nothing/here.txt')).rejects.toBeInstanceOf(ObjectNotFoundError);
    });

    it('when an object is deleted, then get rejects with ObjectNotFoundError and exists is false', async () => {
      await storage.put('gone/soon.txt', Buffer.from('bye'), 'text/plain');
      await storage.delete('gone/soon.txt');

      await expect(storage.get('gone/soon.txt')).rejects.toBeInstanceOf(ObjectNotFoundError);
      await expect(storage.exists('gone/soon.txt')).resolves.toBe(false);
    });

    it('when a missing key is deleted, then delete resolves', async () => {
      await expect(storage.delete('never/was.txt')).resolves.toBeUndefined();
    });

    it('when the bucket does not exist, then get fails with the S3 error, not ObjectNotFoundError', async () => {
      const elsewhere = makeStorage({ bucket: 'no-such-bucket' });

      const failure = await elsewhere.get('a/b.txt').catch((err: unknown) => err);
      expect(failure).not.toBeInstanceOf(ObjectNotFoundError);
      expect((failure as Error).name).toBe('NoSuchBucket');
    });
  });

  describe('key prefix', () => {
    it('when a prefix is set, then objects live under it and the returned key is unprefixed', async () => {
      const prefixed = makeStorage({ keyPrefix: 'tenant-a/' });
      const stored = await prefixed.put('avatars/1.webp', Buffer.from('pfx'), 'image/webp');
      expect(stored.key).toBe('avatars/1.webp');

      const raw = await storage.get('tenant-a/avatars/1.webp');
      expect((await readAll(raw.body)).toString()).toBe('pfx');
      await expect(prefixed.exists('avatars/1.webp')).resolves.toBe(true);
      await expect(storage.exists('avatars/1.webp')).resolves.toBe(false);
      expect(new URL(await prefixed.signedUrl('avatars/1.webp')).pathname).toBe(`/${BUCKET}/tenant-a/avatars/1.webp`);

      await prefixed.delete('avatars/1.webp');
      await expect(storage.exists('tenant-a/avatars/1.webp')).resolves.toBe(false);
    });
  });

  describe('list', () => {
    it('when objects are listed by prefix, then their keys come back sorted', async () => {
      await storage.put('list-test/tour-1/audio/b.mp4', Buffer.from('b'), 'video/mp4');
      await storage.put('list-test/tour-1/audio/a.mp4', Buffer.from('a'), 'video/mp4');
      await storage.put('list-test/tour-1/meeting-events/a.txt', Buffer.from('{}'), 'text/plain');
      await storage.put('list-test/tour-10/x.webm', Buffer.from('x'), 'video/webm');

      expect(await storage.list('list-test/tour-1/audio/')).toEqual(['list-test/tour-1/audio/a.mp4', 'list-test/tour-1/audio/b.mp4']);
      expect(await storage.list('list-test/tour-1/')).toHaveLength(3);
      expect(await storage.list('list-test/tour-1')).toHaveLength(4);
      expect(await storage.list('list-test/none/')).toEqual([]);
    });

    it('when a key prefix is set, then only its objects are listed and without it', async () => {
      const prefixed = makeStorage({ keyPrefix: 'tenant-list' });
      await prefixed.put('recordings/1.mp4', Buffer.from('1'), 'video/mp4');
      await storage.put('recordings-elsewhere/2.mp4', Buffer.from('2'), 'video/mp4');
      expect(await prefixed.list('recordings')).toEqual(['recordings/1.mp4']);
    });

    it('when S3 answers in pages, then every page is read with the continuation token', async () => {
      const paged = makeStorage();
      const mock = mockClient(paged.client);
      mock
        .on(ListObjectsV2Command, { ContinuationToken: undefined })
        .resolves({ Contents: [{ Key: 'p/b' }], IsTruncated: true, NextContinuationToken: 'page-2' })
        .on(ListObjectsV2Command, { ContinuationToken: 'page-2' })
        .resolves({ Contents: [{ Key: 'p/a' }], IsTruncated: false });
      try {
        expect(await paged.list('p/')).toEqual(['p/a', 'p/b']);
        expect(mock.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input)).toEqual([
          { Bucket: BUCKET, Prefix: 'p/', ContinuationToken: undefined },
          { Bucket: BUCKET, Prefix: 'p/', ContinuationToken: 'page-2' },
        ]);
      } finally {
        mock.restore();
      }
    });

    it('when the prefix is unsafe, then nothing is sent', async () => {
      await expect(storage.list('../x/')).rejects.toThrow(/Unsafe storage prefix/);
    });
  });

  describe('unsafe keys', () => {
    const unsafe: [label: string, key: string][] = [
      ['empty', ''],
      ['absolute', '/etc/passwd'],
      ['a parent reference', '../escape.txt'],
      ['a nested parent reference', 'a/../../b'],
      ['an empty segment', 'a//b'],
      ['a dot segment', './a'],
      ['a backslash', 'back\\slash'],
      ['a NUL byte', 'nul\0byte'],
      ['over 1024 characters', 'x'.repeat(1025)],
    ];

    it.each(unsafe)('when the key is %s, then every operation rejects before any request is sent', async (_label, key) => {
      const { client, sent } = recordingClient(endpoint);
      extraClients.push(client);
      const guarded = makeStorage({ client });

      await expect(guarded.put(key, Buffer.from('x'), 'text/plain')).rejects.toThrow(/Unsafe storage key/);
      await expect(guarded.get(key)).rejects.toThrow(/Unsafe storage key/);
      await expect(guarded.delete(key)).rejects.toThrow(/Unsafe storage key/);
      await expect(guarded.exists(key)).rejects.toThrow(/Unsafe storage key/);
      await expect(guarded.signedUrl(key)).rejects.toThrow(/Unsafe storage key/);
      expect(sent).toEqual([]);
    });
  });

  describe('server-side encryption', () => {
    async function putWith(overrides: Partial<S3ObjectStorageOptions>): Promise<Recorded> {
      const { client, sent } = recordingClient(endpoint);
      extraClients.push(client);
      const encrypted = makeStorage({ ...overrides, client });
      await encrypted.put('sse/object.txt', Buffer.from('secret'), 'text/plain');
      const puts = sent.filter((r) => r.command === 'PutObjectCommand');
      expect(puts).toHaveLength(1);
      return puts[0]!;
    }

    it('when sse is AES256, then the upload asks for AES256 and names no KMS key', async () => {
      const put = await putWith({ sse: 'AES256' });

      expect(put.input.ServerSideEncryption).toBe('AES256');
      expect(put.input).not.toHaveProperty('SSEKMSKeyId');
      expect(put.headers['x-amz-server-side-encryption']).toBe('AES256');
      expect(put.headers).not.toHaveProperty('x-amz-server-side-encryption-aws-kms-key-id');
    });

    it('when sse is aws:kms with a key id, then the upload asks for KMS with that key', async () => {
      const put = await putWith({ sse: 'aws:kms', kmsKeyId: 'arn:aws:kms:us-east-1:111122223333:key/rfy' });

      expect(put.input.ServerSideEncryption).toBe('aws:kms');
      expect(put.input.SSEKMSKeyId).toBe('arn:aws:kms:us-east-1:111122223333:key/rfy');
      expect(put.headers['x-amz-server-side-encryption']).toBe('aws:kms');
      expect(put.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBe('arn:aws:kms:us-east-1:111122223333:key/rfy');
    });

    it('when sse is none, then the upload carries no encryption parameters', async () => {
      const put = await putWith({ sse: 'none' });

      expect(put.input).not.toHaveProperty('ServerSideEncryption');
      expect(put.input).not.toHaveProperty('SSEKMSKeyId');
      expect(Object.keys(put.headers).filter((h) => h.startsWith('x-amz-server-side-encryption'))).toEqual([]);
    });

    it('when an object is put, then content type and length are sent and no optional checksum is', async () => {
      const put = await putWith({ sse: 'AES256' });

      expect(put.input.ContentType).toBe('text/plain');
      expect(put.input.ContentLength).toBe(6);
      expect(put.headers['content-length']).toBe('6');
      expect(Object.keys(put.headers).filter((h) => h.startsWith('x-amz-checksum') || h.startsWith('x-amz-sdk-checksum'))).toEqual([]);
    });
  });

  describe('presigned URLs', () => {
    const checksumParams = (url: string): string[] =>
      [...new URL(url).searchParams.keys()].filter((k) => /^x-amz-(sdk-)?checksum/i.test(k));

    it('when a presigned URL is fetched with a plain GET, then it returns the object', async () => {
      const body = binaryBody();
      await storage.put('tours/7/clip.mp4', body, 'video/mp4');
      const url = await storage.signedUrl('tours/7/clip.mp4');

      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('video/mp4');
      expect(Buffer.from(await res.arrayBuffer())).toEqual(body);
    });

    it('when a presigned URL is made, then it carries no checksum parameters', async () => {
      const url = await storage.signedUrl('tours/7/clip.mp4');

      expect(checksumParams(url)).toEqual([]);
      // The assertion above is meaningful: with the SDK default the same URL would carry one.
      const defaultClient = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: CREDENTIALS });
      extraClients.push(defaultClient);
      const defaultUrl = await getSignedUrl(defaultClient, new GetObjectCommand({ Bucket: BUCKET, Key: 'tours/7/clip.mp4' }), {
        expiresIn: 60,
      });
      expect(checksumParams(defaultUrl)).toEqual(['x-amz-checksum-mode']);
    });

    it('when no lifetime is given, then the URL lasts the default; when one is, then it lasts that', async () => {
      const byDefault = new URL(await storage.signedUrl('tours/7/clip.mp4'));
      const explicit = new URL(await storage.signedUrl('tours/7/clip.mp4', 60));

      expect(byDefault.searchParams.get('X-Amz-Expires')).toBe('900');
      expect(explicit.searchParams.get('X-Amz-Expires')).toBe('60');
      expect(byDefault.pathname).toBe(`/${BUCKET}/tours/7/clip.mp4`);
    });

    it('when the lifetime is not positive or exceeds a week, then signedUrl rejects', async () => {
      await expect(storage.signedUrl('tours/7/clip.mp4', 0)).rejects.toThrow(/lifetime/);
      await expect(storage.signedUrl('tours/7/clip.mp4', -5)).rejects.toThrow(/lifetime/);
      await expect(storage.signedUrl('tours/7/clip.mp4', 7 * 86_400 + 1)).rejects.toThrow(/lifetime/);
      expect(() => makeStorage({ defaultTtlSeconds: 0 })).toThrow(/lifetime/);
    });

    it('when the presigned URL names an unknown access key, then the server answers 403', async () => {
      await storage.put('tours/7/forged.txt', Buffer.from('x'), 'text/plain');
      const url = new URL(await storage.signedUrl('tours/7/forged.txt'));
      const credential = url.searchParams.get('X-Amz-Credential')!;
      url.searchParams.set('X-Amz-Credential', credential.replace(/^S3RVER\//, 'FORGED/'));

      const res = await fetch(url);
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('InvalidAccessKeyId');
    });

    it('when the signature is altered, then s3rver still serves it, because it does not verify SigV4 signatures', async () => {
      // s3rver 3.7 only checks V2 signatures; for V4 it looks up the access key and the expiry
      // and accepts any signature (lib/middleware/authentication.js). Real S3 answers 403
      // SignatureDoesNotMatch. This test pins the fake's behaviour so that, if s3rver starts
      // verifying, it fails and is turned into the 403 assertion.
      const url = new URL(await storage.signedUrl('tours/7/forged.txt'));
      const signature = url.searchParams.get('X-Amz-Signature')!;
      const altered = (signature[0] === '0' ? '1' : '0') + signature.slice(1);
      url.searchParams.set('X-Amz-Signature', altered);

      const res = await fetch(url);
      expect(res.status).toBe(200);
    });

    it('when a presigned URL has expired, then the server answers 403', async () => {
      await storage.put('tours/7/short-lived.txt', Buffer.from('brief'), 'text/plain');
      const url = await storage.signedUrl('tours/7/short-lived.txt', 1);
      // X-Amz-Date has one-second resolution, so wait past a whole extra second.
      await sleep(2_100);

      const res = await fetch(url);
      expect(res.status).toBe(403);
      const text = await res.text();
      expect(text).toContain('AccessDenied');
      expect(text).toContain('Request has expired');
    });
  });
});
