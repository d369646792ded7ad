/**
 * The webhooks port: POST a signed payload to a registered URL and say how it went. The
 * real implementation (http.ts) guards against requests into private networks; there is no
 * other: in development WEBHOOKS_ALLOW_PRIVATE lets it reach local receivers.
 */

export interface WebhookRequest {
  url: string;
  /** The exact bytes that were signed. */
  body: string;
  /** The Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature). */
  headers: Record<string, string>;
}

export interface WebhookResponse {
  /** A 2xx answer from the final URL. */
  ok: boolean;
  /** The final answer's status; null when none came (refused, unreachable, timed out). */
  status: number | null;
  /** Why it was not delivered; null when ok. */
  error: string | null;
  /** The start of the answer's body, for the delivery log. */
  excerpt: string | null;
  durationMs: number;
  /** How many redirects were followed. */
  redirects: number;
}

export interface WebhookTransport {
  /** Never rejects for the receiver's or the network's faults: they are in the response. */
  post(request: WebhookRequest): Promise<WebhookResponse>;
}

/** A name's addresses, as the operating system's resolver (or a test's) gives them. */
export type Resolver = (hostname: string) => Promise<Array<{ address: string; family: 4 | 6 }>>;
