import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { loadOrCreateSecret, LocalObjectStorage, verifySignedUrl } from '../../adapters/storage/local';
import { ObjectNotFoundError, ObjectTooLargeError } from '../../adapters/storage/port';

const SECRET = 'a'.repeat(64);
const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

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
      await storage.put('recordings/kept.bin', Buffer.from('the earlier upload'), 'audio/wav');
      await expect(storage.putStream('recordings/kept.bin', source(), 'audio/wav', { maxBytes: 8 * 1024 * 1024 })).rejects.toBeInstanceOf(ObjectTooLargeError);
      expect((await readAll((await storage.get('recordings/kept.bin')).body)).toString()).toBe('the earlier upload');
      expect(fs.readdirSync(path.join(dir, 'recordings'))).toEqual(['kept.bin', 'kept.bin.meta.json']);
    });

    it('when the body fails midway, then its error, and nothing is stored', async () => {
      await expect(storage.putStream('recordings/broken.bin', source(undefined, 7), 'audio/wav')).rejects.toThrow('the client went away');
      expect(await storage.exists('recordings/broken.bin')).toBe(false);
    });
  });

  describe('put, get, exists and delete', () => {
    it('when an object is put, then get returns its bytes, size and content type', async () => {
      const body = Buffer.from('RIFF....WEBPVP8 fake image bytes');
      const stored = await storage.put('avatars/12/ab12.webp', body, 'image/webp');
      expect(stored).toEqual({ key: 'avatars/12/ab12.webp', size: body.length, contentType: 'image/webp' });

      const got = await storage.get('avatars/12/ab12.webp');
      expect(got.size).toBe(body.length);
      expect(got.contentType).toBe('image/webp');
      expect(await readAll(got.body)).toEqual(body);
      expect(fs.readFileSync(path.join(dir, 'avatars', '12', 'ab12.webp'))).toEqual(body);
    });

    it('when an object is overwritten, then the new bytes and content type are returned and no temp file is left', async () => {
      await storage.put('docs/a', Buffer.from('first'), 'text/plain');
      await storage.put('docs/a', Buffer.from('second version'), 'application/pdf');
      const got = await storage.get('docs/a');
      expect(got.contentType).toBe('application/pdf');
      expect((await readAll(got.body)).toString()).toBe('second version');
      expect(fs.readdirSync(path.join(dir, 'docs')).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    });

    it('when exists is asked, then it is true after put and false after delete', async () => {
      expect(await storage.exists('recordings/1.mp4')).toBe(false);
      await storage.put('recordings/1.mp4', Buffer.from([1, 2, 3]), 'video/mp4');
      expect(await storage.exists('recordings/1.mp4')).toBe(true);
      await storage.delete('recordings/1.mp4');
      expect(await storage.exists('recordings/1.mp4')).toBe(false);
      await expect(storage.get('recordings/1.mp4')).rejects.toBeInstanceOf(ObjectNotFoundError);
    });

    it('when a missing key is read, then ObjectNotFoundError is thrown', async () => {
      await expect(storage.get('nothing/here.png')).rejects.toBeInstanceOf(ObjectNotFoundError);
    });

    it('when a key names a folder, then it is not an object', async () => {
      await storage.put('folder/inner.txt', Buffer.from('x'), 'text/plain');
      expect(await storage.exists('folder')).toBe(false);
      await expect(storage.get('folder')).rejects.toBeInstanceOf(ObjectNotFoundError);
    });

    it('when a missing key is deleted, then nothing is thrown', async () => {
      await expect(storage.delete('never/stored.bin')).resolves.toBeUndefined();
    });
  });

  describe('list', () => {
    it('when objects are listed by a folder or string prefix, then their keys come back sorted, without sidecars', async () => {
      await storage.put('recordings/tour-1/concatenated/audio/b.mp4', Buffer.from('b'), 'video/mp4');
      await storage.put('recordings/tour-1/concatenated/audio/a.mp4', Buffer.from('a'), 'video/mp4');
      await storage.put('recordings/tour-1/concatenated/meeting-events/a.txt', Buffer.from('{}'), 'text/plain');
      await storage.put('recordings/tour-10/upload.webm', Buffer.from('c'), 'video/webm');

      expect(await storage.list('recordings/tour-1/concatenated/audio/')).toEqual([
        'recordings/tour-1/concatenated/audio/a.mp4',
        'recordings/tour-1/concatenated/audio/b.mp4',
      ]);
      expect(await storage.list('recordings/tour-1/')).toHaveLength(3);
      // A string prefix, as S3 has it: tour-1 also matches tour-10.
      expect(await storage.list('recordings/tour-1')).toHaveLength(4);
      expect(await storage.list('')).toHaveLength(4);
    });

    it('when nothing is under the prefix, then the list is empty', async () => {
      expect(await storage.list('recordings/none/')).toEqual([]);
    });

    it('when the prefix tries to leave the folder, then it is refused', async () => {
      await expect(storage.list('../')).rejects.toThrow(/Unsafe storage prefix/);
      await expect(storage.list('/etc/')).rejects.toThrow(/Unsafe storage prefix/);
    });
  });

  describe('unsafe keys', () => {
    it.each(['../x', '/etc/passwd', 'a//b', 'a/./b', 'a/../../x', '', 'a\\..\\b', 'a\0b', 'a/b.meta.json'])(
      'when the key is %j, then every operation rejects it and nothing is written outside the folder',
      async (key) => {
        await expect(storage.put(key, Buffer.from('evil'), 'text/plain')).rejects.toThrow(/Unsafe storage key/);
        await expect(storage.get(key)).rejects.toThrow(/Unsafe storage key/);
        await expect(storage.exists(key)).rejects.toThrow(/Unsafe storage key/);
        await expect(storage.delete(key)).rejects.toThrow(/Unsafe storage key/);
        await expect(storage.signedUrl(key)).rejects.toThrow(/Unsafe storage key/);
        expect(fs.existsSync(path.join(root, 'x'))).toBe(false);
      },
    );
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
