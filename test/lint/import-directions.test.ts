import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/config';

// The rule lives in eslint.config.mjs; these probes are linted in memory under paths inside
// each folder (nothing is written to the tree), so the folder blocks apply as they do in `npm run lint`.
interface Probe { filePath: string; code: string }
interface Linted { filePath: string; messages: { ruleId: string | null; message: string; line: number }[] }

const DIRECTION_RULES = new Set(['no-restricted-imports', 'no-restricted-syntax']);
const importing = (specifier: string) => `import { probe } from '${specifier}';\nexport const used = probe;\n`;

const forbidden: { filePath: string; code: string; says: string }[] = [
  { filePath: 'lib/probe.ts', code: importing('../workflows/booking.workflow'), says: 'lib/ imports only lib/' },
  { filePath: 'lib/probe.ts', code: importing('../db/knex'), says: 'lib/ imports only lib/' },
  { filePath: 'lib/probe.ts', code: importing('../contracts/bookings'), says: 'lib/ imports only lib/' },
  { filePath: 'lib/probe.ts', code: "export * from '../workflows/booking.workflow';\n", says: 'lib/ imports only lib/' },
  { filePath: 'contracts/probe.ts', code: importing('../db/models/booking'), says: 'contracts/ imports only contracts/' },
  { filePath: 'contracts/probe.ts', code: importing('../workflows/booking.workflow'), says: 'contracts/ imports only contracts/' },
  { filePath: 'adapters/email/probe.ts', code: importing('../../db/knex'), says: 'adapters/ imports only adapters/, lib/, contracts/' },
  { filePath: 'adapters/email/probe.ts', code: importing('../../activities'), says: 'adapters/ imports only' },
  { filePath: 'db/repositories/probe.ts', code: importing('../../adapters'), says: 'db/ imports only db/, lib/, contracts/' },
  { filePath: 'db/probe.ts', code: importing('../api/errors'), says: 'db/ imports only' },
  { filePath: 'activities/probe.ts', code: importing('../workflows/tour.workflow'), says: 'activities/ imports only' },
  { filePath: 'activities/probe.ts', code: importing('../api/bookings/service'), says: 'activities/ imports only' },
  { filePath: 'workflows/probe.ts', code: importing('../activities'), says: 'import type' },
  { filePath: 'workflows/probe.ts', code: importing('../activities/bookings.activities'), says: 'import type' },
  { filePath: 'workflows/probe.ts', code: "import type { Meeting } from '../adapters/meetings/port';\nexport type M = Meeting;\n", says: 'workflows/ imports only' },
  { filePath: 'workflows/probe.ts', code: importing('../db/knex'), says: 'workflows/ imports only' },
  { filePath: 'workflows/probe.ts', code: importing('../lib/config'), says: 'workflows/ imports only' },
  { filePath: 'workflows/probe.ts', code: importing('node:fs'), says: 'Workflows must not do I/O' },
  { filePath: 'api/bookings/probe.ts', code: importing('../../activities/bookings.activities'), says: 'api/ imports only' },
  { filePath: 'api/probe.ts', code: importing('../workers/worker'), says: 'api/ imports only' },
  { filePath: 'workers/probe.ts', code: importing('../api/app'), says: 'workers/ must not import api/' },
  { filePath: 'workers/probe.ts', code: importing('../test/support/temporal'), says: 'Nothing outside test/ imports test/' },
  { filePath: 'scripts/probe.ts', code: importing('../test/support/temporal'), says: 'Nothing outside test/ imports test/' },
  { filePath: 'scripts/seed/probe.ts', code: importing('../../test/support/users'), says: 'Nothing outside test/ imports test/' },
  { filePath: 'bench/probe.ts', code: importing('../test/support/ports'), says: 'Nothing outside test/ imports test/' },
  { filePath: 'api/probe.ts', code: importing('../test/support/app'), says: 'Nothing outside test/ imports test/' },
  { filePath: 'bench/probe.ts', code: "export const load = () => import('../test/support/ports');\n", says: 'Nothing outside test/ imports test/' },
  { filePath: 'scripts/probe.ts', code: "export const load = () => require('../test/support/ports');\n", says: 'Nothing outside test/ imports test/' },
];

