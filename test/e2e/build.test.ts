import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/config';
import { freePort } from '../support/ports';
import { runScript } from '../support/scripts';
import { freeStackPorts, spawnNode, stackEnv, stopProc, waitFor200, type Proc } from './support/processes';

/**
 * The production build: `npm run build` compiles to dist/ and prebuilds the workflow
 * bundle; the compiled entry points then run with plain node (what the Dockerfile runs,
 * which cannot be built here without a container engine): npm start's all-in-one
 * against the embedded infrastructure, and the API and a worker as their own processes
 * against that infrastructure.
 */

describe('npm run build, then node dist/…', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'rfy-build-'));
  chmodSync(root, 0o755);
  const dataDir = path.join(root, 'data');
  const procs: Proc[] = [];

  afterAll(async () => {
    for (const p of procs.reverse()) await stopProc(p);
    rmSync(root, { recursive: true, force: true });
  }, 90_000);

  it('when built, then dist/ holds the compiled entry points, migrations, templates and the workflow bundle', async () => {
    const build = await runScript('scripts/build.ts', [], {}, 300_000);
    expect({ code: build.code, stderr: build.stderr }).toEqual({ code: 0, stderr: '' });
    for (const file of [
      'api/main.js',
      'workers/main.js',
      'scripts/start.js',
      'scripts/migrate.js',
      'scripts/healthcheck.js',
      'db/migrations/20261126000001_initial_schema.js',
      'templates/email/welcome.html',
      'package.json',
      'workflow-bundle.js',
    ]) {
      expect({ file, exists: existsSync(path.join(PROJECT_ROOT, 'dist', file)) }).toEqual({ file, exists: true });
    }
  }, 320_000);

  it('when node dist/scripts/start.js runs, and node dist/api/main.js and node dist/workers/main.js beside it, then all answer ready, and the worker did not bundle', async () => {
    const ports = await freeStackPorts();
    const stack = spawnNode(['dist/scripts/start.js'], stackEnv(dataDir, ports));
    procs.push(stack);
    await waitFor200(`http://127.0.0.1:${ports.api}/health/ready`, stack);

    const external = {
      DATA_DIR: dataDir,
      DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${ports.pg}/realtyforyou`,
      TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
      // Info: the SDK says "Workflow bundle created" at this level when it bundles.
      LOG_LEVEL: 'info',
    };
    const [apiPort, workerPort] = [await freePort(), await freePort()];
    const api = spawnNode(['dist/api/main.js'], { ...external, PORT: String(apiPort) });
    const worker = spawnNode(['dist/workers/main.js'], { ...external, PORT: String(apiPort), WORKER_HEALTH_PORT: String(workerPort) });
    procs.push(api, worker);
    await waitFor200(`http://127.0.0.1:${apiPort}/health/ready`, api);
    await waitFor200(`http://127.0.0.1:${workerPort}/health`, worker);
    expect(worker.output()).toContain('worker running');
    expect(worker.output()).not.toContain('Workflow bundle created');

    // The image's HEALTHCHECK command, in either kind of container.
    const apiCheck = spawnNode(['dist/scripts/healthcheck.js'], { ...external, PORT: String(apiPort), WORKER_HEALTH_PORT: String(await freePort()) });
    expect((await apiCheck.exited).code).toBe(0);
    const workerCheck = spawnNode(['dist/scripts/healthcheck.js'], { ...external, PORT: String(await freePort()), WORKER_HEALTH_PORT: String(workerPort) });
    expect((await workerCheck.exited).code).toBe(0);
    const nothing = spawnNode(['dist/scripts/healthcheck.js'], { ...external, PORT: String(await freePort()), WORKER_HEALTH_PORT: String(await freePort()) });
    expect((await nothing.exited).code).toBe(1);

    for (const p of [worker, api, stack]) expect(await stopProc(p)).toBe(0);
  }, 300_000);
});
