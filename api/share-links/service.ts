import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { ObjectStorage } from '../../adapters/storage/port';
import { SHARE_LINK_AUDIT, SHARE_LINK_MAX_DAYS_CEILING, SHARE_LINK_PART, SHARE_TOKEN_BYTES, SHARED_RECAP_PATH, type ShareLinkPart } from '../../contracts/share-links';
import { TOUR_STATUS } from '../../contracts/tours';
import { recordAudit } from '../../db/audit';
import { shareLinksRepository, type ShareLinkRecord } from '../../db/repositories/share-links.repository';
import { toursRepository, type TourView } from '../../db/repositories/tours.repository';
import { ConflictError, NotFoundError, ValidationError } from '../../lib/errors';
import type { PageMeta } from '../envelope';
import { pageMeta, type PageRequest } from '../pagination';
import type { Actor } from '../routing';
import { shareLinkPolicy } from './policy';
import { DEFAULT_EXPIRY_DAYS, type ShareLinkLimits } from './schemas';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

export interface ShareLinkServiceDeps {
  knex: Knex;
  storage: ObjectStorage;
  limits: ShareLinkLimits;
  /** STORAGE_URL_TTL_SECONDS: the longest a signed media URL lives (a shared one is cut to the link's expiry). */
  mediaUrlTtlSeconds: number;
  /** Where clients reach the API: the shared link is built on it. */
  publicBaseUrl: string;
  now?: () => number;
}

export interface NewShareLinkInput {
  include: ShareLinkPart[];
  expires_in_days?: number;
  expires_at?: string;
  label?: string;
}

/** The digest a token is stored and looked up by. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

/** What a viewer of a link sees: only the parts the link includes (absent ones are not keys at all). */
export interface SharedRecap {
  link: ShareLinkRecord;
  tour: { property_address: string; scheduled_at: Date; started_at: Date | null; ended_at: Date | null };
  mediaUrlsExpireAt: Date | null;
  parts: Partial<{
    summary: Record<string, unknown> | null;
    highlights: Array<{ timestamp_ms: number; type: string | null; note: string | null; image_url: string | null }> | null;
    transcript: { full_text: string | null; segments: Array<{ start_ms: number; end_ms: number; text: string; speaker: string | null }> } | null;
    recording: { url: string; content_type: string | null; duration_seconds: number | null } | null;
  }>;
}

type Step = { status: string; detail: string | null } | undefined;

/** An artifact is ready once it exists and its processing step (if it ran) is done, as the tours API says. */
const ready = (present: boolean, step: Step) => present && (!step || step.status === 'done');

export class ShareLinkService {
  private readonly now: () => number;

