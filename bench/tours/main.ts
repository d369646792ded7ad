/**
 * npm run bench:tours [-- --tours 500 --concurrency 25 --out docs/benchmarks.md]
 *        [--api-url http://host:3000 --temporal-address host:7233 --database-url postgres://… --namespace default]
 *        [--set KEY=VALUE …] [--section tours] [--note "text for the report"] [--json result.json] [--keep]
 *        [--cpu-prof DIR]
 *
 * The tour-scale load (bench/tours/scenario.ts) against its own `npm start` in a temp
 * folder on free ports, or, with --api-url (or API_URL), against a running deployment (then
 * --temporal-address and --database-url, or TEMPORAL_ADDRESS and DATABASE_URL, say where its
 * Temporal and PostgreSQL are, for the histories and the email ledger; bench/tours/target.ts).
 * TEMPORAL_ADDRESS alone runs its own `npm start` against that Temporal. Writes the `tours`
 * section of docs/benchmarks.md (--section names another, e.g. to keep a "before" beside an "after"; --out '' writes
 * none) and prints it. Exits 1 when the run was not correct: any request
 * error, a missing or duplicated email, a workflow that did not complete. --set (repeatable)
 * adds a setting to the embedded stack's environment, to measure a change of configuration
 * against the same load (e.g. --set TEMPORAL_RPC_TIMEOUT_MS=30000). --cpu-prof writes V8 CPU
 * profiles of the embedded stack's node processes into DIR when they exit (open them in
 * Chrome DevTools or speedscope), to see where the time goes.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../../lib/config';
import { setSection } from '../doc-sections';
import { renderToursSection } from './report';
import { runTourBench } from './scenario';
import { startEmbeddedStack, type Stack } from './stack';
import { resolveTarget } from './target';

const say = (line: string) => process.stderr.write(`[bench:tours] ${line}\n`);

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive whole number, not ${JSON.stringify(value)}`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      tours: { type: 'string', default: '500' },
      concurrency: { type: 'string', default: '25' },
      out: { type: 'string', default: path.join('docs', 'benchmarks.md') },
      json: { type: 'string' },
      note: { type: 'string' },
      'api-url': { type: 'string' },
      'temporal-address': { type: 'string' },
      'database-url': { type: 'string' },
      namespace: { type: 'string' },
      keep: { type: 'boolean', default: false },
      set: { type: 'string', multiple: true, default: [] },
      section: { type: 'string', default: 'tours' },
      'cpu-prof': { type: 'string' },
    },
    strict: true,
  });
  const tours = positive('tours', values.tours);
  const concurrency = positive('concurrency', values.concurrency);
  const extra: Record<string, string> = {};
  for (const kv of values.set) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(kv);
    if (!m) throw new Error(`--set takes KEY=VALUE, not ${JSON.stringify(kv)}`);
    extra[m[1]!] = m[2]!;
  }
  const target = resolveTarget(values, process.env, extra);
  let stack: Stack;
  if (target.kind === 'external') {
    stack = {
      apiUrl: target.apiUrl,
      temporalAddress: target.temporalAddress,
      namespace: target.namespace,
      databaseUrl: target.databaseUrl,
      settings: { API_URL: target.apiUrl, TEMPORAL_ADDRESS: target.temporalAddress },
      stop: async () => undefined,
    };
  } else {
    const profDir = values['cpu-prof'] ? path.resolve(values['cpu-prof']) : undefined;
    if (target.extra.TEMPORAL_ADDRESS) say(`its own npm start, against the Temporal at ${target.extra.TEMPORAL_ADDRESS}`);
    stack = await startEmbeddedStack({ keep: values.keep, say, extra: target.extra, nodeArgs: profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [] });
  }
  try {
    say(`${tours} tours, ${concurrency} clients against ${stack.apiUrl}`);
    const result = await runTourBench(stack, { tours, concurrency, say });
    const sets = values.set.map((kv) => ` --set ${kv}`).join('');
    const command = `npm run bench:tours -- --tours ${tours} --concurrency ${concurrency}${sets}${target.kind === 'external' ? ' --api-url …' : ''}`;
    const section = renderToursSection(result, { command, settings: stack.settings, note: values.note });
    process.stdout.write(`${section}\n`);
    if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
    if (values.out) {
      const file = path.resolve(PROJECT_ROOT, values.out);
      const doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
      writeFileSync(file, setSection(doc, values.section, section));
      say(`wrote the ${values.section} section of ${values.out}`);
    }
    for (const p of result.problems) say(`PROBLEM: ${p}`);
    return result.problems.length ? 1 : 0;
  } finally {
    await stack.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    say(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
