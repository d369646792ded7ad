import { IMAGE_STATUS } from '../../contracts/images';
import type { ListedImage, PropertyListing } from '../../db/repositories/properties.repository';
import type { ObjectStorage } from '../../adapters/storage/port';
import { resource } from '../envelope';

const num = (v: string | number | null) => (v === null || v === undefined ? null : Number(v));

export async function presentImage(img: ListedImage, storage: ObjectStorage) {
  const ready = img.status === IMAGE_STATUS.ready;
  return resource('property_image', img.id, {
    status: img.status,
    position: img.position,
    url: ready && img.processed_key ? await storage.signedUrl(img.processed_key) : null,
    thumbnail_url: ready && img.thumbnail_key ? await storage.signedUrl(img.thumbnail_key) : null,
    width: img.processed_width,
    height: img.processed_height,
    thumbnail_width: img.thumbnail_width,
    thumbnail_height: img.thumbnail_height,
    failure_reason: img.failure_reason,
    created_at: img.created_at.toISOString(),
  });
}

/**
 * A property with its realtor and images, as the repository lists it (images already in
 * display order, and already only the ready ones when the caller may see no others).
 */
export async function presentProperty(p: PropertyListing, storage: ObjectStorage) {
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
      images: { data: await Promise.all(p.images.map((i) => presentImage(i, storage))) },
    },
  );
}
