import type { Context } from 'koa';
import type { ErrorDetail } from '../lib/errors';
import { APP_VERSION } from '../lib/version';

/** The seed's response envelopes: one shape for success, one for errors. */

export interface ResourceObject<A extends object = Record<string, unknown>> {
  id: string;
  type: string;
  attributes: A;
  relationships?: Record<string, unknown>;
}

export interface PageMeta {
  current_page: number;
  per_page: number;
  total_pages: number;
  total_count: number;
}

export function meta(ctx: Context, extra: object = {}) {
  return {
    timestamp: new Date().toISOString(),
    version: APP_VERSION,
    request_id: ctx.state.requestId as string | undefined,
    ...extra,
  };
}

export function resource<A extends object>(
  type: string,
  id: string | number,
  attributes: A,
  relationships?: Record<string, unknown>,
): ResourceObject<A> {
  return relationships ? { id: String(id), type, attributes, relationships } : { id: String(id), type, attributes };
}

/** `data` is a resource, a list of them, or (compound answers) an object of named resources. */
export function sendData(
  ctx: Context,
  data: ResourceObject | ResourceObject[] | Record<string, ResourceObject>,
  status = 200,
  extraMeta: object = {},
): void {
  ctx.status = status;
  ctx.body = { success: true, data, meta: meta(ctx, extraMeta) };
}

export function sendPage(ctx: Context, data: ResourceObject[], page: PageMeta): void {
  sendData(ctx, data, 200, page);
}

export function sendErrors(ctx: Context, status: number, errors: ErrorDetail[]): void {
  ctx.status = status;
  ctx.body = { success: false, errors, meta: meta(ctx) };
}
