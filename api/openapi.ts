import { z } from 'zod';
import type { Access } from './access-table';
import { RETRY_AFTER_SECONDS } from './dependency-faults';
import { RATE_LIMITED_PREFIX } from './middleware/rate-limit';
import { pageMetaSchema } from './pagination';
import { routeKey, type AnyRouteSpec } from './routing';
import { RULES_KEY, TEXT_MARK, TRIMMED_WHITESPACE, type RequestRule } from './schemas';
import { APP_VERSION } from '../lib/version';

/**
 * The OpenAPI 3.1 document, generated from the same route specs (and zod schemas) that
 * validate requests, so the two cannot drift apart: the request schemas carry the
 * validators' bounds, formats and patterns, the rules JSON Schema cannot state are listed
 * per operation (`x-rules` and the description), and the error responses an operation can
 * give are derived from what it declares (auth, path, query, body, headers, uploads) and
 * from the app-wide middleware every request passes.
 */

type JsonSchema = Record<string, unknown>;

/** Methods whose JSON body the app-wide body parser reads, for every route (api/middleware/json-body.ts). */
const BODY_METHODS = new Set(['post', 'put', 'patch', 'delete']);

// The characters of client text: anything but U+0000, and the ones trimming keeps.
const NOT_NUL = '[^\\u0000]';
const KEPT_BY_TRIM = `[^\\u0000${TRIMMED_WHITESPACE}]`;
export const TEXT_PATTERN = `^${NOT_NUL}*$`;
export const NON_BLANK_TEXT_PATTERN = `^${NOT_NUL}*${KEPT_BY_TRIM}${NOT_NUL}*$`;

interface ZodInternals {
  _zod: { def: { type: string; checks?: Array<{ _zod: { def: { check: string; minimum?: number; tx?: (v: string) => string } } }> } };
}

/** Whether a string schema trims its value before a minimum length of at least 1: then blank text is refused. */
function refusesBlank(schema: unknown): boolean {
  const { def } = (schema as unknown as ZodInternals)._zod;
  if (def.type !== 'string') return false;
  let trimmed = false;
  for (const check of def.checks ?? []) {
    const c = check._zod.def;
    // Judged by what the overwrite does, not how it was written.
    if (c.check === 'overwrite' && c.tx?.(' \u00a0x\ufeff ') === 'x') trimmed = true;
    if (trimmed && c.check === 'min_length' && (c.minimum ?? 0) >= 1) return true;
  }
  return false;
}

function addPattern(json: JsonSchema, pattern: string): void {
  const allOf = (json.allOf as JsonSchema[] | undefined) ?? [];
  if (json.pattern === pattern || allOf.some((s) => s.pattern === pattern)) return;
  if (json.pattern === undefined) json.pattern = pattern;
  else json.allOf = [...allOf, { pattern }];
}

/**
 * JSON Schema of a zod schema, with the project's marks resolved: client text gets its
 * patterns, and the request rules of nested schemas are taken out into `rules`.
 */
function toSchema(schema: z.ZodType, io: 'input' | 'output', rules: RequestRule[] = []): JsonSchema {
  const json = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    target: 'draft-2020-12',
    override: ({ zodSchema, jsonSchema }) => {
      const mark = jsonSchema[TEXT_MARK];
      if (mark !== undefined) {
        delete jsonSchema[TEXT_MARK];
        // Wrappers (optional, nullable, default) repeat the inner schema's keys: their text
        // rules are the inner one's, already resolved there.
        const patterns = [jsonSchema.pattern, ...((jsonSchema.allOf as JsonSchema[] | undefined) ?? []).map((s) => s.pattern)];
        const resolved = patterns.includes(TEXT_PATTERN) || patterns.includes(NON_BLANK_TEXT_PATTERN);
        if (mark === true && jsonSchema.type === 'string' && !resolved) {
          addPattern(jsonSchema, refusesBlank(zodSchema) ? NON_BLANK_TEXT_PATTERN : TEXT_PATTERN);
        }
      }
      const declared = jsonSchema[RULES_KEY] as RequestRule[] | undefined;
      if (declared) {
        delete jsonSchema[RULES_KEY];
        for (const rule of declared) if (!rules.some((r) => JSON.stringify(r) === JSON.stringify(rule))) rules.push(rule);
      }
    },
  }) as JsonSchema;
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

