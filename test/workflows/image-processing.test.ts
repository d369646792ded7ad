import { existsSync, readdirSync, readFileSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import request from 'supertest';
import sharp from 'sharp';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { inspectImage } from '../../adapters/images/inspect';
import { createLogger } from '../../lib/logger';
import { imageWorkflowId, type ImageProcessingResult } from '../../contracts/images';
import { startImageProcessing } from '../../api/workflow-starters';
import { buildTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { createTimeSkippingEnv } from '../support/temporal';
import { createProperty, createRealtor, type SignedIn } from '../support/factories';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'images');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name));

interface Upload {
  data: Buffer;
  filename: string;
  contentType: string;
}

interface ImageRow {
  id: number;
  property_id: number;
  status: string;
  position: number;
  original_key: string;
  processed_key: string | null;
  thumbnail_key: string | null;
  processed_width: number | null;
  processed_height: number | null;
  thumbnail_width: number | null;
  thumbnail_height: number | null;
  failure_reason: string | null;
}

/** Every file under a folder, relative to it; none when it does not exist. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as Dirent[])
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
    .sort();
}

function solid(width: number, height: number, background: string): sharp.Sharp {
  return sharp({ create: { width, height, channels: 3, background } });
}

/** A photo-like image (noise, so encoders cannot shrink it to nothing) of the given size. */
function noisy(width: number, height: number): sharp.Sharp {
  return sharp({ create: { width, height, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 40 } } });
}

function pixel(raw: { data: Buffer; info: sharp.OutputInfo }, x: number, y: number): [number, number, number] {
  const i = (y * raw.info.width + x) * raw.info.channels;
  return [raw.data[i]!, raw.data[i + 1]!, raw.data[i + 2]!];
}

/** Runs an activity function in a mock activity context, keeping its types. */
function inActivity<A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return new MockActivityEnvironment().run(fn, ...args) as Promise<R>;
}

const isRed = ([r, g, b]: [number, number, number]) => r > 200 && g < 60 && b < 60;
const isBlue = ([r, g, b]: [number, number, number]) => b > 200 && r < 60 && g < 60;

