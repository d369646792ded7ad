import { z } from 'zod';
import { WEBHOOK_MAX_ENDPOINTS_PER_OWNER } from '../../contracts/webhooks';
import { sendData, sendPage } from '../envelope';
import { actorOf, defineRoute, type AnyRouteSpec } from '../routing';
import { idParams } from '../schemas';
import { presentCreatedWebhookEndpoint, presentWebhookDelivery, presentWebhookDeliveryDetail, presentWebhookEndpoint } from './presenter';
import {
  adminWebhookListQuery,
  createWebhookBody,
  createdWebhookEndpointResource,
  deliveryListQuery,
  deliveryParams,
  updateWebhookBody,
  webhookDeliveryDetailResource,
  webhookDeliveryResource,
  webhookEndpointResource,
  webhookListQuery,
} from './schemas';
import type { WebhookService } from './service';

/**
 * Signed outbound webhooks, the same routes under /realtors (your own endpoints, which get
 * events of your own listings) and /admin (every endpoint; an admin's own get every
 * listing's events).
 */
export function webhookRoutes(webhooks: WebhookService): AnyRouteSpec[] {
  const notFound = { 404: { description: 'No such webhook endpoint (or not yours)' } };

  const routesOf = (area: 'realtors' | 'admin') => {
    const base = `/api/v1/${area}/webhooks`;
    const tags = [area === 'admin' ? 'Admin: webhooks' : 'Realtor: webhooks'];
    return [
      defineRoute({
        method: 'get',
        path: base,
        summary: area === 'admin' ? 'Every webhook endpoint (filter by owner)' : 'Your webhook endpoints',
        tags,
        query: area === 'admin' ? adminWebhookListQuery : webhookListQuery,
        responses: { 200: { description: 'A page of endpoints, newest first (secrets are never listed)', data: z.array(webhookEndpointResource), paginated: true } },
        async handler(ctx, input) {
          const { items, meta } = await webhooks.list(actorOf(input), input.query as never);
          sendPage(ctx, items.map(presentWebhookEndpoint), meta);
        },
      }),
      defineRoute({
        method: 'post',
        path: base,
        summary: 'Register an endpoint: events are POSTed to it signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature)',
        tags,
        body: createWebhookBody,
        responses: {
          201: { description: 'The endpoint, with its signing secret: shown only in this answer', data: createdWebhookEndpointResource },
          409: { description: `You already have ${WEBHOOK_MAX_ENDPOINTS_PER_OWNER} endpoints (the most allowed)` },
        },
        async handler(ctx, input) {
          const { endpoint, secret } = await webhooks.create(actorOf(input), input.body);
          sendData(ctx, presentCreatedWebhookEndpoint(endpoint, secret), 201);
        },
      }),
      defineRoute({
        method: 'get',
        path: `${base}/:id`,
        summary: 'Get a webhook endpoint (without its secret)',
        tags,
        params: idParams,
        responses: { 200: { description: 'The endpoint', data: webhookEndpointResource }, ...notFound },
        async handler(ctx, input) {
          sendData(ctx, presentWebhookEndpoint(await webhooks.get(actorOf(input), input.params.id)));
        },
      }),
      defineRoute({
        method: 'put',
        path: `${base}/:id`,
        summary: 'Change the URL, event types or description, or pause (enabled: false) and resume (enabled: true) deliveries',
        tags,
        params: idParams,
        body: updateWebhookBody,
        responses: { 200: { description: 'The endpoint', data: webhookEndpointResource }, ...notFound },
        async handler(ctx, input) {
          sendData(ctx, presentWebhookEndpoint(await webhooks.update(actorOf(input), input.params.id, input.body)));
        },
      }),
      defineRoute({
        method: 'delete',
        path: `${base}/:id`,
        summary: 'Delete a webhook endpoint and its delivery log',
        tags,
        params: idParams,
        responses: { 204: { description: 'Deleted' }, ...notFound },
        async handler(ctx, input) {
          await webhooks.remove(actorOf(input), input.params.id);
          ctx.status = 204;
        },
      }),
      defineRoute({
        method: 'get',
        path: `${base}/:id/deliveries`,
        summary: 'The delivery log of an endpoint: each event sent to it, its status, attempts, last response code and time',
        tags,
        params: idParams,
        query: deliveryListQuery,
        responses: { 200: { description: 'A page of deliveries, newest first', data: z.array(webhookDeliveryResource), paginated: true }, ...notFound },
        async handler(ctx, input) {
          const { items, meta } = await webhooks.deliveries(actorOf(input), input.params.id, input.query);
          sendPage(ctx, items.map(presentWebhookDelivery), meta);
        },
      }),
      defineRoute({
        method: 'get',
        path: `${base}/:id/deliveries/:delivery_id`,
        summary: 'One delivery: the body it sends and every attempt',
        tags,
        params: deliveryParams,
        responses: { 200: { description: 'The delivery', data: webhookDeliveryDetailResource }, 404: { description: 'No such endpoint or delivery (or not yours)' } },
        async handler(ctx, input) {
          const { delivery, attempts } = await webhooks.delivery(actorOf(input), input.params.id, input.params.delivery_id);
          sendData(ctx, presentWebhookDeliveryDetail(delivery, attempts));
        },
      }),
      defineRoute({
        method: 'post',
        path: `${base}/:id/deliveries/:delivery_id/redeliver`,
        summary: 'Send a finished delivery\'s event again, as a new delivery with the same webhook-id',
        tags,
        params: deliveryParams,
        responses: {
          202: { description: 'The new delivery, on its way', data: webhookDeliveryResource },
          404: { description: 'No such endpoint or delivery (or not yours)' },
          409: { description: 'The delivery is still under way, or the endpoint is disabled' },
        },
        async handler(ctx, input) {
          sendData(ctx, presentWebhookDelivery(await webhooks.redeliver(actorOf(input), input.params.id, input.params.delivery_id)), 202);
        },
      }),
    ];
  };

  return [...routesOf('realtors'), ...routesOf('admin')];
}
