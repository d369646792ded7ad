import { z } from 'zod';
import type { ObjectStorage } from '../../adapters/storage/port';
import { sendData, sendPage } from '../envelope';
import { actorOf, defineRoute, type AnyRouteSpec } from '../routing';
import { idParams } from '../schemas';
import { presentImage, presentProperties, presentProperty } from './presenter';
import {
  adminListQuery,
  adminUpdatePropertyBody,
  buyerSearchQuery,
  createPropertyBody,
  imageParams,
  imagePositionBody,
  imageResource,
  propertyResource,
  realtorListQuery,
  updatePropertyBody,
  type SearchFilters,
} from './schemas';
import type { PropertyService } from './service';
import type { PropertyListing } from '../../db/repositories/properties.repository';

export interface PropertyRouteOptions {
  imageMaxBytes: number;
  imageMaxFiles: number;
}

export function propertyRoutes(properties: PropertyService, storage: ObjectStorage, opts: PropertyRouteOptions): AnyRouteSpec[] {
  // The service already chose which images the caller may see.
  const present = (p: PropertyListing) => presentProperty(p, storage);
  const notFound = { 404: { description: 'No such property (or not yours)' } };

  const list = (area: 'realtors' | 'buyers' | 'admin', query: z.ZodType, summary: string) =>
    defineRoute({
      method: 'get',
      path: `/api/v1/${area}/properties`,
      summary,
      tags: [`${area === 'admin' ? 'Admin' : area === 'realtors' ? 'Realtor' : 'Buyer'}: properties`],
      query,
      responses: { 200: { description: 'A page of properties, each with its realtor and images', data: z.array(propertyResource), paginated: true } },
      async handler(ctx, input) {
        const { items, meta } = await properties.search(actorOf(input), input.query as SearchFilters);
        sendPage(ctx, await presentProperties(items, storage), meta);
      },
    });

  const get = (area: 'realtors' | 'buyers' | 'admin', tag: string) =>
    defineRoute({
      method: 'get',
      path: `/api/v1/${area}/properties/:id`,
      summary: 'Get a property with its realtor and images',
      tags: [tag],
      params: idParams,
      responses: { 200: { description: 'The property', data: propertyResource }, ...notFound },
      async handler(ctx, input) {
        sendData(ctx, await present(await properties.get(actorOf(input), input.params.id)));
      },
    });

  const remove = (area: 'realtors' | 'admin', tag: string) =>
    defineRoute({
      method: 'delete',
      path: `/api/v1/${area}/properties/:id`,
      summary: 'Delete a property (refused while it has upcoming confirmed tours; withdraw it instead)',
      tags: [tag],
      params: idParams,
      responses: { 204: { description: 'Deleted' }, ...notFound, 409: { description: 'Upcoming confirmed tours; the message says how many' } },
      async handler(ctx, input) {
        await properties.remove(actorOf(input), input.params.id);
        ctx.status = 204;
      },
    });

  const realtorTag = 'Realtor: properties';
  const adminTag = 'Admin: properties';
  return [
    list('realtors', realtorListQuery, 'List your own properties (same filters and sorts as the buyer search, plus status)'),
    defineRoute({
      method: 'post',
      path: '/api/v1/realtors/properties',
      summary: 'Create a listing',
      tags: [realtorTag],
      body: createPropertyBody,
      responses: { 201: { description: 'The new property', data: propertyResource }, 409: { description: 'mls_id already used' } },
      async handler(ctx, input) {
        sendData(ctx, await present(await properties.create(actorOf(input), input.body)), 201);
      },
    }),
    get('realtors', realtorTag),
    defineRoute({
      method: 'put',
      path: '/api/v1/realtors/properties/:id',
      summary: 'Change your listing (any subset of its fields)',
      tags: [realtorTag],
      params: idParams,
      body: updatePropertyBody,
      responses: { 200: { description: 'The changed property', data: propertyResource }, ...notFound, 409: { description: 'mls_id already used' } },
      async handler(ctx, input) {
        sendData(ctx, await present(await properties.update(actorOf(input), input.params.id, input.body)));
      },
    }),
    remove('realtors', realtorTag),
    defineRoute({
      method: 'post',
      path: '/api/v1/realtors/properties/:id/images',
      summary: 'Upload images (JPEG, PNG, WebP, HEIC, AVIF); each is processed in the background and returned as pending',
      tags: [realtorTag],
      params: idParams,
      multipart: { field: 'images', maxBytes: opts.imageMaxBytes, maxFiles: opts.imageMaxFiles, description: 'one or more image files' },
      responses: {
        201: { description: 'The pending images', data: z.array(imageResource) },
        ...notFound,
        413: { description: 'A file is over the size limit' },
        415: { description: 'A file is not an accepted image type (judged by its bytes)' },
        422: { description: 'A file is corrupt or has too many pixels' },
        503: { description: 'Image processing is unavailable; nothing was stored' },
      },
      async handler(ctx, input) {
        const rows = await properties.addImages(actorOf(input), input.params.id, input.files);
        sendData(ctx, await Promise.all(rows.map((r) => presentImage(r, storage))), 201);
      },
    }),
    defineRoute({
      method: 'put',
      path: '/api/v1/realtors/properties/:id/images/:image_id',
      summary: 'Move an image to a position (0 is first)',
      tags: [realtorTag],
      params: imageParams,
      body: imagePositionBody,
      responses: { 200: { description: 'The moved image', data: imageResource }, 404: { description: 'No such image' } },
      async handler(ctx, input) {
        const img = await properties.setImagePosition(actorOf(input), input.params.id, input.params.image_id, input.body.position);
        sendData(ctx, await presentImage(img, storage));
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/v1/realtors/properties/:id/images/:image_id',
      summary: 'Delete an image and its files',
      tags: [realtorTag],
      params: imageParams,
      responses: { 204: { description: 'Deleted' }, 404: { description: 'No such image' } },
      async handler(ctx, input) {
        await properties.deleteImage(actorOf(input), input.params.id, input.params.image_id);
        ctx.status = 204;
      },
    }),

    list('buyers', buyerSearchQuery, 'Search available (active and coming soon) properties'),
    get('buyers', 'Buyer: properties'),

    list('admin', adminListQuery, 'List all properties (filters as the buyer search, plus status and realtor_id)'),
    get('admin', adminTag),
    defineRoute({
      method: 'put',
      path: '/api/v1/admin/properties/:id',
      summary: 'Change any field of a property, including status and realtor_id',
      tags: [adminTag],
      params: idParams,
      body: adminUpdatePropertyBody,
      responses: { 200: { description: 'The changed property', data: propertyResource }, ...notFound },
      async handler(ctx, input) {
        sendData(ctx, await present(await properties.update(actorOf(input), input.params.id, input.body)));
      },
    }),
    remove('admin', adminTag),
  ];
}
