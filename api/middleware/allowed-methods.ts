import type Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import { AppError } from '../../lib/errors';

/**
 * The router's own answers to a method it has no route for, made part of the API: a
 * method no route on the path declares (TRACE included, which the router would call 501
 * and the error handler 500) is 405 with `Allow`; OPTIONS is 204 with `Allow`. A path no
 * route serves stays 404. CORS preflights never get here: the CORS middleware answers them.
 */
export function routesWithAllowedMethods(router: Router): Middleware & { router: Router } {
  const routes = router.routes();
  const allowed = router.allowedMethods();
  const dispatch = async (ctx: Context, next: Next) => {
    // A path spelled out by a route (`/admin/tours/retry`) is that route's alone: a sibling
    // with a parameter (`/admin/tours/:id`) does not also answer it with its own methods.
    const literal = literalRouteMethods(router, ctx.path);
    if (literal && !literal.includes(ctx.method)) return refuse(ctx, literal.join(', '));
    // As `app.use(routes).use(allowedMethods)` would run them, without the router's throws.
    await routes(ctx as never, () => allowed(ctx as never, next));
    if (ctx.status !== 501 && ctx.status !== 405 && !(ctx.method === 'OPTIONS' && ctx.status === 200 && ctx.response.get('Allow'))) return;
    const declared = ctx.response.get('Allow');
    if (!declared) {
      ctx.remove('Allow');
      // The error handler answers a body-less 404 as "no route".
      ctx.status = 404;
      return;
    }
    refuse(ctx, declared);
  };
  // As on the router's own dispatch: lets the route walkers (tests) find the routes.
  return Object.assign(dispatch, { router });
}

/** 204 with Allow for OPTIONS, else 405 with Allow; `declared` lists the route methods. */
function refuse(ctx: Context, declared: string): void {
  const allow = [...new Set([...declared.split(/,\s*/), 'OPTIONS'])].join(', ');
  ctx.set('Allow', allow);
  if (ctx.method === 'OPTIONS') {
    ctx.status = 204;
    ctx.body = null;
    return;
  }
  throw new AppError(405, 'METHOD_NOT_ALLOWED', `${ctx.method} is not allowed on ${ctx.path}; allowed: ${allow}`);
}

/**
 * The methods of the routes whose path is `path` exactly, when routes with parameters match
 * it too; undefined otherwise (the router's own answer stands).
 */
function literalRouteMethods(router: Router, path: string): string[] | undefined {
  const layers = router.match(path, 'GET').path.filter((layer) => layer.methods.length > 0);
  const literal = layers.filter((layer) => layer.paramNames.length === 0);
  if (!literal.length || literal.length === layers.length) return undefined;
  return [...new Set(literal.flatMap((layer) => layer.methods))];
}
