import { z } from 'zod';
import { SHARE_LINK_PARTS, SHARE_LINK_STATES } from '../../contracts/share-links';
import { paginationQuery } from '../pagination';
import { bodyInt, dateTimeInput, idParam, isoDateTime, resourceSchema, textField, withRules, type RequestRule } from '../schemas';

export interface ShareLinkLimits {
  /** SHARE_LINK_MAX_DAYS: the longest a link may live. */
  maxDays: number;
  /** SHARE_LINK_MIN_MINUTES: the shortest an expires_at may leave it. */
  minMinutes: number;
}

export const DEFAULT_EXPIRY_DAYS = 7;

/** Checked by the service against the clock (its 400 names expires_at). */
const expiryWindow: RequestRule = {
  rule: 'from-now',
  field: 'expires_at',
  min_minutes_setting: 'SHARE_LINK_MIN_MINUTES',
  max_days_setting: 'SHARE_LINK_MAX_DAYS',
  description: 'expires_at must be at least SHARE_LINK_MIN_MINUTES (10 by default) minutes and at most SHARE_LINK_MAX_DAYS (30 by default, never more) days from now',
};

export function createShareLinkBody(limits: ShareLinkLimits) {
  return withRules(
    z
      .object({
        include: z
          .array(z.enum(SHARE_LINK_PARTS))
          .min(1)
          .max(SHARE_LINK_PARTS.length)
          .refine((parts) => new Set(parts).size === parts.length, 'must not name a part twice')
          .meta({ uniqueItems: true })
          .describe('what the link shows: any of summary, highlights, transcript, recording; nothing else is ever shown'),
        expires_in_days: bodyInt(1, limits.maxDays).optional().describe(`days until the link stops working (${DEFAULT_EXPIRY_DAYS} when neither this nor expires_at is given)`),
        expires_at: dateTimeInput().optional().describe('when the link stops working (instead of expires_in_days)'),
        label: textField().trim().min(1).max(100).optional().describe('a name for the link in your list, e.g. who it was sent to'),
      })
      .strict()
      .refine((b) => b.expires_in_days === undefined || b.expires_at === undefined, {
        message: 'give expires_in_days or expires_at, not both',
        path: ['expires_at'],
        when: (payload) => payload.issues.length === 0,
      })
      .meta({ not: { required: ['expires_in_days', 'expires_at'] } }),
    [expiryWindow],
  );
}

export const shareLinkParams = z.object({ id: idParam.describe('tour id'), link_id: idParam.describe('share link id') }).strict();

export const shareLinkListQuery = z.object({ ...paginationQuery }).strict();

/** Any text: a token that is not one is a 404 like any unknown token, never a 400 that says why. */
export const sharedTokenParams = z.object({ token: z.string().describe('the token from the share link') }).strict();

const shareLinkAttributes = z.object({
  tour_id: z.number().int(),
  include: z.array(z.enum(SHARE_LINK_PARTS)),
  label: z.string().nullable(),
  state: z.enum(SHARE_LINK_STATES).describe('active, expired or revoked'),
  expires_at: isoDateTime,
  revoked_at: isoDateTime.nullable(),
  view_count: z.number().int(),
  last_viewed_at: isoDateTime.nullable(),
  created_by: z.number().int(),
  created_by_role: z.string(),
  created_at: isoDateTime,
});

export const shareLinkResource = resourceSchema('share_link', shareLinkAttributes);

/** At creation only: the token and the link, shown this once (only a digest is kept). */
export const createdShareLinkResource = resourceSchema(
  'share_link',
  shareLinkAttributes.extend({
    token: z.string().describe('shown once: only its SHA-256 is stored'),
    url: z.string().describe('the public link: GET it without signing in'),
  }),
);

const segment = z.object({ start_ms: z.number(), end_ms: z.number(), text: z.string(), speaker: z.string().nullable() });

export const sharedRecapResource = resourceSchema(
  'shared_tour_recap',
  z.object({
    tour: z.object({ property_address: z.string(), scheduled_at: isoDateTime, started_at: isoDateTime.nullable(), ended_at: isoDateTime.nullable() }),
    include: z.array(z.enum(SHARE_LINK_PARTS)),
    expires_at: isoDateTime.describe('when the link stops working'),
    media_urls_expire_at: isoDateTime.nullable().describe('the signed media URLs below stop working at or before this time, never after the link does'),
    summary: z.record(z.string(), z.unknown()).nullable().optional().describe('only when included; null while not ready'),
    highlights: z
      .array(z.object({ timestamp_ms: z.number().int(), type: z.string().nullable(), note: z.string().nullable(), image_url: z.string().nullable() }))
      .nullable()
      .optional()
      .describe('only when included; null while not ready'),
    transcript: z.object({ full_text: z.string().nullable(), segments: z.array(segment) }).nullable().optional().describe('only when included; null while not ready'),
    recording: z
      .object({ url: z.string(), content_type: z.string().nullable(), duration_seconds: z.number().int().nullable() })
      .nullable()
      .optional()
      .describe('only when included; null while not ready'),
  }),
);
