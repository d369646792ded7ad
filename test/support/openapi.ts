import Ajv2020 from 'ajv/dist/2020';
import type { ErrorObject, ValidateFunction } from 'ajv';

/** The parts of the app's OpenAPI document the tests read. */
export interface OpenApiOperation {
  operationId?: string;
  security?: unknown[];
  'x-roles'?: string[];
  parameters?: Array<{ name: string; in: string; required?: boolean }>;
  requestBody?: { content: Record<string, { schema: object }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: object }> }>;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  components: { schemas: Record<string, object>; securitySchemes: Record<string, object> };
  security: unknown[];
  paths: Record<string, Record<string, OpenApiOperation>>;
}

function escapePointer(part: string): string {
  return encodeURIComponent(part.replace(/~/g, '~0').replace(/\//g, '~1'));
}

const DOC_ID = 'https://realtyforyou.test/openapi.json';

/** Ajv (JSON Schema 2020-12) over the whole document, so `#/components/...` refs resolve. */
export function responseValidators(doc: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false });
  ajv.addSchema({ ...doc, $id: DOC_ID });
  const cache = new Map<string, ValidateFunction>();
  const forResponse = (method: string, template: string, status: number): ValidateFunction => {
    const key = `${method} ${template} ${status}`;
    let fn = cache.get(key);
    if (!fn) {
      const op = doc.paths[template]?.[method.toLowerCase()];
      if (!op) throw new Error(`${method.toUpperCase()} ${template} is not documented`);
      if (!op.responses[String(status)]?.content?.['application/json']) {
        throw new Error(`${method.toUpperCase()} ${template} documents no JSON response for ${status} (has ${Object.keys(op.responses).join(', ')})`);
      }
      const pointer = ['paths', template, method.toLowerCase(), 'responses', String(status), 'content', 'application/json', 'schema'].map(escapePointer).join('/');
      fn = ajv.compile({ $ref: `${DOC_ID}#/${pointer}` });
      cache.set(key, fn);
    }
    return fn;
  };
  return {
    ajv,
    /** The documented schema of a JSON response; throws when that status is not documented. */
    forResponse,
    /** Ajv's errors for a JSON response body against its documented schema; null when it conforms. */
    errorsOf(method: string, template: string, status: number, body: unknown): ErrorObject[] | null | undefined {
      const fn = forResponse(method, template, status);
      return fn(body) ? null : fn.errors;
    },
  };
}

export type ResponseValidators = ReturnType<typeof responseValidators>;