function parameters(spec: AnyRouteSpec, rules: RequestRule[]): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const [where, schema] of [['path', spec.params], ['query', spec.query], ['header', spec.headers]] as const) {
    if (!schema) continue;
    const json = toSchema(schema, 'input', rules) as { properties?: Record<string, JsonSchema>; required?: string[] };
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

const retryAfter = (description: string) => ({ 'Retry-After': { description, schema: { type: 'integer', minimum: 1 } } });

/**
 * Every error an operation can answer, with the route's own descriptions where it gives
 * them. Derived from what the spec declares, so a new route cannot leave one out.
 */
function errorResponses(spec: AnyRouteSpec, who: Access, rules: RequestRule[]): Record<string, { description: string; headers?: object }> {
  const declared = (status: number) => spec.responses[status]?.description;
  const out: Record<string, { description: string; headers?: object }> = {};
  const add = (status: number, description: string, headers?: object) => {
    out[String(status)] = { description: declared(status) ?? description, ...(headers ? { headers } : {}) };
  };
  const readsBody = BODY_METHODS.has(spec.method);
  const validated = [spec.params && 'path', spec.query && 'query string', spec.headers && 'headers', (spec.body || spec.multipart) && 'body'].filter(Boolean);
  if (validated.length || readsBody) {
    const parts = [
      validated.length ? `a rule of this document is broken (${validated.join(', ')})` : undefined,
      ...rules.filter((r) => r.rule !== 'file-content').map((r) => r.description),
      readsBody ? 'a JSON body that does not parse, or does not decode as its Content-Encoding says' : undefined,
    ].filter(Boolean);
    add(400, `Invalid request: ${parts.join('; ')}. Each error names its field.`);
  }
  if (who !== 'public') add(401, 'Missing, invalid or expired access token');
  if (Array.isArray(who)) add(403, `Only for: ${who.join(', ')}`);
  // An id that names nothing, or something of someone else's (never 403: no existence leak).
  if (spec.params || declared(404)) add(404, 'No such resource, or not yours');
  if (declared(409)) add(409, declared(409)!);
  // Limits of the app-wide body parser and of the upload parser.
  if (readsBody || spec.multipart) add(413, spec.multipart ? 'A file is larger than the limit' : 'The JSON body is larger than the configured limit');
  if (readsBody || spec.multipart) {
    add(415, spec.multipart ? 'Not multipart/form-data, or a file of a type not accepted' : 'A Content-Encoding other than gzip, deflate or identity');
  }
  if (declared(422)) add(422, declared(422)!);
  // Auth routes are limited per address and account; every signed-in call per user.
  if (spec.path.startsWith(RATE_LIMITED_PREFIX) || who !== 'public') {
    add(
      429,
      spec.path.startsWith(RATE_LIMITED_PREFIX) ? 'Too many requests from this address or for this account to this route; wait as Retry-After says' : 'Too many requests by this user; wait as Retry-After says',
      retryAfter('Seconds until the window resets'),
    );
  }
  // Whatever else the route says it answers (a public sign-in's 401, say).
  for (const [status, res] of Object.entries(spec.responses)) {
    if (Number(status) >= 400 && !out[status]) add(Number(status), res.description, status === '429' || status === '503' ? retryAfter('Seconds to wait before retrying') : undefined);
  }
  add(500, 'Unexpected error (no details are exposed; quote the request id)');
  // Every route reads PostgreSQL (the guard does, for any signed-in call); commands need Temporal and a worker.
  add(503, 'A service this request needs (PostgreSQL, Temporal, a worker) is unavailable; nothing was changed, retry after Retry-After', retryAfter(`Seconds to wait before retrying (${RETRY_AFTER_SECONDS})`));
  return out;
}

const errorContent = { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } };

