import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import multer from 'multer';
import { z } from 'zod';
import type { User } from '../db/models';
import { AppError, ValidationError } from '../lib/errors';

/**
 * Every route is declared once as a RouteSpec: its request schemas drive validation and
 * the OpenAPI document, its response schemas document (and, in tests, check) what it
 * sends. Who may call it comes from the access table, never from the spec.
 */

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** The authenticated caller of a request, passed to every service method. */
export interface Actor {
  user: User;
  requestId: string;
}

export interface UploadedFile {
  fieldname: string;
  originalname: string;
  mimetype: string;
  size: number;
  buffer: Buffer;
}

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** Null only on public routes. */
  actor: Actor | null;
  requestId: string;
  /** The first uploaded file (multipart routes). */
  file: UploadedFile | undefined;
  /** Every uploaded file, in the order sent (multipart routes). */
  files: UploadedFile[];
}

export interface ResponseSpec {
  description: string;
  /** The `data` member of the success envelope; omitted for error statuses. */
  data?: z.ZodType;
  /** Lists carry pagination meta. */
  paginated?: boolean;
}

export interface RouteSpec<P extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType> {
  method: HttpMethod;
  /** Koa-style, from the root: `/api/v1/admin/users/:id`. */
  path: string;
  summary: string;
  tags: string[];
  params?: P;
  query?: Q;
  body?: B;
  /** maxBytes is per file; maxFiles defaults to 1. */
  multipart?: { field: string; maxBytes: number; maxFiles?: number; description: string };
  responses: Record<number, ResponseSpec>;
  handler(ctx: Context, input: RouteInput<z.infer<P>, z.infer<Q>, z.infer<B>>): Promise<void> | void;
}

// Erases the generics so routes of different shapes sit in one list.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRouteSpec = RouteSpec<any, any, any>;

export function defineRoute<
  P extends z.ZodType = z.ZodObject<Record<string, never>>,
  Q extends z.ZodType = z.ZodObject<Record<string, never>>,
  B extends z.ZodType = z.ZodUndefined,
>(spec: RouteSpec<P, Q, B>): AnyRouteSpec {
  return spec as AnyRouteSpec;
}

export function routeKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${path}`;
}

/** The caller of a non-public route. */
export function actorOf(input: { actor: Actor | null }): Actor {
  if (!input.actor) throw new AppError(401, 'UNAUTHORIZED', 'Authentication required');
  return input.actor;
}

function parse<T extends z.ZodType>(schema: T | undefined, value: unknown): z.infer<T> {
  if (!schema) return undefined as z.infer<T>;
  // A ZodError becomes a 400 naming each bad field in the error middleware.
  return schema.parse(value);
}

function multipartMiddleware(spec: NonNullable<AnyRouteSpec['multipart']>): Middleware {
  const maxFiles = spec.maxFiles ?? 1;
  const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: spec.maxBytes, files: maxFiles, fields: 10 } }).array(
    spec.field,
    maxFiles,
  );
  return async (ctx, next) => {
    if (!ctx.is('multipart/form-data')) {
      throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', `Send multipart/form-data with the file in "${spec.field}"`, spec.field);
    }
    await new Promise<void>((resolve, reject) => {
      upload(ctx.req as never, ctx.res as never, (err: unknown) => {
        if (!err) return resolve();
        const code = (err as { code?: string }).code;
        if (code === 'LIMIT_FILE_SIZE') {
          reject(new AppError(413, 'PAYLOAD_TOO_LARGE', `The file is larger than ${spec.maxBytes} bytes`, spec.field));
        } else if (code === 'LIMIT_UNEXPECTED_FILE' || code === 'LIMIT_FILE_COUNT') {
          reject(new ValidationError([{ field: spec.field, message: `Send at most ${maxFiles} file(s), in the "${spec.field}" field only` }]));
        } else {
          reject(new ValidationError([{ field: spec.field, message: 'Malformed multipart body' }]));
        }
      });
    });
    await next();
  };
}

export interface MountOptions {
  /** Checks the caller against the access table; sets ctx.state.actor. */
  guard(key: string): Middleware;
}

export function mountRoutes(router: Router, routes: AnyRouteSpec[], opts: MountOptions): void {
  for (const spec of routes) {
    const middleware: Middleware[] = [opts.guard(routeKey(spec.method, spec.path))];
    if (spec.multipart) middleware.push(multipartMiddleware(spec.multipart));
    middleware.push(async (ctx) => {
      const req = ctx.req as unknown as { files?: UploadedFile[]; body?: unknown };
      const input: RouteInput<unknown, unknown, unknown> = {
        params: parse(spec.params, ctx.params),
        query: parse(spec.query, ctx.query),
        body: spec.multipart ? parse(spec.body, req.body ?? {}) : parse(spec.body, ctx.request.body ?? {}),
        actor: (ctx.state.actor as Actor | undefined) ?? null,
        requestId: ctx.state.requestId as string,
        file: req.files?.[0],
        files: req.files ?? [],
      };
      await spec.handler(ctx, input);
    });
    router.register(spec.path, [spec.method.toUpperCase()], middleware);
  }
}
