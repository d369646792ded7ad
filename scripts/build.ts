/**
 * `npm run build`: the production build in dist/, run with plain `node` (no tsx):
 *   - tsc (tsconfig.build.json) compiles the entry points and everything they import;
 *   - files the code reads beside itself (email templates, the STT server script,
 *     package.json for the version) are copied;
 *   - the workflow bundle is made once here with bundleWorkflowCode, so workers load
 *     dist/workflow-bundle.js instead of running webpack at every start.
 * Then: node dist/scripts/start.js (everything embedded), node dist/api/main.js,
 * node dist/workers/main.js, node dist/scripts/migrate.js.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { PROJECT_ROOT } from '../lib/config';

const DIST = path.join(PROJECT_ROOT, 'dist');
/** Source folders whose non-TypeScript files the code may read at run time. */
const SOURCE_DIRS = ['api', 'contracts', 'activities', 'adapters', 'db', 'lib', 'workers', 'workflows', 'scripts'];

/** Every file that is not TypeScript, at the same place under dist/. */
function copyAssets(dir: string): number {
  let copied = 0;
  for (const name of readdirSync(path.join(PROJECT_ROOT, dir))) {
    const rel = path.join(dir, name);
    if (statSync(path.join(PROJECT_ROOT, rel)).isDirectory()) copied += copyAssets(rel);
    else if (!name.endsWith('.ts')) {
      mkdirSync(path.join(DIST, dir), { recursive: true });
      cpSync(path.join(PROJECT_ROOT, rel), path.join(DIST, rel));
      copied++;
    }
  }
  return copied;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  rmSync(DIST, { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(PROJECT_ROOT, 'tsconfig.build.json')], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit',
  });
  const assets = SOURCE_DIRS.filter((d) => existsSync(path.join(PROJECT_ROOT, d))).reduce((n, d) => n + copyAssets(d), 0);
  cpSync(path.join(PROJECT_ROOT, 'templates'), path.join(DIST, 'templates'), { recursive: true });
  cpSync(path.join(PROJECT_ROOT, 'package.json'), path.join(DIST, 'package.json'));

  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    workflowInterceptorModules: [require.resolve('../workflows/interceptors')],
    logger: { trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, log: () => undefined },
  });
  writeFileSync(path.join(DIST, 'workflow-bundle.js'), code);
  process.stdout.write(`built dist/ in ${Date.now() - t0} ms (${assets} asset files, workflow bundle ${(code.length / 1024 / 1024).toFixed(2)} MB)\n`);
}

main().catch((err: unknown) => {
  // tsc has already printed its errors.
  const status = (err as { status?: number }).status;
  process.stderr.write(`build failed: ${status !== undefined ? `tsc exited with ${status}` : (err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
