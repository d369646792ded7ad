import sharp from 'sharp';

/**
 * Judges an upload by its bytes, never by its name or Content-Type: the file signature
 * picks the format, then sharp must be able to read its header within the pixel limit
 * and decode its pixels.
 */

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'heif' | 'avif';

export class ImageRejectedError extends Error {
  constructor(
    readonly reason: 'unsupported_type' | 'too_many_pixels' | 'corrupt',
    message: string,
  ) {
    super(message);
    this.name = 'ImageRejectedError';
  }
}

/** The format the file's signature says, or null for anything we do not accept. */
export function detectImageFormat(buf: Buffer): ImageFormat | null {
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'jpeg';
  if (buf.length >= 8 && buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (buf.length >= 12 && buf.toString('ascii', 0, 4) === 'RIFF' && buf.toString('ascii', 8, 12) === 'WEBP') return 'webp';
  // ISO BMFF: size, 'ftyp', major brand, minor version, compatible brands.
  if (buf.length >= 12 && buf.toString('ascii', 4, 8) === 'ftyp') {
    const boxSize = Math.min(buf.readUInt32BE(0), buf.length, 256);
    const brands: string[] = [buf.toString('ascii', 8, 12)];
    for (let off = 16; off + 4 <= boxSize; off += 4) brands.push(buf.toString('ascii', off, off + 4));
    if (brands.some((b) => b === 'avif' || b === 'avis')) return 'avif';
    if (brands.some((b) => ['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1'].includes(b))) return 'heif';
  }
  return null;
}

export interface InspectedImage {
  format: ImageFormat;
  width: number;
  height: number;
  contentType: string;
}

const CONTENT_TYPES: Record<ImageFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  heif: 'image/heic',
  avif: 'image/avif',
};

export async function inspectImage(buf: Buffer, opts: { maxPixels: number }): Promise<InspectedImage> {
  const format = detectImageFormat(buf);
  if (!format) throw new ImageRejectedError('unsupported_type', 'Only JPEG, PNG, WebP, HEIC and AVIF images are accepted');
  let meta: sharp.Metadata;
  try {
    // Header only, nothing decoded: sharp's own default pixel cap would otherwise refuse a
    // bomb here as "unreadable" instead of letting our limit name its size.
    meta = await sharp(buf, { failOn: 'error', limitInputPixels: false }).metadata();
  } catch {
    throw new ImageRejectedError('corrupt', 'The image could not be read; it may be truncated or corrupt');
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (!width || !height) throw new ImageRejectedError('corrupt', 'The image has no dimensions');
  if (width * height > opts.maxPixels) {
    throw new ImageRejectedError('too_many_pixels', `The image has ${width * height} pixels; at most ${opts.maxPixels} are accepted`);
  }
  if (!isComplete(format, buf)) throw new ImageRejectedError('corrupt', 'The image is truncated or corrupt');
  // sharp's prebuilt libvips decodes AVIF but not HEVC-coded HEIF (patents): refuse such a
  // file now rather than accept it and fail in the background.
  if (format === 'heif' && meta.compression === 'hevc') {
    throw new ImageRejectedError('unsupported_type', 'HEVC-coded HEIC images cannot be processed here; upload JPEG, PNG, WebP or AVIF');
  }
  try {
    // A full decode (stats read every pixel): a file whose structure is sound but whose
    // compressed data is not is refused now, not accepted and failed in the background.
    await sharp(buf, { failOn: 'error', limitInputPixels: opts.maxPixels }).stats();
  } catch {
    throw new ImageRejectedError('corrupt', 'The image data could not be decoded; it may be corrupt');
  }
  return { format, width, height, contentType: CONTENT_TYPES[format] };
}

/**
 * Whether the file's container runs to its end marker, judged from its structure without
 * decoding: sharp reads a header happily from a file cut off after it, and such an upload
 * must be refused, not left to fail later in the background.
 */
function isComplete(format: ImageFormat, buf: Buffer): boolean {
  switch (format) {
    case 'jpeg':
      return jpegReachesEnd(buf);
    case 'png':
      return pngReachesEnd(buf);
    case 'webp':
      // RIFF size counts everything after its 8-byte header.
      return buf.length >= 12 && 8 + buf.readUInt32LE(4) <= buf.length;
    case 'heif':
    case 'avif':
      return boxesFit(buf);
  }
}

/** Walks the marker segments and scans' entropy-coded data up to EOI. */
function jpegReachesEnd(buf: Buffer): boolean {
  let i = 2;
  while (i < buf.length) {
    // Like libjpeg, skip stray bytes before a marker; 0xFF runs are fill.
    if (buf[i] !== 0xff) {
      i++;
      continue;
    }
    while (i < buf.length && buf[i] === 0xff) i++;
    if (i >= buf.length) return false;
    const marker = buf[i]!;
    i++;
    if (marker === 0xd9) return true;
    if (marker === 0x00 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (i + 2 > buf.length) return false;
    const length = buf.readUInt16BE(i);
    if (length < 2 || i + length > buf.length) return false;
    i += length;
    if (marker === 0xda) {
      // Entropy-coded data: 0xFF is stuffed as FF 00 and restart markers may appear;
      // any other marker ends the scan.
      while (i + 1 < buf.length && !endsScan(buf[i]!, buf[i + 1]!)) i++;
      if (i + 1 >= buf.length) return false;
    }
  }
  return false;
}

function endsScan(a: number, b: number): boolean {
  return a === 0xff && b !== 0x00 && b !== 0xff && !(b >= 0xd0 && b <= 0xd7);
}

/** Walks the chunks: each must fit in the file, and IEND must be reached. */
function pngReachesEnd(buf: Buffer): boolean {
  let i = 8;
  while (i + 12 <= buf.length) {
    const length = buf.readUInt32BE(i);
    const type = buf.toString('ascii', i + 4, i + 8);
    if (length > 0x7fffffff || i + 12 + length > buf.length) return false;
    if (type === 'IEND') return true;
    i += 12 + length;
  }
  return false;
}

/** ISO BMFF: the top-level boxes must tile the file without running past its end. */
function boxesFit(buf: Buffer): boolean {
  let i = 0;
  let boxes = 0;
  while (i < buf.length) {
    if (i + 8 > buf.length) return false;
    let size = buf.readUInt32BE(i);
    if (size === 1) {
      if (i + 16 > buf.length) return false;
      size = Number(buf.readBigUInt64BE(i + 8));
    } else if (size === 0) {
      // The last box runs to the end of the file.
      return boxes > 0;
    }
    if (size < 8 || i + size > buf.length) return false;
    i += size;
    boxes++;
  }
  return boxes > 1;
}

/**
 * Decodes fully (so a truncated file fails here, not later), turns it upright from its
 * EXIF orientation, drops all metadata and writes WebP fitted inside the box.
 */
export async function renderWebp(
  buf: Buffer,
  box: { width: number; height: number; fit: 'inside' | 'cover' },
  maxPixels: number,
): Promise<{ data: Buffer; width: number; height: number }> {
  try {
    const { data, info } = await sharp(buf, { failOn: 'error', limitInputPixels: maxPixels })
      .rotate()
      .resize({ width: box.width, height: box.height, fit: box.fit, withoutEnlargement: box.fit === 'inside' })
      .webp({ quality: 82 })
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  } catch (err) {
    throw new ImageRejectedError('corrupt', `The image could not be decoded: ${(err as Error).message.split('\n')[0]}`);
  }
}