describe('property images: upload, ImageProcessing workflow and storage, end to end on the time-skipping server', () => {
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  let t: TestApp;
  let worker: Worker;
  let workerRun: Promise<void>;
  let realtor: SignedIn;
  let activities: ReturnType<typeof createActivities>;

  const http = () => request(t.callback);
  const storageDir = () => t.config.storage.localDir;

  beforeAll(async () => {
    [db, env] = await Promise.all([createTestDatabase(), createTimeSkippingEnv()]);
    t = await buildTestApp({ knex: db.knex, env });
    const logger = createLogger(t.config, 'test-worker');
    activities = createActivities({ config: t.config, logger, knex: db.knex, ...t.adapters });
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: t.config.temporal.taskQueue,
      workflowsPath: require.resolve('../../workflows'),
      activities,
    });
    workerRun = worker.run();
    realtor = await createRealtor(t, 'Rita Realtor');
  });

  afterAll(async () => {
    if (worker) {
      worker.shutdown();
      await workerRun;
    }
    t?.cleanup();
    await Promise.all([db?.destroy(), env?.teardown()]);
  });

  function upload(propertyId: number, files: Upload[], app: TestApp = t, who: SignedIn = realtor) {
    let req = request(app.callback).post(`/api/v1/realtors/properties/${propertyId}/images`).set(who.auth);
    for (const f of files) req = req.attach('images', f.data, { filename: f.filename, contentType: f.contentType });
    return req;
  }

  function waitForProcessing(imageId: number): Promise<ImageProcessingResult> {
    return env.client.workflow.getHandle(imageWorkflowId(imageId)).result();
  }

  const rowsOf = (propertyId: number): Promise<ImageRow[]> => db.knex('property_images').where({ property_id: propertyId }).orderBy('position');
  const rowOf = async (imageId: number): Promise<ImageRow> => (await db.knex('property_images').where({ id: imageId }).first())!;
  const propertyFiles = (propertyId: number, app: TestApp = t) => filesUnder(path.join(app.config.storage.localDir, 'properties', String(propertyId)));

  /** Downloads a signed URL through the app's own /files route. */
  async function download(url: string) {
    const u = new URL(url);
    return http()
      .get(u.pathname + u.search)
      .buffer(true)
      .parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      });
  }

  async function readStored(key: string): Promise<Buffer> {
    const obj = await t.adapters.storage.get(key);
    const chunks: Buffer[] = [];
    for await (const c of obj.body) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  describe('when an accepted image is uploaded', () => {
    it('when a 2400x1600 JPEG with EXIF and a 600x300 PNG are uploaded, then they come back pending at once and end ready with a 1200x800 / 600x300 WebP (never enlarged) and a 300x200 thumbnail, all without EXIF, served as image/webp', async () => {
      const propertyId = await createProperty(t, realtor);
      const big = await noisy(2400, 1600).jpeg({ quality: 70 }).withMetadata({ exif: { IFD0: { Copyright: 'Rita', Artist: 'GPS-leaking camera' } } }).toBuffer();
      expect((await sharp(big).metadata()).exif).toBeDefined();
      const small = await solid(600, 300, '#2a7').png().toBuffer();

      const res = await upload(propertyId, [
        { data: big, filename: 'living-room.jpeg', contentType: 'image/jpeg' },
        { data: small, filename: 'floorplan.png', contentType: 'image/png' },
      ]);
      expect(res.status).toBe(201);
      expect(res.body.success).toBe(true);
      expect(res.body.data).toHaveLength(2);
      for (const img of res.body.data) {
        expect(img).toMatchObject({ type: 'property_image', attributes: { status: 'pending', url: null, thumbnail_url: null } });
      }
      const [bigId, smallId] = res.body.data.map((d: { id: string }) => Number(d.id));
      const pending = await rowsOf(propertyId);
      expect(pending.map((r) => r.status).every((s) => s === 'pending' || s === 'processing' || s === 'ready')).toBe(true);
      for (const r of pending) expect(await t.adapters.storage.exists(r.original_key)).toBe(true);

      expect(await waitForProcessing(bigId)).toEqual({ status: 'ready' });
      expect(await waitForProcessing(smallId)).toEqual({ status: 'ready' });

      const expected: Record<number, { large: [number, number] }> = { [bigId]: { large: [1200, 800] }, [smallId]: { large: [600, 300] } };
      for (const id of [bigId, smallId]) {
        const row = await rowOf(id);
        expect(row).toMatchObject({
          status: 'ready',
          failure_reason: null,
          processed_width: expected[id]!.large[0],
          processed_height: expected[id]!.large[1],
          thumbnail_width: 300,
          thumbnail_height: 200,
        });
        const large = await sharp(await readStored(row.processed_key!)).metadata();
        expect([large.format, large.width, large.height, large.exif]).toEqual(['webp', ...expected[id]!.large, undefined]);
        const thumb = await sharp(await readStored(row.thumbnail_key!)).metadata();
        expect([thumb.format, thumb.width, thumb.height, thumb.exif]).toEqual(['webp', 300, 200, undefined]);
      }

      const got = await http().get(`/api/v1/realtors/properties/${propertyId}`).set(realtor.auth);
      expect(got.status).toBe(200);
      const images = got.body.data.relationships.images.data;
      expect(images.map((i: { id: string }) => Number(i.id))).toEqual([bigId, smallId]);
      for (const img of images) {
        expect(img.attributes).toMatchObject({ status: 'ready', thumbnail_width: 300, thumbnail_height: 200, failure_reason: null });
        for (const [url, size] of [
          [img.attributes.url, [img.attributes.width, img.attributes.height]],
          [img.attributes.thumbnail_url, [300, 200]],
        ] as const) {
          expect(url).toMatch(/\/files\/properties\/.+\.webp\?expires=\d+&signature=[0-9a-f]{64}$/);
          const file = await download(url);
          expect(file.status).toBe(200);
          expect(file.headers['content-type']).toBe('image/webp');
          const meta = await sharp(file.body as Buffer).metadata();
          expect([meta.format, meta.width, meta.height, meta.exif]).toEqual(['webp', ...size, undefined]);
        }
      }
      expect(images[0].attributes).toMatchObject({ width: 1200, height: 800 });
      expect(images[1].attributes).toMatchObject({ width: 600, height: 300 });
    });

    it('when a 200x100 JPEG (red left, blue right) carries EXIF orientation 6, then both outputs are upright: 100x200 with red on top', async () => {
      const propertyId = await createProperty(t, realtor);
      const raw = Buffer.alloc(200 * 100 * 3);
      for (let y = 0; y < 100; y++) {
        for (let x = 0; x < 200; x++) raw.set(x < 100 ? [255, 0, 0] : [0, 0, 255], (y * 200 + x) * 3);
      }
      const rotated = await sharp(raw, { raw: { width: 200, height: 100, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
      const inMeta = await sharp(rotated).metadata();
      expect([inMeta.width, inMeta.height, inMeta.orientation]).toEqual([200, 100, 6]);

      const res = await upload(propertyId, [{ data: rotated, filename: 'sideways.jpg', contentType: 'image/jpeg' }]);
      expect(res.status).toBe(201);
      const id = Number(res.body.data[0].id);
      expect(await waitForProcessing(id)).toEqual({ status: 'ready' });
      const row = await rowOf(id);
      expect([row.processed_width, row.processed_height]).toEqual([100, 200]);

      const large = await sharp(await readStored(row.processed_key!)).raw().toBuffer({ resolveWithObject: true });
      expect([large.info.width, large.info.height]).toEqual([100, 200]);
      expect(isRed(pixel(large, 50, 50))).toBe(true);
      expect(isBlue(pixel(large, 50, 150))).toBe(true);
      expect((await sharp(await readStored(row.processed_key!)).metadata()).orientation).toBeUndefined();

      // The thumbnail is cut from the upright picture: top half red, bottom half blue.
      const thumb = await sharp(await readStored(row.thumbnail_key!)).raw().toBuffer({ resolveWithObject: true });
      expect([thumb.info.width, thumb.info.height]).toEqual([300, 200]);
      expect(isRed(pixel(thumb, 150, 40))).toBe(true);
      expect(isBlue(pixel(thumb, 150, 160))).toBe(true);
    });
  });

  describe('when an upload is refused, nothing is stored', () => {
    it('the decompression-bomb fixture really is a valid 20000x20000 one-colour PNG of a few tens of KB', () => {
      const png = fixture('bomb-20000x20000.png');
      expect(png.length).toBeLessThan(100_000);
      expect([png.readUInt32BE(16), png.readUInt32BE(20), png[24], png[25]]).toEqual([20_000, 20_000, 1, 0]);
      const idatLength = png.readUInt32BE(33);
      expect(png.toString('ascii', 37, 41)).toBe('IDAT');
      const rows = inflateSync(png.subarray(41, 41 + idatLength));
      expect(rows.length).toBe(20_000 * (1 + 20_000 / 8));
      expect(rows.every((b) => b === 0)).toBe(true);
    });

    const cases: Array<{ when: string; file: () => Promise<Upload> | Upload; status: number; code: string; message: RegExp }> = [
      {
        when: 'a 20000x20000 PNG bomb is sent',
        file: () => ({ data: fixture('bomb-20000x20000.png'), filename: 'bomb.png', contentType: 'image/png' }),
        status: 422,
        code: 'UNPROCESSABLE_ENTITY',
        message: /400000000 pixels; at most 40000000/,
      },
      {
        when: 'a truncated JPEG is sent',
        file: () => ({ data: fixture('truncated.jpg'), filename: 'cut.jpg', contentType: 'image/jpeg' }),
        status: 422,
        code: 'UNPROCESSABLE_ENTITY',
        message: /truncated or corrupt/,
      },
      {
        when: 'a truncated PNG is sent',
        file: async () => ({ data: (await noisy(300, 200).png().toBuffer()).subarray(0, 20_000), filename: 'cut.png', contentType: 'image/png' }),
        status: 422,
        code: 'UNPROCESSABLE_ENTITY',
        message: /truncated or corrupt/,
      },
      {
        when: 'a truncated WebP is sent',
        file: async () => {
          const webp = await noisy(300, 200).webp().toBuffer();
          return { data: webp.subarray(0, webp.length >> 1), filename: 'cut.webp', contentType: 'image/webp' };
        },
        status: 422,
        code: 'UNPROCESSABLE_ENTITY',
        message: /truncated or corrupt/,
      },
      {
        when: 'a truncated AVIF is sent',
        file: async () => {
          const avif = await noisy(300, 200).avif().toBuffer();
          return { data: avif.subarray(0, avif.length >> 1), filename: 'cut.avif', contentType: 'image/avif' };
        },
        status: 422,
        code: 'UNPROCESSABLE_ENTITY',
        message: /truncated or corrupt/,
      },
      {
        when: 'an SVG is sent',
        file: () => ({ data: fixture('drawing.svg'), filename: 'drawing.svg', contentType: 'image/svg+xml' }),
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: /Only JPEG, PNG, WebP, HEIC and AVIF/,
      },
      {
        when: 'an SVG is disguised as house.png / image/png',
        file: () => ({ data: fixture('drawing.svg'), filename: 'house.png', contentType: 'image/png' }),
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: /Only JPEG, PNG, WebP, HEIC and AVIF/,
      },
      {
        when: 'a text file named photo.jpg is sent as image/jpeg',
        file: () => ({ data: fixture('photo.jpg'), filename: 'photo.jpg', contentType: 'image/jpeg' }),
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: /Only JPEG, PNG, WebP, HEIC and AVIF/,
      },
    ];

    it.each(cases)('when $when, then $status $code and no row or file is stored', async ({ file, status, code, message }) => {
      const propertyId = await createProperty(t, realtor);
      const res = await upload(propertyId, [await file()]);
      expect(res.status).toBe(status);
      expect(res.body.success).toBe(false);
      expect(res.body.errors[0]).toMatchObject({ code, field: 'images', message: expect.stringMatching(message) });
      expect(await rowsOf(propertyId)).toEqual([]);
      expect(propertyFiles(propertyId)).toEqual([]);
    });

    it('when one file of a batch is refused, then the whole request fails naming that file and the good files are not stored either', async () => {
      const propertyId = await createProperty(t, realtor);
      const good = await noisy(400, 300).jpeg().toBuffer();
      const res = await upload(propertyId, [
        { data: good, filename: 'good.jpg', contentType: 'image/jpeg' },
        { data: fixture('truncated.jpg'), filename: 'cut.jpg', contentType: 'image/jpeg' },
      ]);
      expect(res.status).toBe(422);
      expect(res.body.errors[0]).toMatchObject({ field: 'images.1', message: expect.stringContaining('cut.jpg') });
      expect(await rowsOf(propertyId)).toEqual([]);
      expect(propertyFiles(propertyId)).toEqual([]);
    });

    it('when a file is over IMAGE_MAX_BYTES, then 413 before it is judged, and no row or file is stored', async () => {
      const small = await buildTestApp({ knex: db.knex, env, config: { IMAGE_MAX_BYTES: '4096' } });
      try {
        const who = await createRealtor(small, 'Sam Small');
        const propertyId = await createProperty(small, who);
        const big = await noisy(200, 200).jpeg().toBuffer();
        expect(big.length).toBeGreaterThan(4096);
        const res = await upload(propertyId, [{ data: big, filename: 'big.jpg', contentType: 'image/jpeg' }], small, who);
        expect(res.status).toBe(413);
        expect(res.body.errors[0]).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', field: 'images' });
        // Not even an image: the size limit comes first.
        const junk = await upload(propertyId, [{ data: Buffer.alloc(5000, 'x'), filename: 'a.txt', contentType: 'text/plain' }], small, who);
        expect(junk.status).toBe(413);
        expect(await rowsOf(propertyId)).toEqual([]);
        expect(filesUnder(small.config.storage.localDir)).toEqual([]);
      } finally {
        small.cleanup();
      }
    });
  });

  describe('when processing fails', () => {
    it('when a PNG with a valid header and a garbage IDAT is uploaded, then the upload decodes it and refuses it with 422, storing nothing', async () => {
      const png = fixture('garbage-idat.png');
      // Signature, header and structure are sound: only decoding the pixels finds the damage.
      await expect(sharp(png).metadata()).resolves.toMatchObject({ format: 'png', width: 64, height: 48 });
      await expect(inspectImage(png, { maxPixels: 40e6 })).rejects.toMatchObject({ reason: 'corrupt' });

      const propertyId = await createProperty(t, realtor);
      const res = await upload(propertyId, [{ data: png, filename: 'corrupt.png', contentType: 'image/png' }]);
      expect({ status: res.status, error: res.body.errors?.[0] }).toEqual({
        status: 422,
        error: { code: 'UNPROCESSABLE_ENTITY', field: 'images', message: expect.stringMatching(/^corrupt\.png: .*could not be decoded/) },
      });
      expect(await rowsOf(propertyId)).toEqual([]);
      expect(propertyFiles(propertyId)).toEqual([]);
    });

    it('when a stored image turns out undecodable (stored before uploads were decoded), then its workflow ends { status: "failed" } with the reason on the row, without retrying', async () => {
      const png = fixture('garbage-idat.png');
      const propertyId = await createProperty(t, realtor);
      // As an upload stored it before the upload-time decode existed: the original and a pending row.
      const key = `properties/${propertyId}/images/legacy/original.png`;
      await t.adapters.storage.put(key, png, 'image/png');
      const [inserted] = await db
        .knex('property_images')
        .insert({ property_id: propertyId, original_key: key, status: 'pending', content_type: 'image/png', byte_size: png.length, width: 64, height: 48, position: 0 })
        .returning('id');
      const id = Number((inserted as { id: number }).id);
      await startImageProcessing(env.client, t.config.temporal.taskQueue, id);

      const result = await waitForProcessing(id);
      expect(result).toMatchObject({ status: 'failed', reason: expect.stringMatching(/could not be decoded/) });

      const row = await rowOf(id);
      expect(row).toMatchObject({ status: 'failed', processed_key: null, thumbnail_key: null });
      expect(row.failure_reason).toMatch(/could not be decoded/);
      // Only the original: no rendered variant was stored.
      expect(propertyFiles(propertyId).filter((f) => !f.endsWith('.meta.json'))).toEqual([path.relative(`properties/${propertyId}`, row.original_key)]);

      const got = await http().get(`/api/v1/realtors/properties/${propertyId}`).set(realtor.auth);
      expect(got.body.data.relationships.images.data[0].attributes).toMatchObject({ status: 'failed', url: null, thumbnail_url: null, failure_reason: row.failure_reason });

      // A decode failure is permanent: one attempt, no retries.
      const history = await env.client.workflow.getHandle(imageWorkflowId(id)).fetchHistory();
      const attempts = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt);
      expect(attempts[0]).toBe(1);
    });
  });

  describe('when a property has several images', () => {
    it('when three files are sent in one request, then they get increasing positions; PUT position reorders them; DELETE removes the row and all three files', async () => {
      const propertyId = await createProperty(t, realtor);
      const files = await Promise.all(
        ['#f00', '#0f0', '#00f'].map(async (c, i) => ({ data: await solid(640 + i, 480, c).jpeg().toBuffer(), filename: `room-${i}.jpg`, contentType: 'image/jpeg' })),
      );
      const res = await upload(propertyId, files);
      expect(res.status).toBe(201);
      expect(res.body.data.map((d: { attributes: { position: number; status: string } }) => [d.attributes.position, d.attributes.status])).toEqual([
        [0, 'pending'],
        [1, 'pending'],
        [2, 'pending'],
      ]);
      const [a, b, c] = res.body.data.map((d: { id: string }) => Number(d.id)) as [number, number, number];
      for (const id of [a, b, c]) expect(await waitForProcessing(id)).toEqual({ status: 'ready' });

      // A later upload goes after the existing ones.
      const more = await upload(propertyId, [files[0]!]);
      expect(more.body.data[0].attributes.position).toBe(3);
      const d = Number(more.body.data[0].id);
      expect(await waitForProcessing(d)).toEqual({ status: 'ready' });

      const moved = await http().put(`/api/v1/realtors/properties/${propertyId}/images/${c}`).set(realtor.auth).send({ position: 0 });
      expect(moved.status).toBe(200);
      expect(moved.body.data).toMatchObject({ id: String(c), type: 'property_image', attributes: { position: 0, status: 'ready' } });
      const order = async () => {
        const got = await http().get(`/api/v1/realtors/properties/${propertyId}`).set(realtor.auth);
        return got.body.data.relationships.images.data.map((i: { id: string; attributes: { position: number } }) => [Number(i.id), i.attributes.position]);
      };
      expect(await order()).toEqual([
        [c, 0],
        [a, 1],
        [b, 2],
        [d, 3],
      ]);
      // Past the end means last.
      expect((await http().put(`/api/v1/realtors/properties/${propertyId}/images/${c}`).set(realtor.auth).send({ position: 99 })).body.data.attributes.position).toBe(3);
      expect(await order()).toEqual([
        [a, 0],
        [b, 1],
        [d, 2],
        [c, 3],
      ]);

      const row = await rowOf(a);
      const keys = [row.original_key, row.processed_key!, row.thumbnail_key!];
      for (const k of keys) expect(await t.adapters.storage.exists(k)).toBe(true);
      const folder = path.dirname(row.original_key);
      expect(filesUnder(path.join(storageDir(), folder)).filter((f) => !f.endsWith('.meta.json'))).toHaveLength(3);

      const del = await http().delete(`/api/v1/realtors/properties/${propertyId}/images/${a}`).set(realtor.auth);
      expect(del.status).toBe(204);
      expect(await db.knex('property_images').where({ id: a }).first()).toBeUndefined();
      for (const k of keys) expect(await t.adapters.storage.exists(k)).toBe(false);
      expect(filesUnder(path.join(storageDir(), folder))).toEqual([]);
      // The others are untouched.
      expect((await rowsOf(propertyId)).map((r) => r.id).sort()).toEqual([b, c, d].sort());
      const other = await rowOf(b);
      for (const k of [other.original_key, other.processed_key!, other.thumbnail_key!]) expect(await t.adapters.storage.exists(k)).toBe(true);

      expect((await http().delete(`/api/v1/realtors/properties/${propertyId}/images/${a}`).set(realtor.auth)).status).toBe(404);
    });
  });

  describe('when an activity is retried', () => {
    it('when renderPropertyImage runs twice for the same image, then it yields the same keys and no extra files, and completing twice records one outcome', async () => {
      const propertyId = await createProperty(t, realtor);
      const res = await upload(propertyId, [{ data: await noisy(900, 600).jpeg().toBuffer(), filename: 'retry.jpg', contentType: 'image/jpeg' }]);
      const id = Number(res.body.data[0].id);
      expect(await waitForProcessing(id)).toEqual({ status: 'ready' });
      const before = await rowOf(id);
      const filesBefore = propertyFiles(propertyId);
      expect(filesBefore.filter((f) => !f.endsWith('.meta.json'))).toHaveLength(3);

      const first = await inActivity(activities.renderPropertyImage, id);
      const second = await inActivity(activities.renderPropertyImage, id);
      expect(first).toEqual(second);
      expect(first).toMatchObject({ processedKey: before.processed_key, thumbnailKey: before.thumbnail_key, width: 900, height: 600, thumbnailWidth: 300, thumbnailHeight: 200 });
      expect(propertyFiles(propertyId)).toEqual(filesBefore);

      expect(await inActivity(activities.completePropertyImage, id, { status: 'ready' as const, ...first! })).toBe('done');
      expect(await rowOf(id)).toEqual(before);
      const audits = await db.knex('audit_logs').where({ resource_type: 'property_image', resource_id: id, action: 'property_image_ready' });
      expect(audits).toHaveLength(1);
    });

    it('when the image was deleted before its activity ran, then renderPropertyImage finds nothing to do and stores nothing', async () => {
      const propertyId = await createProperty(t, realtor);
      const res = await upload(propertyId, [{ data: await noisy(300, 300).png().toBuffer(), filename: 'gone.png', contentType: 'image/png' }]);
      const id = Number(res.body.data[0].id);
      await waitForProcessing(id);
      expect((await http().delete(`/api/v1/realtors/properties/${propertyId}/images/${id}`).set(realtor.auth)).status).toBe(204);
      expect(await inActivity(activities.renderPropertyImage, id)).toBeNull();
      expect(propertyFiles(propertyId)).toEqual([]);
    });

    it('when the image is deleted while it is being rendered, then completing it reports gone and removes the rendered files', async () => {
      const propertyId = await createProperty(t, realtor);
      const res = await upload(propertyId, [{ data: await noisy(500, 400).webp().toBuffer(), filename: 'race.webp', contentType: 'image/webp' }]);
      const id = Number(res.body.data[0].id);
      expect(await waitForProcessing(id)).toEqual({ status: 'ready' });
      const rendered = await inActivity(activities.renderPropertyImage, id);
      // The API deleted the row (and the files it knew of) between render and complete.
      const row = await rowOf(id);
      await db.knex('property_images').where({ id }).delete();
      await t.adapters.storage.delete(row.original_key);

      expect(await inActivity(activities.completePropertyImage, id, { status: 'ready' as const, ...rendered! })).toBe('gone');
      expect(await t.adapters.storage.exists(rendered!.processedKey)).toBe(false);
      expect(await t.adapters.storage.exists(rendered!.thumbnailKey)).toBe(false);
      expect(propertyFiles(propertyId)).toEqual([]);
    });
  });
});
