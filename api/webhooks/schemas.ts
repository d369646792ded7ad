import { z } from 'zod';
import { WEBHOOK_DELIVERY_STATUSES, WEBHOOK_EVENT_TYPES } from '../../contracts/webhooks';
import { paginationQuery } from '../pagination';
import { idParam, isoDateTime, nonEmptyObject, resourceSchema, textField } from '../schemas';

const URL_MAX_LENGTH = 2048;

// RFC 3986 pieces, in ASCII (the document's `format: uri`): what a path or query may hold,
// and a host name whose last label starts with a letter, so never an IPv4 address in any of
// the forms URL parsers read (`0`, `0x7f.1`, `127.1`), and never `localhost` or a name under it.
const PCHAR = "(?:[A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})";
const HOST_NAME = '(?:[A-Za-z0-9][A-Za-z0-9-]*\\.)*(?![Ll][Oo][Cc][Aa][Ll][Hh][Oo][Ss][Tt](?![A-Za-z0-9-]))[A-Za-z][A-Za-z0-9-]*';
const PORT = '(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])';

/**
 * What an endpoint URL is by default, whole: https://, a host name, an optional port, path and
 * query; no credentials, no fragment. The document's pattern, and the check below.
 */
export const HTTPS_WEBHOOK_URL_PATTERN = `^https://${HOST_NAME}(?::${PORT})?(?:/${PCHAR}*)?(?:\\?(?:${PCHAR}|\\?)*)?$`;
const HTTPS_WEBHOOK_URL = new RegExp(HTTPS_WEBHOOK_URL_PATTERN);
/** Characters RFC 3986 allows in a URI, percent signs only as escapes. */
const URI_CHARACTERS = /^(?:[A-Za-z0-9._~:/?#[\]@!$&'()*+,;=-]|%[0-9A-Fa-f]{2})*$/;

/** Why `v` is not a webhook URL (the most telling reason), or null. */
function webhookUrlProblem(v: string): string | null {
  // Nothing longer is ever matched: the patterns only run on a bounded string.
  if (v.length > URL_MAX_LENGTH) return null;
  const secure = v.startsWith('https://');
  if (!secure && !v.startsWith('http://')) return 'must be an absolute https:// URL';
  if (!URI_CHARACTERS.test(v)) return 'must be written in the characters of RFC 3986 (percent-encode anything else)';
  const url = URL.canParse(v) ? new URL(v) : null;
  if (!url || url.hostname === '') return 'must be a well-formed absolute URL';
  if (url.username || url.password) return 'must not carry credentials (user:password@)';
  if (v.includes('#')) return 'must not have a #fragment';
  if (secure && !HTTPS_WEBHOOK_URL.test(v)) return 'must name its host (not an IP address or localhost), with an optional port, path and query';
  return null;
}

/**
 * A webhook URL. By default exactly HTTPS_WEBHOOK_URL_PATTERN (https:// and a host name); the
 * addresses a name resolves to are checked at every delivery. With WEBHOOKS_ALLOW_PRIVATE
 * (development) the service also takes plain http:// to any host, so an http:// URL in RFC 3986
 * characters passes here and the service decides (its 400 names `url`).
 */
const webhookUrl = z
  .string()
  .max(URL_MAX_LENGTH)
  .superRefine((v, ctx) => {
    const problem = webhookUrlProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({ format: 'uri', pattern: HTTPS_WEBHOOK_URL_PATTERN })
  .describe(
    'where events are POSTed: https:// and a host name (not an IP address; an IDN in its xn-- form), with an optional port, path and query, as the pattern says; never localhost, and at every delivery never a loopback, private or link-local address the name resolves to. Only when the server runs with WEBHOOKS_ALLOW_PRIVATE=true (development) is plain http:// to any host, e.g. http://127.0.0.1:9999/hook, accepted too.',
  );

const eventTypes = z
  .array(z.enum(WEBHOOK_EVENT_TYPES))
  .min(1, 'name at least one event type')
  .max(WEBHOOK_EVENT_TYPES.length)
  .refine((types) => new Set(types).size === types.length, 'must not repeat an event type')
  .meta({ uniqueItems: true })
  .describe('the events to receive (booking events, tour events, recap steps, feedback) about your own listings; admins receive every listing\'s');

const description = textField().trim().max(500).nullable();

export const createWebhookBody = z
  .object({
    url: webhookUrl,
    event_types: eventTypes,
    description: description.optional(),
  })
  .strict();

export const updateWebhookBody = nonEmptyObject(
  z
    .object({
      url: webhookUrl.optional(),
      event_types: eventTypes.optional(),
      description: description.optional(),
      enabled: z.boolean().optional().describe('false pauses deliveries; true resumes them (and clears an automatic disabling)'),
    })
    .strict(),
);

export const webhookListQuery = z.object({ ...paginationQuery }).strict();
export const adminWebhookListQuery = z.object({ ...paginationQuery, owner_id: idParam.optional().describe('only this user\'s endpoints') }).strict();

export const deliveryListQuery = z
  .object({
    ...paginationQuery,
    status: z.enum(WEBHOOK_DELIVERY_STATUSES).optional(),
    event_type: z.enum(WEBHOOK_EVENT_TYPES).optional(),
  })
  .strict();

export const deliveryParams = z.object({ id: idParam.describe('webhook endpoint id'), delivery_id: idParam.describe('delivery id') }).strict();

const endpointAttributes = z.object({
  owner_id: z.number().int(),
  url: z.string(),
  description: z.string().nullable(),
  event_types: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
  enabled: z.boolean(),
  disabled_at: isoDateTime.nullable(),
  disabled_reason: z.string().nullable(),
  failing_since: isoDateTime.nullable(),
  last_success_at: isoDateTime.nullable(),
  created_at: isoDateTime,
  updated_at: isoDateTime,
});

export const webhookEndpointResource = resourceSchema('webhook_endpoint', endpointAttributes);

/** The answer to a creation: the only time the secret is shown. */
export const createdWebhookEndpointResource = resourceSchema(
  'webhook_endpoint',
  endpointAttributes.extend({
    secret: z.string().describe('whsec_ + base64: verify each delivery\'s webhook-signature with it (Standard Webhooks). Shown only now.'),
  }),
);

const deliveryAttributes = z.object({
  endpoint_id: z.number().int(),
  event_type: z.enum(WEBHOOK_EVENT_TYPES),
  message_id: z.string().describe('the webhook-id header: the same for every attempt and redelivery of this event'),
  status: z.enum(WEBHOOK_DELIVERY_STATUSES),
  attempts: z.number().int(),
  last_status_code: z.number().int().nullable(),
  last_error: z.string().nullable(),
  last_attempt_at: isoDateTime.nullable(),
  next_attempt_at: isoDateTime.nullable(),
  delivered_at: isoDateTime.nullable(),
  failed_at: isoDateTime.nullable(),
  redelivery_of: z.number().int().nullable(),
  occurred_at: isoDateTime,
  created_at: isoDateTime,
});

export const webhookDeliveryResource = resourceSchema('webhook_delivery', deliveryAttributes);

export const webhookDeliveryDetailResource = resourceSchema(
  'webhook_delivery',
  deliveryAttributes.extend({
    payload: z.object({ type: z.enum(WEBHOOK_EVENT_TYPES), timestamp: isoDateTime, data: z.record(z.string(), z.unknown()) }).describe('the body that is signed and sent'),
    attempt_log: z.array(
      z.object({
        attempt: z.number().int(),
        attempted_at: isoDateTime,
        response_status: z.number().int().nullable(),
        error: z.string().nullable(),
        response_excerpt: z.string().nullable(),
        duration_ms: z.number().int(),
      }),
    ),
  }),
);

export type CreateWebhookInput = z.infer<typeof createWebhookBody>;
export type UpdateWebhookInput = z.infer<typeof updateWebhookBody>;
export type DeliveryListQuery = z.infer<typeof deliveryListQuery>;
