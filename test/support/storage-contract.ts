import { Readable } from 'node:stream';
import { ObjectNotFoundError, ObjectTooLargeError, type ObjectStorage } from '../../adapters/storage/port';

/**
 * What every implementation of the storage port must do, run against each one (local
 * files, S3 through s3rver) by its own test file, which adds what only it does (files
 * on disk, signed links, encryption, presigning). Keys live under `contract/`, so the
 * suite can share a bucket with the implementation's other tests.
 */

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/** Every byte value, so an encoding slip anywhere on the way shows up. */
export function binaryBody(): Buffer {
  return Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
}

/** `chunks` chunks of 1 MiB, each filled with its index; endless when undefined; failing before chunk `failAfter`. */
export function mebibyteChunks(chunks?: number, failAfter?: number): Readable {
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

/** Keys the port refuses whatever the implementation. */
export const UNSAFE_KEYS: Array<[label: string, key: string]> = [
  ['empty', ''],
  ['absolute', '/etc/passwd'],
  ['a parent reference', '../escape.txt'],
  ['a nested parent reference', 'a/../../b'],
  ['an empty segment', 'a//b'],
  ['a dot segment', 'a/./b'],
  ['a backslash', 'a\\..\\b'],
  ['a NUL byte', 'nul\0byte'],
  ['over 1024 characters', 'x'.repeat(1025)],
];

export interface StorageUnderContract {
  /** The storage under test, made by the caller's hooks. */
  storage(): ObjectStorage;
  /**
   * A storage for the refusal tests, and a check that what was refused reached nothing
   * (no file written anywhere, no request sent).
   */
  guarded(): { storage: ObjectStorage; expectUntouched(): void };
  /** Keys this implementation refuses on top of the port's rules. */
  moreUnsafeKeys?: Array<[label: string, key: string]>;
}

export function describeStorageContract(subject: StorageUnderContract): void {
  describe('the storage port contract', () => {
    const storage = () => subject.storage();

    describe('putStream', () => {
      it('when a body of several parts is streamed, then get returns every byte with its size and type', async () => {
        const stored = await storage().putStream('contract/stream/long.bin', mebibyteChunks(12), 'video/mp4', { maxBytes: 12 * 1024 * 1024 });
        expect(stored).toEqual({ key: 'contract/stream/long.bin', size: 12 * 1024 * 1024, contentType: 'video/mp4' });
        const got = await storage().get('contract/stream/long.bin');
        expect(got.size).toBe(12 * 1024 * 1024);
        expect(got.contentType).toBe('video/mp4');
        const bytes = await readAll(got.body);
        expect(bytes.equals(Buffer.concat(Array.from({ length: 12 }, (_, i) => Buffer.alloc(1024 * 1024, i))))).toBe(true);
      });

      it('when an endless body passes maxBytes, then ObjectTooLargeError mid-stream, and the earlier object at the key is untouched', async () => {
        await storage().put('contract/kept/kept.bin', Buffer.from('the earlier upload'), 'audio/wav');
        await expect(storage().putStream('contract/kept/kept.bin', mebibyteChunks(), 'audio/wav', { maxBytes: 8 * 1024 * 1024 })).rejects.toBeInstanceOf(ObjectTooLargeError);
        expect((await readAll((await storage().get('contract/kept/kept.bin')).body)).toString()).toBe('the earlier upload');
        expect(await storage().list('contract/kept/')).toEqual(['contract/kept/kept.bin']);
      });

      it('when the body fails midway, then its error, and nothing is stored', async () => {
        await expect(storage().putStream('contract/stream/broken.bin', mebibyteChunks(undefined, 7), 'audio/wav')).rejects.toThrow('the client went away');
        expect(await storage().exists('contract/stream/broken.bin')).toBe(false);
        expect(await storage().list('contract/stream/broken')).toEqual([]);
      });
    });

    describe('put, get, exists and delete', () => {
      it('when an object is put, then get returns its bytes, size and content type', async () => {
        const body = binaryBody();
        const stored = await storage().put('contract/avatars/12/ab12.webp', body, 'image/webp');
        expect(stored).toEqual({ key: 'contract/avatars/12/ab12.webp', size: body.length, contentType: 'image/webp' });
        const got = await storage().get('contract/avatars/12/ab12.webp');
        expect(got.size).toBe(body.length);
        expect(got.contentType).toBe('image/webp');
        expect(await readAll(got.body)).toEqual(body);
      });

      it('when an object is put twice, then get returns the second version and its content type', async () => {
        await storage().put('contract/docs/overwrite.txt', Buffer.from('first'), 'text/plain');
        await storage().put('contract/docs/overwrite.txt', Buffer.from('second, longer'), 'application/pdf');
        const got = await storage().get('contract/docs/overwrite.txt');
        expect(got.contentType).toBe('application/pdf');
        expect((await readAll(got.body)).toString()).toBe('second, longer');
      });

      it('when an empty object is put, then get returns zero bytes', async () => {
        await storage().put('contract/docs/empty.bin', Buffer.alloc(0), 'application/octet-stream');
        const got = await storage().get('contract/docs/empty.bin');
        expect(got.size).toBe(0);
        expect(await readAll(got.body)).toEqual(Buffer.alloc(0));
      });

      it('when exists is asked, then it is true after put and false after delete, and get then rejects with ObjectNotFoundError', async () => {
        expect(await storage().exists('contract/recordings/1.mp4')).toBe(false);
        await storage().put('contract/recordings/1.mp4', Buffer.from([1, 2, 3]), 'video/mp4');
        expect(await storage().exists('contract/recordings/1.mp4')).toBe(true);
        await storage().delete('contract/recordings/1.mp4');
        expect(await storage().exists('contract/recordings/1.mp4')).toBe(false);
        await expect(storage().get('contract/recordings/1.mp4')).rejects.toBeInstanceOf(ObjectNotFoundError);
      });

      it('when a key was never put, then get rejects with ObjectNotFoundError', async () => {
        await expect(storage().get('contract/nothing/here.png')).rejects.toBeInstanceOf(ObjectNotFoundError);
      });

      it('when a key names a folder, then it is not an object', async () => {
        await storage().put('contract/folder/inner.txt', Buffer.from('x'), 'text/plain');
        expect(await storage().exists('contract/folder')).toBe(false);
        await expect(storage().get('contract/folder')).rejects.toBeInstanceOf(ObjectNotFoundError);
      });

      it('when a missing key is deleted, then delete resolves', async () => {
        await expect(storage().delete('contract/never/stored.bin')).resolves.toBeUndefined();
      });
    });

    describe('list', () => {
      it('when objects are listed by a folder or string prefix, then their keys come back sorted', async () => {
        await storage().put('contract/list/tour-1/audio/b.mp4', Buffer.from('b'), 'video/mp4');
        await storage().put('contract/list/tour-1/audio/a.mp4', Buffer.from('a'), 'video/mp4');
        await storage().put('contract/list/tour-1/meeting-events/a.txt', Buffer.from('{}'), 'text/plain');
        await storage().put('contract/list/tour-10/upload.webm', Buffer.from('c'), 'video/webm');

        expect(await storage().list('contract/list/tour-1/audio/')).toEqual(['contract/list/tour-1/audio/a.mp4', 'contract/list/tour-1/audio/b.mp4']);
        expect(await storage().list('contract/list/tour-1/')).toHaveLength(3);
        // A string prefix, as S3 has it: tour-1 also matches tour-10.
        expect(await storage().list('contract/list/tour-1')).toHaveLength(4);
      });

      it('when nothing is under the prefix, then the list is empty', async () => {
        expect(await storage().list('contract/none/')).toEqual([]);
      });

      it('when the prefix tries to leave the store, then it is refused', async () => {
        for (const prefix of ['../', '../x/', '/etc/']) await expect(storage().list(prefix)).rejects.toThrow(/Unsafe storage prefix/);
      });
    });

    describe('unsafe keys', () => {
      it.each([...UNSAFE_KEYS, ...(subject.moreUnsafeKeys ?? [])])('when the key is %s, then every operation rejects it and nothing is reached', async (_label, key) => {
        const { storage: guarded, expectUntouched } = subject.guarded();
        await expect(guarded.put(key, Buffer.from('evil'), 'text/plain')).rejects.toThrow(/Unsafe storage key/);
        await expect(guarded.putStream(key, Readable.from([Buffer.from('evil')]), 'text/plain')).rejects.toThrow(/Unsafe storage key/);
        await expect(guarded.get(key)).rejects.toThrow(/Unsafe storage key/);
        await expect(guarded.exists(key)).rejects.toThrow(/Unsafe storage key/);
        await expect(guarded.delete(key)).rejects.toThrow(/Unsafe storage key/);
        await expect(guarded.signedUrl(key)).rejects.toThrow(/Unsafe storage key/);
        expectUntouched();
      });
    });
  });
}
