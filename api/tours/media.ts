import { Readable } from 'node:stream';

/** Audio and video containers we accept for tour recordings, judged by their first bytes. */
export interface MediaType {
  contentType: string;
  extension: string;
}

export function detectMediaType(buf: Buffer): MediaType | null {
  const ascii = (from: number, to: number) => (buf.length >= to ? buf.toString('latin1', from, to) : '');
  if (ascii(0, 3) === 'ID3' || (buf.length > 2 && buf[0] === 0xff && (buf[1]! & 0xe0) === 0xe0 && (buf[1]! & 0x06) !== 0)) {
    return { contentType: 'audio/mpeg', extension: 'mp3' };
  }
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WAVE') return { contentType: 'audio/wav', extension: 'wav' };
  if (ascii(0, 4) === 'OggS') return { contentType: 'audio/ogg', extension: 'ogg' };
  if (ascii(0, 4) === 'fLaC') return { contentType: 'audio/flac', extension: 'flac' };
  if (buf.length >= 4 && buf.readUInt32BE(0) === 0x1a45dfa3) return { contentType: 'video/webm', extension: 'webm' };
  if (ascii(4, 8) === 'ftyp') {
    const brand = ascii(8, 12);
    if (brand.startsWith('M4A')) return { contentType: 'audio/mp4', extension: 'm4a' };
    if (brand === 'qt  ') return { contentType: 'video/quicktime', extension: 'mov' };
    // Image brands (HEIF/AVIF) share the container; they are not recordings.
    if (['heic', 'heix', 'mif1', 'msf1', 'avif', 'avis'].includes(brand)) return null;
    return { contentType: 'video/mp4', extension: 'mp4' };
  }
  return null;
}

/** Enough of the start of a file for detectMediaType. */
const SNIFF_BYTES = 64;

/**
 * The first bytes of a stream, and a stream that still yields the whole file (the same one
 * with the bytes put back, or, when it ended that soon, a new one of just those bytes).
 */
export async function peekStart(stream: Readable, bytes = SNIFF_BYTES): Promise<{ head: Buffer; stream: Readable }> {
  const chunks: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < bytes && !ended) {
    const chunk = stream.read() as Buffer | null;
    if (chunk) {
      chunks.push(chunk);
      length += chunk.length;
    } else {
      ended = await nextEvent(stream);
    }
  }
  const head = Buffer.concat(chunks);
  if (ended) return { head, stream: Readable.from([head], { objectMode: false }) };
  stream.unshift(head);
  return { head: head.subarray(0, bytes), stream };
}

/** Waits until the stream has more to read (false) or has ended (true); rejects on its error. */
function nextEvent(stream: Readable): Promise<boolean> {
  if (stream.errored) return Promise.reject(stream.errored);
  if (stream.readableEnded) return Promise.resolve(true);
  return new Promise<boolean>((resolve, reject) => {
    const settle = (fn: () => void) => () => {
      stream.off('readable', onReadable).off('end', onEnd).off('error', onError).off('close', onClose);
      fn();
    };
    const onReadable = settle(() => resolve(false));
    const onEnd = settle(() => resolve(true));
    const onError = (err: Error) => settle(() => reject(err))();
    // Destroyed without an error (the consumer gave up): there is nothing more to read.
    const onClose = settle(() => reject(new Error('The stream closed before it ended')));
    stream.on('readable', onReadable).once('end', onEnd).once('error', onError).once('close', onClose);
  });
}
