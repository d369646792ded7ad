import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import request from 'supertest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { COLLECTION_FILE, ENVIRONMENT_FILE, FLOW_FILE, POSTMAN_DIR, STORE_TOKENS_SCRIPT, generate, localOpenApiDocument } from '../../scripts/postman';
import type { TestApp } from '../support/app';
import { count, type TestDatabase } from '../support/db';
import { startTestSystem, type TestSystem } from '../support/system';
import { startTestWorker } from '../support/worker';

// The part of newman's JSON report the test reads.
interface NewmanSummary {
  run: {
    stats: { requests: { total: number; failed: number }; assertions: { total: number; failed: number } };
    failures: Array<{ error: { message: string }; source?: { name?: string } }>;
    executions: Array<{ item: { name: string }; response?: { code: number } }>;
  };
}
const NEWMAN_CLI = require.resolve('newman/bin/newman.js');

/**
 * Runs newman's CLI in a child process and returns its JSON report. Not in-process: newman evaluates scripts in a
 * vm context without `globalThis`, and a Temporal replay run earlier in the same jest process leaves a
 * process-wide promise hook (debug-mode workflows) that throws on every promise such a context creates.
 */
async function runNewman(collection: string, environment: object): Promise<NewmanSummary> {
  const dir = mkdtempSync(path.join(tmpdir(), 'rfy-newman-'));
  try {
    const envFile = path.join(dir, 'environment.json');
    const report = path.join(dir, 'report.json');
    writeFileSync(envFile, JSON.stringify(environment));
    const args = [NEWMAN_CLI, 'run', collection, '-e', envFile, '--reporters', 'json', '--reporter-json-export', report, '--timeout-request', '30000'];
    // newman exits 1 when a request or test fails; the report says which, so the assertions below show it.
    await new Promise<void>((resolve, reject) =>
      execFile(process.execPath, args, { timeout: 120_000 }, (err, _stdout, stderr) =>
        existsSync(report) ? resolve() : reject(new Error(`newman wrote no report (${err?.message ?? 'no error'}): ${stderr}`)),
      ),
    );
    return JSON.parse(readFileSync(report, 'utf8')) as NewmanSummary;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type Json = Record<string, unknown>;
interface Item {
  name: string;
  item?: Item[];
  request?: { method: string; url: { path?: string[] } };
  event?: Array<{ listen: string; script: { exec: string[] } }>;
}

const committed = (file: string) => readFileSync(path.join(POSTMAN_DIR, file), 'utf8');

function* requests(items: Item[]): Generator<Item> {
  for (const item of items) {
    if (item.request) yield item;
    if (item.item) yield* requests(item.item);
  }
}

describe('Postman collection', () => {
  let sys: TestSystem;
  let db: TestDatabase;
  let env: TestWorkflowEnvironment;
  let t: TestApp;

  beforeAll(async () => {
    sys = await startTestSystem();
    ({ db, env, t } = sys);
  });

  afterAll(() => sys?.stop());

  it('when the files are generated again from /openapi.json, then they equal the committed docs/postman files (run npm run postman if not)', async () => {
    const served = (await request(t.callback).get('/openapi.json').expect(200)).body as Json;
    const fromServed = await generate(served);
    for (const file of [COLLECTION_FILE, ENVIRONMENT_FILE, FLOW_FILE]) {
      expect({ file, upToDate: fromServed[file] === committed(file) }).toEqual({ file, upToDate: true });
    }
    // `npm run postman` itself reads the document from the app it builds: the same files.
    expect(await generate(await localOpenApiDocument())).toEqual(fromServed);
  });

  it('has a folder per role area, a request for every documented operation, bodies with example values, and a login that stores the token', async () => {
    const collection = JSON.parse(committed(COLLECTION_FILE)) as { item: Item[]; auth: Json };
    expect(collection.item.map((f) => f.name)).toEqual(['auth', 'realtors', 'buyers', 'admin', 'shared']);
    const doc = (await request(t.callback).get('/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.entries(doc.paths).flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`));
    const inCollection = [...requests(collection.item)].map((i) => `${i.request!.method} /${i.request!.url.path!.join('/')}`);
    expect(inCollection.sort()).toEqual(operations.sort());

    const login = [...requests(collection.item)].find((i) => i.request!.url.path!.join('/') === 'api/v1/auth/login')!;
    expect(login.event).toEqual([expect.objectContaining({ listen: 'test', script: expect.objectContaining({ exec: STORE_TOKENS_SCRIPT }) })]);
    expect(STORE_TOKENS_SCRIPT.join('\n')).toContain("pm.environment.set('accessToken'");
    expect(collection.auth).toEqual({ type: 'bearer', bearer: [{ key: 'token', value: '{{accessToken}}', type: 'string' }] });

    const environment = JSON.parse(committed(ENVIRONMENT_FILE)) as { values: Array<{ key: string; value: string }> };
    expect(environment.values.map((v) => v.key)).toEqual(expect.arrayContaining(['baseUrl', 'accessToken', 'refreshToken', 'email', 'password']));
    expect(environment.values.find((v) => v.key === 'baseUrl')!.value).toBe('http://localhost:3000');
  });

  describe('the flow with newman', () => {
    let worker: Awaited<ReturnType<typeof startTestWorker>>;
    let server: Server;
    let baseUrl: string;

    beforeAll(async () => {
      worker = await startTestWorker(env, t, db.knex);
      server = t.app.listen(0, '127.0.0.1');
      await new Promise<void>((resolve) => server.once('listening', resolve));
      baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      await new Promise((resolve) => server?.close(resolve));
      await worker?.stop();
    });

    it('when newman runs register → login → list property → list → book → confirm against the running app, then every request and test passes', async () => {
      const environment = JSON.parse(committed(ENVIRONMENT_FILE)) as { values: Array<{ key: string; value: string }> };
      environment.values = environment.values.map((v) => (v.key === 'baseUrl' ? { ...v, value: baseUrl } : v));
      const summary = await runNewman(path.join(POSTMAN_DIR, FLOW_FILE), environment);
      const steps = summary.run.executions.map((e) => ({ step: e.item.name, status: e.response?.code }));
      expect({ steps, failures: summary.run.failures.map((f) => `${f.source?.name}: ${f.error.message}`) }).toEqual({
        steps: [
          { step: 'Register a realtor', status: 201 },
          { step: 'Register a buyer', status: 201 },
          { step: 'Realtor signs in', status: 200 },
          { step: 'Realtor lists a property', status: 201 },
          { step: 'Buyer signs in', status: 200 },
          { step: 'Buyer lists properties', status: 200 },
          { step: 'Buyer books a tour', status: 201 },
          { step: 'Realtor signs in again', status: 200 },
          { step: 'Realtor confirms the booking', status: 200 },
        ],
        failures: [],
      });
      expect(summary.run.stats.assertions.failed).toBe(0);
      expect(summary.run.stats.assertions.total).toBeGreaterThanOrEqual(12);
      // What the flow did is really there.
      expect(await count(db.knex('bookings').where({ status: 'confirmed' }))).toBe(1);
      expect(await count(db.knex('tours'))).toBe(1);
    });
  });
});
