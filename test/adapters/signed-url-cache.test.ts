import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { LocalObjectStorage, verifySignedUrl } from '../../adapters/storage/local';
import { S3ObjectStorage } from '../../adapters/storage/s3';
import { SharedSignedUrls } from '../../adapters/storage/url-cache';

// s3rver ships no type declarations; this is the part of its API used here.
type S3rverConstructor = new (options: { port: number; address: string; silent: boolean; directory: string; configureBuckets: { name: string }[] }) => {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as S3rverConstructor;

const SECRET = 'c'.repeat(64);
const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);

function parts(url: string) {
  const u = new URL(url);
  return {
    key: u.pathname.replace(/^\/files\//, '').split('/').map(decodeURIComponent).join('/'),
    expires: u.searchParams.get('expires') ?? undefined,
    signature: u.searchParams.get('signature') ?? undefined,
  };
}

describe('SharedSignedUrls', () => {
  function make(opts: { ttlSeconds?: number; maxEntries?: number; maxLifetimeSeconds?: number } = {}) {
    // One second into a window (windows are a tenth of the lifetime, aligned to it).
    const clock = { now: NOW + 1_000 };
    const signed: Array<[string, number, number]> = [];
    const shared = new SharedSignedUrls({
      ttlSeconds: opts.ttlSeconds ?? 900,
      maxEntries: opts.maxEntries,
      maxLifetimeSeconds: opts.maxLifetimeSeconds,
      now: () => clock.now,
      check: (key) => {
        if (key.includes('..')) throw new Error(`Unsafe storage key: ${key}`);
      },
      sign: (key, expires, issuedAt) => {
        signed.push([key, expires, issuedAt]);
        return `u:${key}:${expires}:${issuedAt}`;
      },
    });
    return { clock, signed, shared };
  }

  it('when the same keys are asked again within the window, then the same URLs come back, signed once', async () => {
    const { clock, signed, shared } = make();
    const first = await shared.urls(['a/1.webp', 'a/2.webp']);
    clock.now += 30_000;
    const second = await shared.urls(['a/2.webp', 'a/1.webp']);
    expect(second).toEqual([first[1], first[0]]);
    expect(signed.map(([k]) => k)).toEqual(['a/1.webp', 'a/2.webp']);
  });

  it('when a URL is handed out, then it stays valid for at least the lifetime and at most one window more', async () => {
    const { clock, signed, shared } = make({ ttlSeconds: 900 });
    for (let step = 0; step < 40; step++) {
      clock.now = NOW + step * 7_777;
      await shared.urls(['k']);
      const [, expires, issuedAt] = signed[signed.length - 1]!;
      const nowSeconds = Math.floor(clock.now / 1000);
      expect(expires - nowSeconds).toBeGreaterThanOrEqual(900);
      expect(expires - nowSeconds).toBeLessThan(900 + 90);
      expect(issuedAt).toBeLessThanOrEqual(nowSeconds);
      expect(expires - issuedAt).toBe(900 + 90);
    }
  });

  it('when the window has passed, then the key is signed anew with a later expiry', async () => {
    const { clock, signed, shared } = make({ ttlSeconds: 900 });
    const [first] = await shared.urls(['k']);
    clock.now += 90_000;
    const [second] = await shared.urls(['k']);
    expect(second).not.toBe(first);
    expect(signed).toHaveLength(2);
    expect(signed[1]![1] - signed[0]![1]).toBe(90);
  });

  it('when a key is unsafe, then the call rejects and nothing is signed', async () => {
    const { signed, shared } = make();
    await expect(shared.urls(['a/ok.webp', '../etc/passwd'])).rejects.toThrow(/Unsafe storage key/);
    expect(signed.map(([k]) => k)).toEqual(['a/ok.webp']);
    expect(shared.size).toBe(1);
  });

  it('when more keys than the bound are signed, then the oldest are forgotten', async () => {
    const { shared } = make({ maxEntries: 3 });
    await shared.urls(['a', 'b', 'c', 'd', 'e']);
    expect(shared.size).toBe(3);
  });

  it('when the lifetime leaves no room under the maximum, then every URL is signed anew for exactly the lifetime', async () => {
    const { signed, shared } = make({ ttlSeconds: 600, maxLifetimeSeconds: 600 });
    await shared.urls(['k']);
    await shared.urls(['k']);
    expect(signed).toHaveLength(2);
    expect(signed[0]![1]).toBe(NOW / 1000 + 1 + 600);
    expect(shared.size).toBe(0);
  });

  it('when an asynchronous signature fails, then it is not kept and the next call signs again', async () => {
    let calls = 0;
    const shared = new SharedSignedUrls({
      ttlSeconds: 900,
      now: () => NOW,
      check: () => undefined,
      sign: async (key) => {
        calls += 1;
        if (calls === 1) throw new Error('no credentials yet');
        return `u:${key}`;
      },
    });
    await expect(shared.urls(['k'])).rejects.toThrow(/no credentials/);
    await expect(shared.urls(['k'])).resolves.toEqual(['u:k']);
    await expect(shared.urls(['k'])).resolves.toEqual(['u:k']);
    expect(calls).toBe(2);
  });
});

describe('LocalObjectStorage.sharedSignedUrls', () => {
  let root: string;
  let now: number;
  let storage: LocalObjectStorage;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'rfy-shared-urls-'));
    now = NOW + 1_000;
    storage = new LocalObjectStorage({ dir: root, baseUrl: 'http://localhost:3000', secret: SECRET, defaultTtlSeconds: 900, now: () => now });
  });

  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('when URLs are shared, then each verifies for its key and works for at least the default lifetime', async () => {
    const urls = await storage.sharedSignedUrls(['properties/1/images/a b/processed.webp', 'properties/1/images/x/thumb.webp']);
    for (const [i, key] of ['properties/1/images/a b/processed.webp', 'properties/1/images/x/thumb.webp'].entries()) {
      const p = parts(urls[i]!);
      expect(p.key).toBe(key);
      expect(verifySignedUrl(SECRET, p.key, p.expires, p.signature, now + 899_000)).toBe('ok');
      expect(verifySignedUrl(SECRET, p.key, p.expires, p.signature, now + 990_000)).toBe('expired');
    }
  });

  it('when the same page is asked within the window, then the URLs are identical; later, they are new and valid', async () => {
    const [a] = await storage.sharedSignedUrls(['a/b.webp']);
    now += 45_000;
    const [b] = await storage.sharedSignedUrls(['a/b.webp']);
    expect(b).toBe(a);
    now += 90_000;
    const [c] = await storage.sharedSignedUrls(['a/b.webp']);
    expect(c).not.toBe(a);
    const p = parts(c!);
    expect(verifySignedUrl(SECRET, p.key, p.expires, p.signature, now + 899_000)).toBe('ok');
  });

  it('when a key is unsafe or names a sidecar, then it is refused as signedUrl refuses it', async () => {
    for (const key of ['../x', 'a//b', 'a/b.meta.json', '']) {
      await expect(storage.sharedSignedUrls(['ok/key.webp', key])).rejects.toThrow(/Unsafe storage key/);
    }
  });

  it('when signedUrl is asked for a lifetime, then it still expires exactly then', async () => {
    const p = parts(await storage.signedUrl('a/b.webp', 60));
    expect(Number(p.expires)).toBe(Math.floor(now / 1000) + 60);
  });
});

