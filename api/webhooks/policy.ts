import type { WebhookEndpointScope } from '../../db/repositories/webhooks.repository';
import { AppError } from '../../lib/errors';
import type { Actor } from '../routing';

/**
 * A realtor manages their own endpoints (which receive events of their own listings); an
 * admin manages every endpoint (their own receive every listing's events). Another user's
 * endpoint is a 404 through `scope`.
 */
export const webhookPolicy = {
  scope(actor: Actor): WebhookEndpointScope {
    return actor.user.role === 'admin' ? {} : { ownerId: actor.user.id };
  },

  assertCanManage(actor: Actor): void {
    if (actor.user.role !== 'realtor' && actor.user.role !== 'admin') throw new AppError(403, 'FORBIDDEN', 'Only realtors and admins register webhooks');
  },
};
