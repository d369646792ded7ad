// Images: a few real files, shared by many rows.
import sharp from 'sharp';
import { renderWebp } from '../../adapters/images/inspect';
import type { ObjectStorage } from '../../adapters/storage/port';
import { LARGE, THUMBNAIL } from '../../activities/images.activities';

export interface SeedImage {
  originalKey: string;
  processedKey: string;
  thumbnailKey: string;
  byteSize: number;
  width: number;
  height: number;
  processedWidth: number;
  processedHeight: number;
  thumbnailWidth: number;
  thumbnailHeight: number;
}

const PALETTE = [
  ['#87ceeb', '#c0392b'], ['#b0e0e6', '#2e86c1'], ['#fcd5b5', '#27ae60'], ['#d6eaf8', '#8e44ad'],
  ['#fdebd0', '#d35400'], ['#e8f8f5', '#34495e'], ['#f9e79f', '#7b241c'], ['#d5d8dc', '#1abc9c'],
] as const;

/** A small house drawn on a sky of its own colour, rendered the way the image pipeline renders uploads. */
export async function storeSeedImages(storage: ObjectStorage): Promise<SeedImage[]> {
  const width = 1200;
  const height = 800;
  return Promise.all(
    PALETTE.map(async ([sky, house], i) => {
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
        <rect width="100%" height="100%" fill="${sky}"/>
        <rect y="560" width="100%" height="240" fill="#6ab04c"/>
        <polygon points="330,360 600,150 870,360" fill="#5d4037"/>
        <rect x="380" y="360" width="440" height="260" fill="${house}"/>
        <rect x="560" y="470" width="80" height="150" fill="#4e342e"/>
        <rect x="420" y="410" width="90" height="80" fill="#fffde7"/>
        <rect x="690" y="410" width="90" height="80" fill="#fffde7"/>
        <circle cx="1050" cy="130" r="60" fill="#fff59d"/>
      </svg>`;
      const original = await sharp(Buffer.from(svg)).jpeg({ quality: 80 }).toBuffer();
      const [large, thumb] = await Promise.all([renderWebp(original, LARGE, width * height), renderWebp(original, THUMBNAIL, width * height)]);
      const base = `seed/images/${i + 1}`;
      const image: SeedImage = {
        originalKey: `${base}/original.jpg`,
        processedKey: `${base}/large.webp`,
        thumbnailKey: `${base}/thumbnail.webp`,
        byteSize: original.length,
        width,
        height,
        processedWidth: large.width,
        processedHeight: large.height,
        thumbnailWidth: thumb.width,
        thumbnailHeight: thumb.height,
      };
      await storage.put(image.originalKey, original, 'image/jpeg');
      await storage.put(image.processedKey, large.data, 'image/webp');
      await storage.put(image.thumbnailKey, thumb.data, 'image/webp');
      return image;
    }),
  );
}
