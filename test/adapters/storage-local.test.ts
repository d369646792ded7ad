import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadOrCreateSecret, LocalObjectStorage, verifySignedUrl } from '../../adapters/storage/local';
import { ObjectTooLargeError } from '../../adapters/storage/port';
import { describeStorageContract, mebibyteChunks } from '../support/storage-contract';

const SECRET = 'a'.repeat(64);
const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);

function signedParts(url: string): { key: string; expires: string | undefined; signature: string | undefined } {
  const parsed = new URL(url);
  const key = parsed.pathname.replace(/^\/files\//, '').split('/').map(decodeURIComponent).join('/');
  return {
    key,
    expires: parsed.searchParams.get('expires') ?? undefined,
    signature: parsed.searchParams.get('signature') ?? undefined,
  };
}

describe('LocalObjectStorage', () => {
  let root: string;
  let dir: string;
  let storage: LocalObjectStorage;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'rfy-storage-'));
    dir = path.join(root, 'objects');
    storage = new LocalObjectStorage({
      dir,
      baseUrl: 'http://localhost:3000/',
      secret: SECRET,
      defaultTtlSeconds: 900,
      now: () => NOW,
    });
  });

  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** Every file under the temporary root, for checking that a refusal wrote nothing anywhere. */
  const filesUnderRoot = () => (fs.readdirSync(root, { recursive: true }) as string[]).sort();

  describeStorageContract({
    storage: () => storage,
    guarded: () => {
      const before = filesUnderRoot();
      return { storage, expectUntouched: () => expect(filesUnderRoot()).toEqual(before) };
    },
    // The sidecar holding an object's content type is not an object of its own.
    moreUnsafeKeys: [['a sidecar name', 'a/b.meta.json']],
  });

  describe('files under the folder', () => {
    it('when an object is put, then it is a file at its key under the folder', async () => {
      const body = Buffer.from('RIFF....WEBPVP8 fake image bytes');
      await storage.put('avatars/12/ab12.webp', body, 'image/webp');
      expect(fs.readFileSync(path.join(dir, 'avatars', '12', 'ab12.webp'))).toEqual(body);
    });

    it('when an object is overwritten, then no temp file is left', async () => {
      await storage.put('docs/a', Buffer.from('first'), 'text/plain');
      await storage.put('docs/a', Buffer.from('second version'), 'application/pdf');
      expect(fs.readdirSync(path.join(dir, 'docs')).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    });

    it('when a streamed body passes maxBytes, then only the earlier object and its sidecar are left: no partial or temp file', async () => {
      await storage.put('recordings/kept.bin', Buffer.from('the earlier upload'), 'audio/wav');
      await expect(storage.putStream('recordings/kept.bin', mebibyteChunks(), 'audio/wav', { maxBytes: 8 * 1024 * 1024 })).rejects.toBeInstanceOf(ObjectTooLargeError);
      expect(fs.readdirSync(path.join(dir, 'recordings'))).toEqual(['kept.bin', 'kept.bin.meta.json']);
    });

    it('when everything is listed, then the sidecars are not', async () => {
      await storage.put('a/one.txt', Buffer.from('1'), 'text/plain');
      await storage.put('b/two.txt', Buffer.from('2'), 'text/plain');
      expect(await storage.list('')).toEqual(['a/one.txt', 'b/two.txt']);
    });
  });

  describe('signed URLs', () => {
    it('when a URL is signed, then it has the documented shape and verifies ok', async () => {
      const url = await storage.signedUrl('avatars/12/ab 12.webp', 60);
      const expires = NOW / 1000 + 60;
      expect(url).toMatch(
        new RegExp(`^http://localhost:3000/files/avatars/12/ab%2012\\.webp\\?expires=${expires}&signature=[0-9a-f]{64}$`),
      );
      const { key, expires: exp, signature } = signedParts(url);
      expect(key).toBe('avatars/12/ab 12.webp');
      expect(verifySignedUrl(SECRET, key, exp, signature, NOW)).toBe('ok');
    });

    it('when no lifetime is given, then the default lifetime applies', async () => {
      const { expires } = signedParts(await storage.signedUrl('a/b.png'));
      expect(Number(expires)).toBe(NOW / 1000 + 900);
    });

    it('when the signature is tampered with, then it is invalid', async () => {
      const { key, expires, signature } = signedParts(await storage.signedUrl('a/b.png'));
      const flipped = (signature ?? '').replace(/^./, (c) => (c === '0' ? '1' : '0'));
      expect(verifySignedUrl(SECRET, key, expires, flipped, NOW)).toBe('invalid');
      expect(verifySignedUrl(SECRET, key, expires, (signature ?? '').slice(0, 10), NOW)).toBe('invalid');
      expect(verifySignedUrl(SECRET, key, expires, undefined, NOW)).toBe('invalid');
    });

    it('when the key is changed, then it is invalid', async () => {
      const { expires, signature } = signedParts(await storage.signedUrl('a/b.png'));
      expect(verifySignedUrl(SECRET, 'a/c.png', expires, signature, NOW)).toBe('invalid');
    });

    it('when expires is changed, then it is invalid', async () => {
      const { key, expires, signature } = signedParts(await storage.signedUrl('a/b.png'));
      expect(verifySignedUrl(SECRET, key, String(Number(expires) + 3600), signature, NOW)).toBe('invalid');
      expect(verifySignedUrl(SECRET, key, `${expires}.0`, signature, NOW)).toBe('invalid');
      expect(verifySignedUrl(SECRET, key, 'soon', signature, NOW)).toBe('invalid');
      expect(verifySignedUrl(SECRET, key, undefined, signature, NOW)).toBe('invalid');
    });

    it('when another secret verifies it, then it is invalid', async () => {
      const { key, expires, signature } = signedParts(await storage.signedUrl('a/b.png'));
      expect(verifySignedUrl('b'.repeat(64), key, expires, signature, NOW)).toBe('invalid');
    });

    it('when the link is past its expiry, then it is expired', async () => {
      const { key, expires, signature } = signedParts(await storage.signedUrl('a/b.png', 60));
      expect(verifySignedUrl(SECRET, key, expires, signature, NOW + 59_000)).toBe('ok');
      expect(verifySignedUrl(SECRET, key, expires, signature, NOW + 60_000)).toBe('expired');
      expect(verifySignedUrl(SECRET, key, expires, signature, NOW + 3_600_000)).toBe('expired');
    });

    it('when the storage clock has moved on, then a new link is signed from the new time', async () => {
      let now = NOW;
      const clocked = new LocalObjectStorage({ dir, baseUrl: 'http://x', secret: SECRET, defaultTtlSeconds: 60, now: () => now });
      const first = signedParts(await clocked.signedUrl('a/b.png'));
      now += 3_600_000;
      const second = signedParts(await clocked.signedUrl('a/b.png'));
      expect(verifySignedUrl(SECRET, first.key, first.expires, first.signature, now)).toBe('expired');
      expect(verifySignedUrl(SECRET, second.key, second.expires, second.signature, now)).toBe('ok');
    });
  });

  describe('loadOrCreateSecret', () => {
    it('when called twice, then it returns the same secret from a 0600 file in a created folder', () => {
      const file = path.join(root, 'nested', 'keys', 'storage-signing.key');
      const first = loadOrCreateSecret(file);
      expect(first).toMatch(/^[0-9a-f]{64}$/);
      expect(loadOrCreateSecret(file)).toBe(first);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(fs.readdirSync(path.dirname(file))).toEqual(['storage-signing.key']);
    });

    it('when two files are used, then each gets its own random secret', () => {
      expect(loadOrCreateSecret(path.join(root, 'one.key'))).not.toBe(loadOrCreateSecret(path.join(root, 'two.key')));
    });

    it('when the file holds something else, then it throws instead of signing with it', () => {
      const file = path.join(root, 'bad.key');
      fs.writeFileSync(file, 'not a secret');
      expect(() => loadOrCreateSecret(file)).toThrow(/malformed/);
    });
  });
});
