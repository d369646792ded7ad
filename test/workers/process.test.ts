import { readFileSync } from 'node:fs';
import path from 'node:path';
import { NPM_START_NODE_ARGS } from '../../lib/child-process';
import { loadConfig, PROJECT_ROOT } from '../../lib/config';
import { workerCommand } from '../../workers/process';

/** How `npm start` runs its worker process: node's heap limit and glibc's malloc arenas from the configuration. */
describe('the worker process command', () => {
  const stack = { databaseUrl: 'postgres://u:p@127.0.0.1:5432/app', temporalAddress: '127.0.0.1:7233', healthPort: 4321 };

  it('when nothing is set, then the worker runs with the 384 MB old-space limit and two malloc arenas, told where the stack is', () => {
    const t = loadConfig({}).temporal;
    const { args, env } = workerCommand({ ...stack, maxOldSpaceMb: t.workerMaxOldSpaceMb, mallocArenaMax: t.workerMallocArenaMax });
    expect(args).toContain('--max-old-space-size=384');
    expect(args.at(-1)).toBe(require.resolve('../../workers/main'));
    expect(env).toMatchObject({ MALLOC_ARENA_MAX: '2', DATABASE_URL: stack.databaseUrl, TEMPORAL_ADDRESS: stack.temporalAddress, WORKER_HEALTH_PORT: '4321', HOST: '127.0.0.1' });
  });

  it('when TEMPORAL_WORKER_MALLOC_ARENA_MAX and the heap limit are 0, then neither is given and glibc and node keep their own', () => {
    const t = loadConfig({ TEMPORAL_WORKER_MALLOC_ARENA_MAX: '0', TEMPORAL_WORKER_MAX_OLD_SPACE_MB: '0' }).temporal;
    const { args, env } = workerCommand({ ...stack, maxOldSpaceMb: t.workerMaxOldSpaceMb, mallocArenaMax: t.workerMallocArenaMax });
    expect(args.filter((a) => a.startsWith('--max-old-space-size'))).toEqual([]);
    expect(env.MALLOC_ARENA_MAX).toBe(process.env.MALLOC_ARENA_MAX);
  });

  it('when TEMPORAL_WORKER_MALLOC_ARENA_MAX is set, then it is the worker\'s MALLOC_ARENA_MAX; a negative or fractional value is refused', () => {
    const t = loadConfig({ TEMPORAL_WORKER_MALLOC_ARENA_MAX: '4' }).temporal;
    expect(workerCommand({ ...stack, maxOldSpaceMb: 0, mallocArenaMax: t.workerMallocArenaMax }).env.MALLOC_ARENA_MAX).toBe('4');
    expect(() => loadConfig({ TEMPORAL_WORKER_MALLOC_ARENA_MAX: '-1' })).toThrow(/TEMPORAL_WORKER_MALLOC_ARENA_MAX/);
    expect(() => loadConfig({ TEMPORAL_WORKER_MALLOC_ARENA_MAX: '1.5' })).toThrow(/TEMPORAL_WORKER_MALLOC_ARENA_MAX/);
  });

  it('when npm start runs, then the API has its own heap limit, given by package.json as by the benchmark and the tests, and the worker does not inherit it', () => {
    const scripts = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.start).toBe(`node ${NPM_START_NODE_ARGS.join(' ')} --import tsx scripts/start.ts`);
    expect(scripts['start:prod']).toBe(`node ${NPM_START_NODE_ARGS.join(' ')} dist/scripts/start.js`);
    const saved = process.execArgv;
    process.execArgv = [...NPM_START_NODE_ARGS, '--import', 'tsx'];
    try {
      expect(workerCommand({ ...stack, maxOldSpaceMb: 384, mallocArenaMax: 2 }).args.filter((a) => a.startsWith('--max-old-space-size'))).toEqual(['--max-old-space-size=384']);
      expect(workerCommand({ ...stack, maxOldSpaceMb: 0, mallocArenaMax: 2 }).args.slice(0, 2)).toEqual(['--import', 'tsx']);
    } finally {
      process.execArgv = saved;
    }
  });
});
