import { IMAGE_STATUS } from '../../contracts/images';
import type { ListedImage, PropertyListing } from '../../db/repositories/properties.repository';
import type { ObjectStorage } from '../../adapters/storage/port';
import { resource } from '../envelope';

const num = (v: string | number | null) => (v === null || v === undefined ? null : Number(v));

/** Signed URLs by storage key. */
type Urls = ReadonlyMap<string, string>;

/**
 * The URLs every ready image of `images` shows, signed in one call: a page of listings
 * signs a hundred or more, and shared URLs are reused across requests (see
 * ObjectStorage.sharedSignedUrls).
 */
async function signImages(images: Iterable<ListedImage>, storage: ObjectStorage): Promise<Urls> {
  const keys: string[] = [];
  for (const img of images) {
    if (img.status !== IMAGE_STATUS.ready) continue;
    if (img.processed_key) keys.push(img.processed_key);
    if (img.thumbnail_key) keys.push(img.thumbnail_key);
  }
  if (!keys.length) return new Map();
  const urls = await storage.sharedSignedUrls(keys);
  const out = new Map<string, string>();
  for (let i = 0; i < keys.length; i++) out.set(keys[i]!, urls[i]!);
  return out;
}

function imageResource(img: ListedImage, urls: Urls) {
  const ready = img.status === IMAGE_STATUS.ready;
  return resource('property_image', img.id, {
    status: img.status,
    position: img.position,
    url: ready && img.processed_key ? urls.get(img.processed_key)! : null,
    thumbnail_url: ready && img.thumbnail_key ? urls.get(img.thumbnail_key)! : null,
    width: img.processed_width,
    height: img.processed_height,
    thumbnail_width: img.thumbnail_width,
    thumbnail_height: img.thumbnail_height,
    failure_reason: img.failure_reason,
    created_at: img.created_at.toISOString(),
  });
}

function propertyResource(p: PropertyListing, urls: Urls) {
  return resource(
    'property',
    p.id,
    {
      address: p.address,
      mls_id: p.mls_id,
      description: p.description,
      price: num(p.price),
      bedrooms: p.bedrooms,
      bathrooms: p.bathrooms,
      sqft: p.sqft,
      status: p.status,
      city: p.city,
      state: p.state,
      postal_code: p.postal_code,
      property_type: p.property_type,
      latitude: num(p.latitude),
      longitude: num(p.longitude),
      created_at: p.created_at.toISOString(),
      updated_at: p.updated_at.toISOString(),
    },
    {
      realtor: { data: { id: String(p.realtor_id), type: 'user', attributes: { full_name: p.realtor.full_name } } },
      images: { data: p.images.map((i) => imageResource(i, urls)) },
    },
  );
}

export async function presentImage(img: ListedImage, storage: ObjectStorage) {
  return imageResource(img, await signImages([img], storage));
}

/**
 * Properties with their realtors and images, as the repository lists them (images already
 * in display order, and already only the ready ones when the caller may see no others).
 */
export async function presentProperties(list: readonly PropertyListing[], storage: ObjectStorage) {
  const urls = await signImages(
    list.flatMap((p) => p.images),
    storage,
  );
  return list.map((p) => propertyResource(p, urls));
}

export async function presentProperty(p: PropertyListing, storage: ObjectStorage) {
  return propertyResource(p, await signImages(p.images, storage));
}
