import { AiPermanentError, type TranscriptionProvider } from '../../adapters/ai/port';
import { parseResumeArgs } from '../../scripts/tours-resume-parked';
import { count } from '../support/db';
import { toneWav } from '../e2e/support/wav';
import { runScript } from '../support/scripts';
import { createAdmin, createBuyer, createProperty, createRealtor, createTour, serverSlot, type SignedIn } from '../support/factories';
import { startTestSystem, TOURS_STARTABLE_NOW, type TestSystem } from '../support/system';
import { eventually } from '../support/wait';

/**
 * After a provider outage: tours parked in processing_failed are resumed in bulk, by the
 * admin endpoint and by `npm run tours:resume-parked`, filtered by step, each resume
 * audit-logged, with a dry run that changes nothing.
 */

describe('resuming parked tours in bulk', () => {
  let sys: TestSystem;
  let realtor: SignedIn;
  let buyer: SignedIn;
  let admin: SignedIn;
  let propertyId: number;
  /** The transcription provider is down while this is true. */
  let outage = true;
  let slot = 0;
  const http = () => sys.http();

  beforeAll(async () => {
    const transcriber: TranscriptionProvider = {
      name: 'local',
      configured: true,
      transcribe: async () => {
        if (outage) throw new AiPermanentError('The transcription service refused the request: account suspended');
        return { text: 'hello', segments: [{ start_ms: 0, end_ms: 500, text: 'hello' }], confidence: 0.9, language: 'en', model: 'test' };
      },
    };
    sys = await startTestSystem({ config: { TEMPORAL_TASK_QUEUE: 'rfy-bulk-retry', ...TOURS_STARTABLE_NOW }, worker: { transcriber } });
    [realtor, buyer, admin] = await Promise.all([createRealtor(sys.t, 'Rhea Realtor'), createBuyer(sys.t, 'Bo Buyer'), createAdmin(sys.t, sys.db.knex)]);
    propertyId = await createProperty(sys.t, realtor, { address: '3 Outage Way', city: 'Springfield' });
  }, 120_000);

  afterAll(() => sys?.stop());

  /** A tour that was held, recorded and ended while transcription was down: parked at transcription. */
  async function parkedTour(): Promise<number> {
    const { tourId } = await createTour(sys.t, { realtor, buyer }, { propertyId, scheduledAt: await serverSlot(sys.env, slot++) });
    expect((await http().post(`/api/v1/realtors/tours/${tourId}/start`).set(realtor.auth)).status).toBe(200);
    expect((await http().post(`/api/v1/realtors/tours/${tourId}/recording`).set(realtor.auth).attach('recording', toneWav({ seconds: 1 }), 'a.wav')).status).toBe(201);
    expect((await http().post(`/api/v1/realtors/tours/${tourId}/end`).set(realtor.auth)).status).toBe(200);
    await eventually('the tour parked', async () => (await sys.db.knex('tours').where({ id: tourId }).first()).status === 'processing_failed', 60_000);
    return tourId;
  }

  const status = async (id: number) => (await sys.db.knex('tours').where({ id }).first()).status as string;

  it('when an admin asks for a dry run, then the parked tours are listed and nothing changes; when they resume those at transcription, then each is resumed once, audit-logged, and completes', async () => {
    const ids = [await parkedTour(), await parkedTour(), await parkedTour()];

    const dry = await http().post('/api/v1/admin/tours/retry').set(admin.auth).send({ step: 'transcription', dry_run: true });
    expect(dry.status).toBe(200);
    expect(dry.body.data.attributes).toMatchObject({ dry_run: true, matched: 3, resumed: [], failed: [] });
    expect(dry.body.data.attributes.tours.map((x: { id: number }) => x.id).sort()).toEqual([...ids].sort());
    for (const id of ids) expect(await status(id)).toBe('processing_failed');

    // Another step's filter matches nothing.
    const none = await http().post('/api/v1/admin/tours/retry').set(admin.auth).send({ step: 'summary' });
    expect(none.body.data.attributes).toMatchObject({ matched: 0, resumed: [] });

    outage = false;
    const res = await http().post('/api/v1/admin/tours/retry').set(admin.auth).send({ step: 'transcription', per_second: 20 });
    expect(res.status).toBe(200);
    expect(res.body.data.attributes).toMatchObject({ dry_run: false, matched: 3, failed: [] });
    expect([...res.body.data.attributes.resumed].sort()).toEqual([...ids].sort());
    for (const id of ids) await eventually(`tour ${id} completed`, async () => (await status(id)) === 'completed', 60_000);
    const audits = await sys.db.knex('audit_logs').where({ action: 'tour_processing_retried' }).whereIn('resource_id', ids).select('user_id', 'details');
    expect(audits).toHaveLength(3);
    for (const a of audits) {
      expect(a.user_id).toBe(admin.id);
      expect(typeof a.details === 'string' ? JSON.parse(a.details) : a.details).toEqual({ step: 'transcription', bulk: true, via: 'api' });
    }
    // Each completed once: one transcript, one summary email per person.
    for (const id of ids) {
      expect(await count(sys.db.knex('transcripts').where({ tour_id: id }))).toBe(1);
      expect(await count(sys.db.knex('notifications').where('idempotency_key', 'like', `tour-summary:${id}:%`))).toBe(2);
    }
  }, 240_000);

  it('when the filter is malformed or the caller is not an admin, then 400 / 403 and nothing is resumed', async () => {
    for (const body of [{ step: 'dancing' }, { since: 'yesterday' }, { per_second: 0 }]) {
      const r = await http().post('/api/v1/admin/tours/retry').set(admin.auth).send(body);
      if (r.status !== 400) throw new Error(`${JSON.stringify(body)} → ${r.status} ${JSON.stringify(r.body)}`);
    }
    expect((await http().post('/api/v1/admin/tours/retry').set(admin.auth).send({ step: 'dancing' })).status).toBe(400);
    expect((await http().post('/api/v1/admin/tours/retry').set(admin.auth).send({ since: 'yesterday' })).status).toBe(400);
    expect((await http().post('/api/v1/admin/tours/retry').set(admin.auth).send({ per_second: 0 })).status).toBe(400);
    expect((await http().post('/api/v1/admin/tours/retry').set(realtor.auth).send({})).status).toBe(403);
  });

  it('when the command line resumes parked tours, then it prints each and a summary, and a dry run resumes nothing', async () => {
    outage = true;
    const id = await parkedTour();
    outage = false;
    const envVars = { DATABASE_URL: sys.db.url, TEMPORAL_ADDRESS: sys.env.address };
    const dry = await runScript('scripts/tours-resume-parked.ts', ['--dry-run', '--step', 'transcription'], envVars, 60_000);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`would resume tour ${id} (parked at transcription`);
    expect(await status(id)).toBe('processing_failed');
    const run = await runScript('scripts/tours-resume-parked.ts', ['--step', 'transcription', '--rate', '10'], envVars, 120_000);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`resumed tour ${id}`);
    expect(run.stdout).toMatch(/1 matched, 1 resumed, 0 not resumed/);
    await eventually('the tour completed', async () => (await status(id)) === 'completed', 60_000);
    expect(await count(sys.db.knex('audit_logs').where({ action: 'tour_processing_retried', resource_id: id }))).toBe(1);
  }, 240_000);

  it('when its arguments are wrong, then the command line says which', () => {
    expect(() => parseResumeArgs(['--step', 'dancing', '--rate', '0', '--since', 'soon'])).toThrow(/--step must be one of[\s\S]*--since must be[\s\S]*--rate must be/);
    expect(parseResumeArgs(['--dry-run'])).toMatchObject({ dryRun: true, perSecond: 2, filter: { limit: 1000 } });
  });
});
