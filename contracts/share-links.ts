/**
 * Share links for a tour's recap: what a link can include, the states a link is in, and the
 * limits the API, the database and the tests agree on. A leaf: it imports nothing.
 */

/** The parts of a recap a link may include; a link shows those and nothing else. */
export const SHARE_LINK_PARTS = ['summary', 'highlights', 'transcript', 'recording'] as const;
export type ShareLinkPart = (typeof SHARE_LINK_PARTS)[number];
export const SHARE_LINK_PART = {
  summary: 'summary',
  highlights: 'highlights',
  transcript: 'transcript',
  recording: 'recording',
} as const satisfies { [P in ShareLinkPart]: P };

/** Derived from the row (never stored): revoked wins over expired. */
export const SHARE_LINK_STATES = ['active', 'expired', 'revoked'] as const;
export type ShareLinkState = (typeof SHARE_LINK_STATES)[number];
export const SHARE_LINK_STATE = { active: 'active', expired: 'expired', revoked: 'revoked' } as const satisfies { [S in ShareLinkState]: S };

/** The longest a link may live, whatever SHARE_LINK_MAX_DAYS says; the database checks it too. */
export const SHARE_LINK_MAX_DAYS_CEILING = 30;

/** Random bytes in a token: 256 bits, well above the 128 a guess must beat. */
export const SHARE_TOKEN_BYTES = 32;

/** The public route a token is read at; the token follows it. */
export const SHARED_RECAP_PATH = '/api/v1/shared/';

/** Audit actions of the share-link domain. */
export const SHARE_LINK_AUDIT = {
  created: 'share_link_created',
  revoked: 'share_link_revoked',
  viewed: 'share_link_viewed',
} as const;
