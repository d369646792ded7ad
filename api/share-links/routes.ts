import type { z } from 'zod';
import { sendData, sendPage } from '../envelope';
import { actorOf, defineRoute, type AnyRouteSpec } from '../routing';
import { idParams } from '../schemas';
import { presentCreatedShareLink, presentShareLink, presentSharedRecap } from './presenter';
import {
  createdShareLinkResource,
  createShareLinkBody,
  shareLinkListQuery,
  shareLinkParams,
  shareLinkResource,
  sharedRecapResource,
  sharedTokenParams,
  type ShareLinkLimits,
} from './schemas';
import type { NewShareLinkInput, ShareLinkService } from './service';

type Area = 'realtors' | 'buyers';

const TAGS: Record<Area, string> = { realtors: 'Realtor: tours', buyers: 'Buyer: tours' };

export function shareLinkRoutes(links: ShareLinkService, limits: ShareLinkLimits): AnyRouteSpec[] {
  const body = createShareLinkBody(limits);
  const notFound = { 404: { description: 'No such tour (or not yours)' } };

  const owned = (area: Area): AnyRouteSpec[] => {
    const base = `/api/v1/${area}/tours/:id/share-links`;
    const tags = [TAGS[area]];
    return [
      defineRoute({
        method: 'post',
        path: base,
        summary: 'Share the tour\'s recap: an expiring, revocable public link showing only what you include (the token is shown once)',
        tags,
        params: idParams,
        body,
        responses: {
          201: { description: 'The link, with its token and URL (shown this once)', data: createdShareLinkResource },
          ...notFound,
          409: { description: 'The tour was cancelled: there is no recap to share' },
        },
        async handler(ctx, input) {
          const created = await links.create(actorOf(input), input.params.id, input.body as NewShareLinkInput);
          ctx.set('Cache-Control', 'no-store');
          sendData(ctx, presentCreatedShareLink(created), 201);
        },
      }),
      defineRoute({
        method: 'get',
        path: base,
        summary: 'The tour\'s share links (by either party), newest first, with their state and view counts; tokens are never shown again',
        tags,
        params: idParams,
        query: shareLinkListQuery,
        responses: { 200: { description: 'A page of share links', data: shareLinkResource.array(), paginated: true }, ...notFound },
        async handler(ctx, input) {
          const { items, meta } = await links.list(actorOf(input), input.params.id, input.query as z.infer<typeof shareLinkListQuery>);
          sendPage(ctx, items.map(presentShareLink), meta);
        },
      }),
      defineRoute({
        method: 'delete',
        path: `${base}/:link_id`,
        summary: 'Revoke a share link of the tour (either party may): it stops working at once',
        tags,
        params: shareLinkParams,
        responses: { 200: { description: 'The link, revoked', data: shareLinkResource }, 404: { description: 'No such tour or link (or not yours)' } },
        async handler(ctx, input) {
          sendData(ctx, presentShareLink(await links.revoke(actorOf(input), input.params.id, input.params.link_id)));
        },
      }),
    ];
  };

  return [
    ...owned('realtors'),
    ...owned('buyers'),
    defineRoute({
      method: 'get',
      path: '/api/v1/shared/:token',
      summary: 'A shared tour recap (no sign-in): only the parts the link includes, with media URLs that expire no later than the link',
      tags: ['Shared recaps'],
      params: sharedTokenParams,
      responses: {
        200: { description: 'The recap; each view is counted and audit-logged', data: sharedRecapResource },
        404: { description: 'No such link, or it expired or was revoked (one answer for all)' },
        429: { description: 'Too many requests from this address; wait as Retry-After says' },
      },
      async handler(ctx, input) {
        const recap = await links.view(input.params.token, { requestId: input.requestId, ip: ctx.ip });
        // A recap is for whoever holds the link now: never kept by a cache, never indexed.
        ctx.set('Cache-Control', 'no-store');
        ctx.set('X-Robots-Tag', 'noindex, nofollow');
        sendData(ctx, presentSharedRecap(recap));
      },
    }),
  ];
}
