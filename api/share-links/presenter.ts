import { SHARE_LINK_STATE, type ShareLinkState } from '../../contracts/share-links';
import type { ShareLinkRecord } from '../../db/repositories/share-links.repository';
import { resource } from '../envelope';
import type { SharedRecap } from './service';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** Revoked wins over expired: a revoked link stays revoked in the owners' list. */
export function shareLinkState(link: Pick<ShareLinkRecord, 'revoked_at' | 'expires_at'>, now = Date.now()): ShareLinkState {
  if (link.revoked_at) return SHARE_LINK_STATE.revoked;
  return link.expires_at.getTime() <= now ? SHARE_LINK_STATE.expired : SHARE_LINK_STATE.active;
}

function attributes(link: ShareLinkRecord) {
  return {
    tour_id: link.tour_id,
    include: link.include,
    label: link.label,
    state: shareLinkState(link),
    expires_at: link.expires_at.toISOString(),
    revoked_at: iso(link.revoked_at),
    view_count: link.view_count,
    last_viewed_at: iso(link.last_viewed_at),
    created_by: link.created_by,
    created_by_role: link.created_by_role,
    created_at: link.created_at.toISOString(),
  };
}

export function presentShareLink(link: ShareLinkRecord) {
  return resource('share_link', link.id, attributes(link));
}

/** The one answer that carries the token. */
export function presentCreatedShareLink(created: { link: ShareLinkRecord; token: string; url: string }) {
  return resource('share_link', created.link.id, { ...attributes(created.link), token: created.token, url: created.url });
}

export function presentSharedRecap(recap: SharedRecap) {
  return resource('shared_tour_recap', recap.link.id, {
    tour: {
      property_address: recap.tour.property_address,
      scheduled_at: recap.tour.scheduled_at.toISOString(),
      started_at: iso(recap.tour.started_at),
      ended_at: iso(recap.tour.ended_at),
    },
    include: recap.link.include,
    expires_at: recap.link.expires_at.toISOString(),
    media_urls_expire_at: iso(recap.mediaUrlsExpireAt),
    ...recap.parts,
  });
}