/** Whether the route accepts a request without a body (the body parser makes an absent body `{}`). */
function bodyRequired(schema: z.ZodType): boolean {
  return !schema.safeParse({}).success;
}

function ruleText(rules: RequestRule[]): string | undefined {
  return rules.length ? `Rules JSON Schema cannot state (machine-readable in x-rules): ${rules.map((r) => r.description).join('; ')}.` : undefined;
}

export function buildOpenApiDocument(routes: AnyRouteSpec[], access: Record<string, Access>, serverUrl: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of routes) {
    const who = access[routeKey(spec.method, spec.path)] ?? 'authenticated';
    const rules: RequestRule[] = [];
    const params = parameters(spec, rules);

    let requestBody: unknown;
    if (spec.multipart) {
      const { field, description, maxFiles = 1, maxBytes, accepts } = spec.multipart;
      const binary = { type: 'string', format: 'binary' };
      const what = `${description}; at most ${maxBytes} bytes${maxFiles > 1 ? ' each' : ''}${accepts ? `; ${accepts.join(', ')}` : ''}`;
      // A route that takes several files must say so, or clients send only one.
      const property = maxFiles > 1 ? { type: 'array', items: binary, minItems: 1, maxItems: maxFiles, description: what } : { ...binary, description: what };
      const kinds = accepts ? `one of ${accepts.join(', ')}` : 'of a type the operation accepts';
      rules.push({ rule: 'file-content', field, media_types: [...(accepts ?? [])], description: `each file in ${field} must be ${kinds}, judged by its bytes (else 415), and whole (else 422)` });
      requestBody = {
        required: true,
        content: {
          'multipart/form-data': {
            // The form holds the file(s) only: any other field is a 400.
            schema: { type: 'object', required: [field], properties: { [field]: property }, additionalProperties: false },
            ...(accepts ? { encoding: { [field]: { contentType: accepts.join(', ') } } } : {}),
          },
        },
      };
    } else if (spec.body) {
      requestBody = { required: bodyRequired(spec.body), content: { 'application/json': { schema: toSchema(spec.body, 'input', rules) } } };
    }

    const responses: Record<string, unknown> = {};
    for (const [status, res] of Object.entries(spec.responses)) {
      if (res.data) {
        responses[status] = { description: res.description, content: { 'application/json': { schema: toSchema(successEnvelope(res.data, res.paginated), 'output') } } };
      } else if (Number(status) < 400) {
        responses[status] = { description: res.description };
      }
    }
    for (const [status, res] of Object.entries(errorResponses(spec, who, rules))) responses[status] = { ...res, content: errorContent };

    const path = openApiPath(spec.path);
    // A DELETE that answers with the resource changes it (a booking cancelled) and leaves it readable.
    const keeps = spec.method === 'delete' && Object.entries(spec.responses).some(([status, res]) => Number(status) < 300 && res.data);
    const description = [keeps ? 'The resource is not removed: it stays readable, changed as the answer shows.' : undefined, ruleText(rules)].filter(Boolean).join(' ') || undefined;
    paths[path] ??= {};
    paths[path][spec.method] = {
      operationId: `${spec.method}_${spec.path.replace(/^\/api\/v1\//, '').replace(/[^A-Za-z0-9]+/g, '_')}`,
      summary: spec.summary,
      ...(description ? { description } : {}),
      tags: spec.tags,
      ...(who === 'public' ? { security: [] } : {}),
      ...(Array.isArray(who) ? { 'x-roles': who } : {}),
      ...(rules.length ? { [RULES_KEY]: rules } : {}),
      ...(keeps ? { 'x-keeps-resource': true } : {}),
      parameters: params,
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
        'Authenticate with `Authorization: Bearer <access_token>` from POST /api/v1/auth/login. ' +
        'Errors come in one envelope; 400 means the request breaks a rule of this document (a schema, or a rule listed in the ' +
        "operation's x-rules), and names each field. A method a path does not declare is 405 with Allow.",
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
