import { ObjectNotFoundError, type ObjectStorage } from '../storage/port';
import type { ChimeMeetingProviderOptions } from './chime';
import { joinStoredRecordings } from './join-recordings';

/**
 * The storage side of Chime recording, through the storage port: find what the
 * concatenation pipelines wrote, read their meeting events, and join several captures
 * with ffmpeg. The storage must be the bucket the pipelines write to.
 */
export function chimeStorageHooks(storage: ObjectStorage): Required<Pick<ChimeMeetingProviderOptions, 'listKeys' | 'readText' | 'joinRecordings'>> {
  return {
    listKeys: (prefix) => storage.list(prefix),
    readText: (key) => readStoredText(storage, key),
    joinRecordings: async (keys, targetKey, opts) => {
      const joined = await joinStoredRecordings(storage, keys, targetKey, opts);
      return { partDurationsMs: joined.parts.map((p) => p.durationMs) };
    },
  };
}

/** A stored text object as UTF-8, or null when there is none. */
export async function readStoredText(storage: Pick<ObjectStorage, 'get'>, key: string): Promise<string | null> {
  let obj;
  try {
    obj = await storage.get(key);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return null;
    throw err;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of obj.body) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks).toString('utf8');
}