const allowed: Probe[] = [
  { filePath: 'lib/probe.ts', code: importing('./config') },
  { filePath: 'lib/probe.ts', code: importing('node:path') },
  // A package whose name ends like one of our folders is not that folder.
  { filePath: 'lib/probe.ts', code: importing('@opentelemetry/api') },
  { filePath: 'contracts/probe.ts', code: importing('@temporalio/workflow') },
  { filePath: 'contracts/probe.ts', code: importing('./tours') },
  { filePath: 'adapters/email/probe.ts', code: importing('../../lib/config') },
  { filePath: 'adapters/email/probe.ts', code: importing('../../contracts/bookings') },
  { filePath: 'db/repositories/probe.ts', code: importing('../../contracts/bookings') },
  { filePath: 'activities/probe.ts', code: importing('../adapters') },
  { filePath: 'activities/probe.ts', code: importing('../db/repositories/bookings.repository') },
  { filePath: 'activities/probe.ts', code: importing('../contracts/tours') },
  { filePath: 'workflows/probe.ts', code: "import type { Activities } from '../activities';\nexport type A = Activities;\n" },
  { filePath: 'workflows/probe.ts', code: "import { type Activities } from '../activities';\nexport type A = Activities;\n" },
  { filePath: 'workflows/probe.ts', code: importing('../contracts/bookings') },
  { filePath: 'workflows/probe.ts', code: importing('@temporalio/workflow') },
  { filePath: 'api/bookings/probe.ts', code: importing('../../workflows/booking.workflow') },
  { filePath: 'api/bookings/probe.ts', code: importing('../../db/repositories/bookings.repository') },
  { filePath: 'api/bookings/probe.ts', code: importing('../../adapters') },
  { filePath: 'api/bookings/probe.ts', code: importing('../tours/service') },
  { filePath: 'workers/probe.ts', code: importing('../activities') },
  { filePath: 'workers/probe.ts', code: importing('../workflows/search-attributes') },
  { filePath: 'scripts/probe.ts', code: importing('../api/app') },
  { filePath: 'bench/probe.ts', code: importing('../api/properties/schemas') },
  { filePath: 'bench/probe.ts', code: "export const load = () => require('../api/main');\n" },
  { filePath: 'test/api/probe.test.ts', code: importing('../../activities/bookings.activities') },
  { filePath: 'test/support/probe.ts', code: importing('../../workflows/booking.workflow') },
];

function lint(probes: Probe[]): Linted[] {
  const run = spawnSync(process.execPath, [path.join(__dirname, 'lint-sources.mjs')], {
    cwd: PROJECT_ROOT,
    input: JSON.stringify(probes),
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`eslint probe run failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as Linted[];
}

const directionMessages = (result: Linted | undefined) =>
  (result?.messages ?? []).filter((m) => m.ruleId !== null && DIRECTION_RULES.has(m.ruleId)).map((m) => m.message);

describe('import directions (eslint.config.mjs)', () => {
  let forbiddenResults: Linted[];
  let allowedResults: Linted[];

  beforeAll(() => {
    const results = lint([...forbidden, ...allowed]);
    forbiddenResults = results.slice(0, forbidden.length);
    allowedResults = results.slice(forbidden.length);
  });

  it.each(forbidden.map((probe, i) => [probe.filePath, probe.code.split('\n')[0], i] as const))(
    'when %s has `%s`, then the lint rule reports it',
    (_file, _line, i) => {
      const messages = directionMessages(forbiddenResults[i]);
      expect(messages).toEqual(expect.arrayContaining([expect.stringContaining(forbidden[i]!.says)]));
    },
  );

  it.each(allowed.map((probe, i) => [probe.filePath, probe.code.split('\n')[0], i] as const))(
    'when %s has `%s`, then the lint rule lets it pass',
    (_file, _line, i) => {
      expect(directionMessages(allowedResults[i])).toEqual([]);
    },
  );

  it('when a probe is linted, then it was linted under the project config (not ignored)', () => {
    // lintText on an ignored path returns a warning instead of running the rules: make
    // sure every probe really went through them.
    for (const result of [...forbiddenResults, ...allowedResults]) {
      expect(result.messages.filter((m) => /ignored/i.test(m.message))).toEqual([]);
    }
  });
});
