import sharp from 'sharp';

/**
 * Judges an upload by its bytes, never by its name or Content-Type: the file signature
 * picks the format, then sharp must be able to read its header within the pixel limit.
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
    meta = await sharp(buf, { failOn: 'error' }).metadata();
  } catch {
    throw new ImageRejectedError('corrupt', 'The image could not be read; it may be truncated or corrupt');
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (!width || !height) throw new ImageRejectedError('corrupt', 'The image has no dimensions');
  if (width * height > opts.maxPixels) {
    throw new ImageRejectedError('too_many_pixels', `The image has ${width * height} pixels; at most ${opts.maxPixels} are accepted`);
  }
  return { format, width, height, contentType: CONTENT_TYPES[format] };
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
