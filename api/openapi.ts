import { z } from 'zod';
import type { Access } from './access-table';
import { RATE_LIMITED_PREFIX } from './middleware/rate-limit';
import { pageMetaSchema } from './pagination';
import { routeKey, type AnyRouteSpec } from './routing';
import { APP_VERSION } from '../lib/version';

/**
 * The OpenAPI 3.1 document, generated from the same route specs (and zod schemas) that
 * validate requests, so the two cannot drift apart.
 */

type JsonSchema = Record<string, unknown>;

function toSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  delete json.$schema;
  return json;
}

/** `/api/v1/users/:id` → `/api/v1/users/{id}` */
export function openApiPath(koaPath: string): string {
  return koaPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

const metaSchema = z.object({
  timestamp: z.string(),
  version: z.string(),
  request_id: z.string().optional(),
});

const errorEnvelope = z.object({
  success: z.literal(false),
  errors: z.array(z.object({ code: z.string(), message: z.string(), field: z.string().nullable() })),
  meta: metaSchema,
});

/** The full success envelope a response with `data` is sent in. */
export function successEnvelope(data: z.ZodType, paginated = false): z.ZodType {
  return z.object({
    success: z.literal(true),
    data,
    meta: paginated ? metaSchema.extend(pageMetaSchema.shape) : metaSchema,
  });
}

function parameters(spec: AnyRouteSpec): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const [where, schema] of [['path', spec.params], ['query', spec.query]] as const) {
    if (!schema) continue;
    const json = toSchema(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, prop] of Object.entries(json.properties ?? {})) {
      const { description, ...rest } = prop as { description?: string };
      out.push({
        name,
        in: where,
        required: where === 'path' || (json.required ?? []).includes(name),
        ...(description ? { description } : {}),
        schema: rest,
      });
    }
  }
  return out;
}

export function buildOpenApiDocument(routes: AnyRouteSpec[], access: Record<string, Access>, serverUrl: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of routes) {
    const who = access[routeKey(spec.method, spec.path)] ?? 'authenticated';
    const responses: Record<string, unknown> = {};
    for (const [status, res] of Object.entries(spec.responses)) {
      responses[status] = res.data
        ? { description: res.description, content: { 'application/json': { schema: toSchema(successEnvelope(res.data, res.paginated), 'output') } } }
        : Number(status) >= 400
          ? { description: res.description, content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } } }
          : { description: res.description };
    }
    const errorRef = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } } });
    if (who !== 'public') responses['401'] ??= errorRef('Missing, invalid or expired access token');
    if (Array.isArray(who)) responses['403'] ??= errorRef(`Only for: ${who.join(', ')}`);
    if (spec.params || spec.query || spec.body) responses['400'] ??= errorRef('Invalid request; each error names its field');
    // Limits applied by app-wide middleware, before the route itself runs.
    if (spec.body && !spec.multipart) responses['413'] ??= errorRef('The JSON body is larger than the configured limit');
    // Auth routes are limited per address and account; every signed-in call per user.
    if (spec.path.startsWith(RATE_LIMITED_PREFIX) || who !== 'public') {
      responses['429'] ??= {
        ...errorRef(spec.path.startsWith(RATE_LIMITED_PREFIX) ? 'Too many requests from this address or for this account to this route; wait as Retry-After says' : 'Too many requests by this user; wait as Retry-After says'),
        headers: { 'Retry-After': { description: 'Seconds until the window resets', schema: { type: 'integer', minimum: 1 } } },
      };
    }
    responses['500'] ??= errorRef('Unexpected error (no details are exposed; quote the request id)');

    let requestBody: unknown;
    if (spec.multipart) {
      const { field, description, maxFiles = 1 } = spec.multipart;
      const binary = { type: 'string', format: 'binary' };
      // A route that takes several files must say so, or clients send only one.
      const property = maxFiles > 1 ? { type: 'array', items: binary, minItems: 1, maxItems: maxFiles, description } : { ...binary, description };
      requestBody = {
        required: true,
        content: {
          'multipart/form-data': {
            schema: { type: 'object', required: [field], properties: { [field]: property } },
          },
        },
      };
    } else if (spec.body) {
      requestBody = { required: true, content: { 'application/json': { schema: toSchema(spec.body, 'input') } } };
    }

    const path = openApiPath(spec.path);
    paths[path] ??= {};
    paths[path][spec.method] = {
      operationId: `${spec.method}_${spec.path.replace(/^\/api\/v1\//, '').replace(/[^A-Za-z0-9]+/g, '_')}`,
      summary: spec.summary,
      tags: spec.tags,
      ...(who === 'public' ? { security: [] } : {}),
      ...(Array.isArray(who) ? { 'x-roles': who } : {}),
      parameters: parameters(spec),
      ...(requestBody ? { requestBody } : {}),
      responses,
    };
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'RealtyForYou API',
      version: APP_VERSION,
      description:
        'Real-estate video tours: properties, bookings, tours and their post-tour processing. ' +
        'Authenticate with `Authorization: Bearer <access_token>` from POST /api/v1/auth/login.',
    },
    servers: [{ url: serverUrl }],
    security: [{ bearerAuth: [] }],
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { ErrorEnvelope: toSchema(errorEnvelope, 'output') },
    },
    paths,
  };
}
