import type { Middleware } from 'koa';
import { ObjectNotFoundError, type ObjectStorage } from '../../adapters/storage/port';
import { verifySignedUrl } from '../../adapters/storage/local';
import { AppError } from '../../lib/errors';

/**
 * GET /files/<key>?expires=&signature= — the local storage's signed, expiring URLs.
 * A tampered or expired link is 403; the file is streamed otherwise.
 */
export function signedFiles(storage: ObjectStorage, secret: string): Middleware {
  return async (ctx, next) => {
    if (!ctx.path.startsWith('/files/')) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') throw new AppError(405, 'METHOD_NOT_ALLOWED', 'Files are read-only');
    let key: string;
    try {
      key = ctx.path.slice('/files/'.length).split('/').map(decodeURIComponent).join('/');
    } catch {
      throw new AppError(404, 'NOT_FOUND', 'No such file');
    }
    const verdict = verifySignedUrl(secret, key, ctx.query.expires as string | undefined, ctx.query.signature as string | undefined);
    if (verdict !== 'ok') {
      throw new AppError(403, 'FORBIDDEN', verdict === 'expired' ? 'This link has expired' : 'This link is not valid');
    }
    try {
      const obj = await storage.get(key);
      ctx.type = obj.contentType;
      ctx.length = obj.size;
      ctx.set('Cache-Control', 'private, max-age=60');
      ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.body = obj.body;
    } catch (err) {
      if (err instanceof ObjectNotFoundError) throw new AppError(404, 'NOT_FOUND', 'No such file');
      throw err;
    }
  };
}