describe('S3ObjectStorage.sharedSignedUrls', () => {
  function s3(clock: { now: number }) {
    return new S3ObjectStorage({
      bucket: 'listings',
      region: 'us-east-1',
      sse: 'none',
      defaultTtlSeconds: 900,
      keyPrefix: 'prod',
      now: () => clock.now,
      // Presigning is local computation: no request is sent.
      client: new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } }),
    });
  }

  it('when URLs are presigned within a window, then they are identical, signed at the window start for lifetime + window', async () => {
    const clock = { now: NOW + 12_345 };
    const storage = s3(clock);
    const [first] = await storage.sharedSignedUrls(['a/b.webp']);
    clock.now += 30_000;
    const [again] = await storage.sharedSignedUrls(['a/b.webp']);
    expect(again).toBe(first);
    const url = new URL(first!);
    expect(url.pathname).toMatch(/\/prod\/a\/b\.webp$/);
    const signedAt = Date.parse(url.searchParams.get('X-Amz-Date')!.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
    const expiresAt = signedAt + Number(url.searchParams.get('X-Amz-Expires')) * 1000;
    expect(signedAt).toBeLessThanOrEqual(NOW + 12_345);
    expect(expiresAt).toBeGreaterThanOrEqual(NOW + 12_345 + 30_000 + 900_000);
    expect(Number(url.searchParams.get('X-Amz-Expires'))).toBe(990);
  });

  it('when a key is unsafe, then it is refused before anything is presigned', async () => {
    await expect(s3({ now: NOW }).sharedSignedUrls(['../x'])).rejects.toThrow(/Unsafe storage key/);
  });
});

describe('S3ObjectStorage.sharedSignedUrls against s3rver', () => {
  let root: string;
  let server: InstanceType<S3rverConstructor>;
  let client: S3Client;

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'rfy-shared-s3-'));
    server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: root, configureBuckets: [{ name: 'listings' }] });
    const { port } = await server.run();
    client = new S3Client({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });

  afterAll(async () => {
    client?.destroy();
    await server?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('when a shared URL (signed at the start of its window) is fetched, then S3 serves the object', async () => {
    const storage = new S3ObjectStorage({ bucket: 'listings', region: 'us-east-1', sse: 'none', defaultTtlSeconds: 900, client });
    await storage.put('properties/1/images/a/thumb.webp', Buffer.from('thumb bytes'), 'image/webp');
    const [url] = await storage.sharedSignedUrls(['properties/1/images/a/thumb.webp']);
    const res = await fetch(url!);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).toString()).toBe('thumb bytes');
    // s3rver checks a V4 URL's time (X-Amz-Date + X-Amz-Expires), not its signature: the
    // same URL cut to a lifetime that ended is refused, so the signing time is honoured.
    const lapsed = url!.replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=0');
    expect((await fetch(lapsed)).status).toBe(403);
  });
});
