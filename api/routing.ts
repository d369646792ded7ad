import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import multer from 'multer';
import { ByteLimit, ObjectTooLargeError } from '../adapters/storage/port';
import { z } from 'zod';
import type { UserRecord as User } from '../db/repositories/users.repository';
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

/** A file part of a streamed multipart body, read as it arrives. */
export interface IncomingFile {
  fieldname: string;
  originalname: string;
  mimetype: string;
  /** The file's bytes; fails with a 413 AppError once past the route's maxBytes. */
  stream: Readable;
  maxBytes: number;
}

/**
 * The body of a streamed multipart route, not yet read: the handler authorizes and checks
 * first, then receives, so a refused request never costs more than draining its body.
 */
export interface StreamedUpload {
  /**
   * Reads the body, handing its file to `store` as a stream; resolves with what `store`
   * returned, or undefined when the body holds no file. `store` must consume the stream (or
   * fail). If the body turns out bad after `store` finished (a second file, a broken
   * ending), `discard` undoes it and the request fails.
   */
  receive<T>(store: (file: IncomingFile) => Promise<T>, discard?: (stored: T) => Promise<void>): Promise<T | undefined>;
}

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** The declared request headers (RouteSpec.headers), by their declared names. */
  headers: Record<string, string | undefined>;
  /** Null only on public routes. */
  actor: Actor | null;
  requestId: string;
  /** The first uploaded file (multipart routes). */
  file: UploadedFile | undefined;
  /** Every uploaded file, in the order sent (multipart routes). */
  files: UploadedFile[];
  /** Streamed multipart routes: the unread body. */
  upload: StreamedUpload | undefined;
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
  /**
   * Request headers the route reads, by their canonical names (`Idempotency-Key`): validated
   * like the other parts (a bad one is a 400 naming it) and documented as header parameters.
   */
  headers?: z.ZodObject;
  /**
   * maxBytes is per file; maxFiles defaults to 1. `streamed`: one file, never buffered,
   * read only when the handler calls `input.upload.receive` (so after its checks).
   */
  multipart?: {
    field: string;
    maxBytes: number;
    maxFiles?: number;
    description: string;
    streamed?: boolean;
    /** The media types the route accepts, judged by the file's bytes (for the document). */
    accepts?: readonly string[];
  };
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

/** The declared headers as sent (an empty one is sent, and judged); every other header is ignored. */
function parseHeaders(schema: z.ZodObject | undefined, ctx: Context): Record<string, string | undefined> {
  if (!schema) return {};
  const sent = Object.fromEntries(Object.keys(schema.shape).map((name) => [name, ctx.req.headers[name.toLowerCase()]]));
  return schema.parse(sent) as Record<string, string | undefined>;
}

type MultipartSpec = NonNullable<AnyRouteSpec['multipart']>;

function assertMultipart(ctx: Context, spec: MultipartSpec): void {
  if (!ctx.is('multipart/form-data')) {
    throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', `Send multipart/form-data with the file in "${spec.field}"`, spec.field);
  }
}

/** Multer's refusals as client errors; undefined for anything else. */
function multerError(err: unknown, spec: MultipartSpec, maxFiles: number): AppError | undefined {
  if (!(err instanceof multer.MulterError)) return undefined;
  if (err.code === 'LIMIT_FILE_SIZE') return tooLarge(spec);
  if (err.code === 'LIMIT_UNEXPECTED_FILE' || err.code === 'LIMIT_FILE_COUNT') {
    return new ValidationError([{ field: spec.field, message: `Send at most ${maxFiles} file(s), in the "${spec.field}" field only` }]);
  }
  if (err.code === 'LIMIT_FIELD_COUNT' || err.code === 'LIMIT_FIELD_KEY' || err.code === 'LIMIT_FIELD_VALUE') {
    return new ValidationError([{ field: spec.field, message: `The form holds only the file(s) in "${spec.field}": no other fields` }]);
  }
  return malformed(spec);
}

function malformed(spec: MultipartSpec): AppError {
  return new ValidationError([{ field: spec.field, message: 'Malformed multipart body' }]);
}

function tooLarge(spec: MultipartSpec): AppError {
  return new AppError(413, 'PAYLOAD_TOO_LARGE', `The file is larger than ${spec.maxBytes} bytes`, spec.field);
}

function multipartMiddleware(spec: MultipartSpec): Middleware {
  const maxFiles = spec.maxFiles ?? 1;
  const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: spec.maxBytes, files: maxFiles, fields: 0 } }).array(
    spec.field,
    maxFiles,
  );
  return async (ctx, next) => {
    assertMultipart(ctx, spec);
    await new Promise<void>((resolve, reject) => {
      upload(ctx.req as never, ctx.res as never, (err: unknown) => {
        if (!err) return resolve();
        // Anything else multer reports is a body it could not parse.
        reject(multerError(err, spec, maxFiles) ?? malformed(spec));
      });
    });
    await next();
  };
}

/**
 * Multer with a storage engine that hands the file's stream to the handler's `store`: the
 * bytes go from the socket to storage with only stream buffers in between. Multer keeps its
 * guarantees: one file in the named field, and on any failure the rest of the body drained
 * before the answer (the client is not cut off mid-send).
 */