  constructor(private readonly deps: ShareLinkServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** The tour as the actor may see it, or the same 404 as for no such tour. */
  private async tour(actor: Actor, tourId: number): Promise<TourView> {
    const tour = await toursRepository(this.deps.knex).findView(shareLinkPolicy.scope(actor), tourId);
    if (!tour) throw new NotFoundError('Tour');
    return tour;
  }

  private expiry(input: NewShareLinkInput, now: number): Date {
    if (input.expires_at === undefined) return new Date(now + (input.expires_in_days ?? DEFAULT_EXPIRY_DAYS) * DAY_MS);
    const at = new Date(input.expires_at).getTime();
    const { minMinutes, maxDays } = this.deps.limits;
    if (at < now + minMinutes * MINUTE_MS) throw new ValidationError([{ field: 'expires_at', message: `must be at least ${minMinutes} minutes from now` }]);
    if (at > now + Math.min(maxDays, SHARE_LINK_MAX_DAYS_CEILING) * DAY_MS) throw new ValidationError([{ field: 'expires_at', message: `must be at most ${maxDays} days from now` }]);
    return new Date(at);
  }

  /** A new link and its token, which is shown this once: only its digest is stored. */
  async create(actor: Actor, tourId: number, input: NewShareLinkInput): Promise<{ link: ShareLinkRecord; token: string; url: string }> {
    const tour = await this.tour(actor, tourId);
    if (tour.status === TOUR_STATUS.cancelled) throw new ConflictError('This tour was cancelled: it has no recap to share');
    const now = this.now();
    const expiresAt = this.expiry(input, now);
    const token = randomBytes(SHARE_TOKEN_BYTES).toString('base64url');
    const link = await this.deps.knex.transaction(async (trx) => {
      const created = await shareLinksRepository(trx).create({
        tour_id: tour.id,
        created_by: actor.user.id,
        token_hash: tokenDigest(token),
        include: input.include,
        label: input.label ?? null,
        // The row's own time, so the database's "at most 30 days" check reads the same clock.
        created_at: new Date(now),
        expires_at: expiresAt,
      });
      await recordAudit(trx, {
        actorId: actor.user.id,
        action: SHARE_LINK_AUDIT.created,
        resourceType: 'share_link',
        resourceId: created.id,
        details: { tour_id: tour.id, include: input.include, expires_at: expiresAt.toISOString() },
        requestId: actor.requestId,
      });
      return created;
    });
    return { link, token, url: `${this.deps.publicBaseUrl}${SHARED_RECAP_PATH}${token}` };
  }

  async list(actor: Actor, tourId: number, page: PageRequest): Promise<{ items: ShareLinkRecord[]; meta: PageMeta }> {
    const tour = await this.tour(actor, tourId);
    const { items, total } = await shareLinksRepository(this.deps.knex).list(tour.id, page);
    return { items, meta: pageMeta(page, total) };
  }

  /** Revoked at once: the next view is a 404. Revoking a revoked link changes nothing. */
  async revoke(actor: Actor, tourId: number, linkId: number): Promise<ShareLinkRecord> {
    const tour = await this.tour(actor, tourId);
    return this.deps.knex.transaction(async (trx) => {
      const links = shareLinksRepository(trx);
      if (!(await links.find(tour.id, linkId))) throw new NotFoundError('Share link');
      if (await links.revoke(linkId, actor.user.id)) {
        await recordAudit(trx, { actorId: actor.user.id, action: SHARE_LINK_AUDIT.revoked, resourceType: 'share_link', resourceId: linkId, details: { tour_id: tour.id }, requestId: actor.requestId });
      }
      return (await links.find(tour.id, linkId))!;
    });
  }

  /**
   * The recap behind a token, counted and audit-logged as one view. An unknown, expired or
   * revoked token is the same 404, found the same way: by the digest's unique index.
   */
  async view(token: string, viewer: { requestId: string; ip: string }): Promise<SharedRecap> {
    const link = await this.deps.knex.transaction(async (trx) => {
      const found = await shareLinksRepository(trx).view(tokenDigest(token));
      if (found) {
        await recordAudit(trx, {
          actorId: null,
          action: SHARE_LINK_AUDIT.viewed,
          resourceType: 'share_link',
          resourceId: found.id,
          details: { tour_id: found.tour_id, view: found.view_count, ip: viewer.ip },
          requestId: viewer.requestId,
        });
      }
      return found;
    });
    if (!link) throw new NotFoundError('Shared recap');
    const tours = toursRepository(this.deps.knex);
    const tour = await tours.findView({}, link.tour_id);
    if (!tour) throw new NotFoundError('Shared recap');
    const steps = await tours.steps.of(tour.id);
    const includes = (part: ShareLinkPart) => link.include.includes(part);

    // Media URLs live no longer than the configured lifetime, nor past the link's expiry.
    const now = this.now();
    const ttl = Math.min(this.deps.mediaUrlTtlSeconds, Math.floor((link.expires_at.getTime() - now) / 1000));
    const sign = (key: string) => (ttl >= 1 ? this.deps.storage.signedUrl(key, ttl) : Promise.resolve(null));
    let signed = false;

    const parts: SharedRecap['parts'] = {};
    if (includes(SHARE_LINK_PART.summary)) {
      parts.summary = ready(Boolean(tour.summary), steps.summary) ? tour.summary : null;
    }
    if (includes(SHARE_LINK_PART.highlights)) {
      const rows = steps.highlights?.status === 'done' ? await tours.highlights.of(tour.id) : null;
      parts.highlights = rows
        ? await Promise.all(
            rows.map(async (h) => {
              const image = h.image_url ? await sign(h.image_url) : null;
              signed ||= image !== null;
              return { timestamp_ms: Number(h.timestamp_ms), type: h.highlight_type ?? null, note: h.note ?? null, image_url: image };
            }),
          )
        : null;
    }
    if (includes(SHARE_LINK_PART.transcript)) {
      const t = await tours.transcripts.find<{ start_ms: number; end_ms: number; text: string; speaker?: string | null }>(tour.id);
      parts.transcript = t && ready(true, steps.transcription)
        ? { full_text: t.full_text, segments: (t.segments ?? []).map((s) => ({ start_ms: s.start_ms, end_ms: s.end_ms, text: s.text, speaker: s.speaker ?? null })) }
        : null;
    }
    if (includes(SHARE_LINK_PART.recording)) {
      const rec = await tours.recordings.find(tour.id);
      const url = rec?.storage_key && ready(true, steps.recording) ? await sign(rec.storage_key) : null;
      signed ||= url !== null;
      parts.recording = rec && url ? { url, content_type: rec.content_type, duration_seconds: rec.duration_seconds } : null;
    }
    return {
      link,
      tour: { property_address: tour.property_address, scheduled_at: tour.scheduled_at, started_at: tour.started_at, ended_at: tour.ended_at },
      mediaUrlsExpireAt: signed ? new Date(now + ttl * 1000) : null,
      parts,
    };
  }
}
