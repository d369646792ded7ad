import { bodyParser } from '@koa/bodyparser';
import type { Middleware } from 'koa';
import { ValidationError } from '../../lib/errors';

/**
 * JSON bodies, with the body parser's failures made client errors: a body whose
 * Content-Encoding (gzip, deflate) does not decode is 400 naming the header, where zlib's
 * error would otherwise reach the error handler as a 500. Unknown encodings are the
 * parser's own 415.
 */
export function jsonBody(limitBytes: number): Middleware {
  // DELETE carries an optional body too (a cancellation's reason).
  const parse = bodyParser({ enableTypes: ['json'], jsonLimit: limitBytes, encoding: 'utf-8', parsedMethods: ['POST', 'PUT', 'PATCH', 'DELETE'] });
  return async (ctx, next) => {
    try {
      // Parsing only: the rest of the chain runs outside this try.
      await parse(ctx, async () => {});
    } catch (err) {
      if (isZlibError(err)) {
        throw new ValidationError([{ field: 'Content-Encoding', message: `The body is not valid ${ctx.get('Content-Encoding')} data` }]);
      }
      throw err;
    }
    await next();
  };
}

function isZlibError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}