function streamedUpload(ctx: Context, spec: MultipartSpec): StreamedUpload {
  let used = false;
  return {
    receive<T>(store: (file: IncomingFile) => Promise<T>, discard?: (stored: T) => Promise<void>): Promise<T | undefined> {
      if (used) throw new Error('The upload has already been received');
      used = true;
      assertMultipart(ctx, spec);
      return new Promise<T | undefined>((resolve, reject) => {
        let stored: { value: T } | undefined;
        // Failures of the body itself (a broken part, the client gone), as opposed to storage's.
        const bodyErrors = new Set<unknown>();
        // Failures of storage (storing or undoing a file): never the client's fault.
        const storageErrors = new Set<unknown>();
        const fail = (err: unknown) => {
          if (err instanceof AppError) return reject(err);
          if (err instanceof ObjectTooLargeError) return reject(tooLarge(spec));
          const refused = multerError(err, spec, 1);
          if (refused) return reject(refused);
          if (bodyErrors.has(err) || !ctx.req.complete) return reject(malformed(spec));
          if (!storageErrors.has(err)) {
            // The parser refused the body before any file reached storage (no boundary, a
            // broken header): the client's request, not our fault.
            return reject(malformed(spec));
          }
          reject(err);
        };
        const engine: multer.StorageEngine = {
          _handleFile(_req, file, cb) {
            const limit = new ByteLimit(spec.maxBytes);
            // Multer lets one byte past the limit through, so the counter trips first; the
            // 'limit' event is a second guard. Either way the consumer sees an error, not a
            // short file it could mistake for whole.
            file.stream.once('limit', () => limit.destroy(tooLarge(spec)));
            file.stream.once('error', (err) => {
              bodyErrors.add(err);
              limit.destroy(err);
            });
            // Once the consumer stops, the rest of the part is discarded, not left to stall.
            limit.once('close', () => file.stream.resume());
            // The consumer learns of an error from its reads (a destroyed stream stays errored);
            // this keeps one that lands between consumers from being an unhandled 'error'.
            limit.on('error', () => undefined);
            const incoming: IncomingFile = { fieldname: file.fieldname, originalname: file.originalname, mimetype: file.mimetype, stream: file.stream.pipe(limit), maxBytes: spec.maxBytes };
            store(incoming).then(
              (value) => {
                stored = { value };
                cb(null, {});
              },
              (err: unknown) => {
                if (!bodyErrors.has(err)) storageErrors.add(err);
                limit.destroy();
                // Settled now, with the store's cleanup done; the route drains the rest of the
                // body before answering (see drainRequest), and multer's own callback then
                // settles nothing.
                fail(err);
                cb(err as Error);
              },
            );
          },
          _removeFile(_req, _file, cb) {
            const undo = stored && discard ? discard(stored.value) : Promise.resolve();
            undo.then(
              () => cb(null),
              (err: unknown) => {
                storageErrors.add(err);
                cb(err as Error);
              },
            );
          },
        };
        const parse = multer({ storage: engine, limits: { fileSize: spec.maxBytes, files: 1, fields: 0 } }).single(spec.field);
        parse(ctx.req as never, ctx.res as never, (err: unknown) => (err ? fail(err) : resolve(stored?.value)));
      });
    },
  };
}

/**
 * Node stops reading a request once its answer has gone out before its body ended, and the
 * client stalls mid-send; so a refused streamed upload (404, 415, 413...) is answered only
 * after the rest of its body has been read and dropped, as multer does for its own errors.
 */
function drainRequest(req: IncomingMessage): Promise<void> {
  if (req.complete || req.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    req.once('end', resolve).once('close', resolve).once('error', () => resolve());
    req.resume();
  });
}

export interface MountOptions {
  /** Checks the caller against the access table; sets ctx.state.actor. */
  guard(key: string): Middleware;
}

export function mountRoutes(router: Router, routes: AnyRouteSpec[], opts: MountOptions): void {
  for (const spec of routes) {
    const middleware: Middleware[] = [opts.guard(routeKey(spec.method, spec.path))];
    if (spec.multipart && !spec.multipart.streamed) middleware.push(multipartMiddleware(spec.multipart));
    middleware.push(async (ctx) => {
      const req = ctx.req as unknown as { files?: UploadedFile[]; body?: unknown };
      const input: RouteInput<unknown, unknown, unknown> = {
        params: parse(spec.params, ctx.params),
        query: parse(spec.query, ctx.query),
        headers: parseHeaders(spec.headers, ctx),
        // A form holds its file(s) only (multer refuses any other field), so a multipart route has no body schema.
        body: spec.multipart ? undefined : parse(spec.body, ctx.request.body ?? {}),
        actor: (ctx.state.actor as Actor | undefined) ?? null,
        requestId: ctx.state.requestId as string,
        file: req.files?.[0],
        files: req.files ?? [],
        upload: spec.multipart?.streamed ? streamedUpload(ctx, spec.multipart) : undefined,
      };
      try {
        await spec.handler(ctx, input);
      } catch (err) {
        if (spec.multipart?.streamed) await drainRequest(ctx.req);
        throw err;
      }
    });
    router.register(spec.path, [spec.method.toUpperCase()], middleware);
  }
}
