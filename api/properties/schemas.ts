import { z } from 'zod';
import { paginationQuery } from '../pagination';
import { bodyInt, idParam, isoDateTime, nonEmptyObject, orderedFields, queryInt, queryNumber, resourceSchema, textField, withRules } from '../schemas';
import { IMAGE_STATUSES } from '../../contracts/images';
import { PROPERTY_SORTS as SORTS, PROPERTY_STATUSES as STATUSES, PROPERTY_TYPES } from '../../db/repositories/properties.repository';

export { PROPERTY_STATUSES as STATUSES, AVAILABLE_STATUSES, PROPERTY_TYPES, PROPERTY_SORTS as SORTS } from '../../db/repositories/properties.repository';

const MAX_PRICE = 9_999_999_999.99;
// JSON numbers only: `[]`, `""` and `"3"` are refused rather than coerced.
const money = z.number({ error: 'must be a number' }).min(0).max(MAX_PRICE).multipleOf(0.01, 'at most two decimals');
const count = bodyInt(0, 1000);

/** The fields a realtor writes. */
const listingFields = {
  address: textField().trim().min(1).max(500),
  mls_id: textField().trim().min(1).max(255).nullable().optional(),
  description: textField().trim().max(20_000).nullable().optional(),
  price: money.nullable().optional(),
  bedrooms: count.nullable().optional(),
  bathrooms: count.nullable().optional(),
  sqft: bodyInt(0, 10_000_000).nullable().optional(),
  status: z.enum(STATUSES).optional(),
  city: textField().trim().min(1).max(120).nullable().optional(),
  state: textField().trim().min(1).max(50).nullable().optional(),
  postal_code: textField().trim().min(1).max(20).nullable().optional(),
  property_type: z.enum(PROPERTY_TYPES).nullable().optional(),
  latitude: z.number().min(-90).max(90).nullable().optional(),
  longitude: z.number().min(-180).max(180).nullable().optional(),
};

export const createPropertyBody = z.object(listingFields).strict();

export const updatePropertyBody = nonEmptyObject(z.object({ ...listingFields, address: listingFields.address.optional() }).strict());

export const adminUpdatePropertyBody = withRules(
  nonEmptyObject(
    z.object({ ...listingFields, address: listingFields.address.optional(), realtor_id: bodyInt(1).optional().describe('the id of a realtor: the listing moves to them') }).strict(),
  ),
  [{ rule: 'refers', field: 'realtor_id', to: 'realtor', description: 'realtor_id must be the id of a realtor' }],
);

const searchFields = {
  ...paginationQuery,
  q: textField().trim().min(1).max(200).optional().describe('full-text search over address, city and description'),
  min_price: queryNumber(0, MAX_PRICE).optional(),
  max_price: queryNumber(0, MAX_PRICE).optional(),
  min_bedrooms: queryInt().optional(),
  min_bathrooms: queryInt().optional(),
  city: textField().trim().min(1).max(120).optional().describe('exact city, case-insensitive'),
  postal_code: textField().trim().min(1).max(20).optional(),
  property_type: z.enum(PROPERTY_TYPES).optional(),
  sort: z.enum(SORTS).default('newest').describe('price, -price, newest or sqft; ties broken by id'),
};

export const buyerSearchQuery = orderedFields(z.object(searchFields).strict(), 'min_price', 'max_price', 'number');

export const realtorListQuery = orderedFields(z.object({ ...searchFields, status: z.enum(STATUSES).optional() }).strict(), 'min_price', 'max_price', 'number');

export const adminListQuery = orderedFields(
  z.object({ ...searchFields, status: z.enum(STATUSES).optional(), realtor_id: idParam.optional() }).strict(),
  'min_price',
  'max_price',
  'number',
);

export type SearchFilters = z.infer<typeof adminListQuery>;

export const imageParams = z
  .object({ id: idParam, image_id: idParam })
  .strict();

export const imagePositionBody = z.object({ position: bodyInt(0, 10_000) }).strict();

export const imageResource = resourceSchema(
  'property_image',
  z.object({
    status: z.enum(IMAGE_STATUSES),
    position: z.number().int(),
    url: z.string().nullable(),
    thumbnail_url: z.string().nullable(),
    width: z.number().int().nullable(),
    height: z.number().int().nullable(),
    thumbnail_width: z.number().int().nullable(),
    thumbnail_height: z.number().int().nullable(),
    failure_reason: z.string().nullable(),
    created_at: isoDateTime,
  }),
);

export const propertyResource = resourceSchema(
  'property',
  z.object({
    address: z.string(),
    mls_id: z.string().nullable(),
    description: z.string().nullable(),
    price: z.number().nullable(),
    bedrooms: z.number().int().nullable(),
    bathrooms: z.number().int().nullable(),
    sqft: z.number().int().nullable(),
    status: z.enum(STATUSES),
    city: z.string().nullable(),
    state: z.string().nullable(),
    postal_code: z.string().nullable(),
    property_type: z.string().nullable(),
    latitude: z.number().nullable(),
    longitude: z.number().nullable(),
    created_at: isoDateTime,
    updated_at: isoDateTime,
  }),
  z.object({
    realtor: z.object({ data: z.object({ id: z.string(), type: z.literal('user'), attributes: z.object({ full_name: z.string() }) }) }),
    images: z.object({ data: z.array(imageResource) }),
  }),
);
