import http from 'node:http';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { tourRecordingPrefix } from '../../contracts/tours';
import type { TestApp } from '../support/app';
import { count, type TestDatabase } from '../support/db';
import { createRealtor, insertProperty, insertTour, type SignedIn } from '../support/factories';
import { startTestSystem, type TestSystem } from '../support/system';
import { toneWav } from './support/wav';

/**
 * Recording uploads stream: three concurrent 450 MiB uploads (one over the limit, one to a
 * tour that does not exist, one that is not media) and an accepted 350 MiB one, against the
 * real app on a real socket. The bodies are generated as they are sent (one 64 KiB buffer
 * written again and again), so the process's RSS is the server's buffering plus a little.
 *
 * The bound the API keeps: +64 MiB for these four at once (stream and socket buffers, a few
 * MiB per upload, and garbage not yet collected). Asserted here with a 2x margin, for the
 * client in the same process and the collector's timing; buffered whole, as before, the
 * same run grew by well over 1 GiB.
 */

const MiB = 1024 * 1024;
const LIMIT = 400 * MiB;
const BIG = 450 * MiB;
const ACCEPTED = 350 * MiB;
const RSS_BOUND = 2 * 64 * MiB;

interface Sent {
  status: number;
  body: { data?: { attributes?: Record<string, unknown> }; errors?: Array<{ code: string; field?: string }> };
}

/**
 * A multipart upload of `size` bytes starting with `head`, sent chunked (no Content-Length,
 * so only the stream can tell the server the size). Sends it all, as curl would, even after
 * an early answer; resolves with the answer once both are done.
 */
function streamUpload(port: number, tourId: number, auth: SignedIn['auth'], head: Buffer, size: number): Promise<Sent> {
  const boundary = `----rfy${Math.random().toString(16).slice(2)}`;
  const preamble = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="recording"; filename="tour.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const epilogue = Buffer.from(`\r\n--${boundary}--\r\n`);
  const filler = Buffer.alloc(64 * 1024, 0x41);
  return new Promise<Sent>((resolve, reject) => {
    let sent = 0;
    let answer: Sent | undefined;
    let writing = true;
    const finish = () => {
      if (answer && !writing) resolve(answer);
    };
    const req = http.request({
      port,
      method: 'POST',
      path: `/api/v1/realtors/tours/${tourId}/recording`,
      headers: { ...auth, 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Transfer-Encoding': 'chunked' },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        answer = { status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') };
        finish();
      });
    });
    req.on('error', (err) => (answer ? ((writing = false), finish()) : reject(err)));
    void (async () => {
      const write = async (chunk: Buffer) => {
        if (!req.write(chunk)) await once(req, 'drain');
      };
      await write(preamble);
      await write(head);
      sent = head.length;
      while (sent < size && !req.destroyed) {
        const chunk = size - sent >= filler.length ? filler : filler.subarray(0, size - sent);
        await write(chunk);
        sent += chunk.length;
      }
      req.end(epilogue);
      await once(req, 'finish');
      writing = false;
      finish();
    })().catch((err: unknown) => (answer ? ((writing = false), finish()) : reject(err)));
  });
}

/** Every file under `dir`, hidden temp files included. */
function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
  } catch {
    return [];
  }
}

describe('streamed recording uploads keep memory bounded', () => {
  let sys: TestSystem;
  let db: TestDatabase;
  let t: TestApp;
  let server: http.Server;
  let port: number;
  let realtor: SignedIn;

  beforeAll(async () => {
    sys = await startTestSystem({ config: { RECORDING_MAX_BYTES: String(LIMIT) } });
    ({ db, t } = sys);
    server = http.createServer(t.callback);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
    realtor = await createRealtor(t);
  }, 120_000);

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await sys?.stop();
  }, 60_000);

  /** A scheduled tour of the realtor's, as rows (uploads need no workflow); the factory's slots keep the realtor's tours apart. */
  async function aTour(): Promise<number> {
    const { id: propertyId } = await insertProperty(db.knex, { realtor_id: realtor.id });
    return (await insertTour(db.knex, { property_id: propertyId })).tourId;
  }

  it('when three 450 MiB uploads (too large, no such tour, not media) and a 350 MiB one arrive at once, then RSS stays bounded, the refusals are 413/404/415 with nothing kept, and only the accepted one is stored', async () => {
    const wav = toneWav({ seconds: 1 });
    const text = Buffer.from('These are not the sounds of a tour.\n'.repeat(4));
    const [tooLarge, notMedia, accepted, warmUp] = [await aTour(), await aTour(), await aTour(), await aTour()];

    // One small upload first, so the baseline includes the code and pools the path loads.
    const first = await streamUpload(port, warmUp, realtor.auth, wav, 2 * MiB);
    expect(first.status).toBe(201);

    let peak = 0;
    const sample = () => {
      peak = Math.max(peak, process.memoryUsage().rss);
    };
    const baseline = process.memoryUsage().rss;
    const sampler = setInterval(sample, 25);
    let results: Sent[];
    try {
      results = await Promise.all([
        streamUpload(port, tooLarge, realtor.auth, wav, BIG),
        streamUpload(port, 2_000_000_000, realtor.auth, wav, BIG),
        streamUpload(port, notMedia, realtor.auth, text, BIG),
        streamUpload(port, accepted, realtor.auth, wav, ACCEPTED),
      ]);
    } finally {
      clearInterval(sampler);
    }
    sample();
    const [large, missing, rejected, ok] = results;

    // Reported so the stated bound can be checked against what a run really used.
    process.stdout.write(`upload-memory: RSS grew ${((peak - baseline) / MiB).toFixed(1)} MiB (bound ${RSS_BOUND / MiB} MiB)\n`);
    expect(peak - baseline).toBeLessThan(RSS_BOUND);

    // Refusals are answered once the rest of the body has been read and dropped (Node stops
    // reading a request answered early, and the client would stall); the storing stopped at
    // the limit (the adapters' tests feed an endless body to show it).
    expect(large!.status).toBe(413);
    expect(large!.body.errors?.[0]).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', field: 'recording' });
    expect(missing!.status).toBe(404);
    expect(rejected!.status).toBe(415);
    expect(rejected!.body.errors?.[0]).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', field: 'recording' });

    expect(ok!.status).toBe(201);

    // Nothing stored for the refusals, no partial or temp file left; the accepted one whole.
    for (const tourId of [tooLarge, notMedia]) {
      expect(await count(db.knex('recordings').where({ tour_id: tourId }))).toBe(0);
      expect(await t.adapters.storage.list(`${tourRecordingPrefix(tourId)}/`)).toEqual([]);
    }
    const row = await db.knex('recordings').where({ tour_id: accepted }).first();
    expect(row).toMatchObject({ source: 'upload', content_type: 'audio/wav' });
    expect(Number(row.file_size_bytes)).toBe(ACCEPTED);
    const stored = await t.adapters.storage.get(row.storage_key);
    stored.body.destroy();
    expect(stored.size).toBe(ACCEPTED);
    const files = filesUnder(t.config.storage.localDir).filter((f) => f.startsWith('recordings/'));
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(files.filter((f) => !f.endsWith('.meta.json')).sort()).toEqual(
      [row.storage_key, (await db.knex('recordings').where({ tour_id: warmUp }).first()).storage_key].sort(),
    );
  }, 240_000);
});
