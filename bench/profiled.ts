/**
 * Starts a bench server with a CPU profiler the bench switches on and off over IPC, so the
 * profile covers the load and not start-up:
 *   node --import tsx bench/profiled.ts app                 (api/main.ts, unchanged)
 *   node --import tsx bench/profiled.ts baseline --url …    (bench/baseline.ts)
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { main as baseline } from './baseline';

type Command = { cmd: 'start' } | { cmd: 'stop'; file: string };

const session = new Session();
session.connect();

process.on('message', (message: Command) => {
  void (async () => {
    if (message.cmd === 'start') {
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 500 });
      await session.post('Profiler.start');
    } else {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(message.file, JSON.stringify(profile));
    }
    process.send?.({ done: message.cmd });
  })();
});

const [which, ...args] = process.argv.slice(2);
if (which === 'app') {
  // The entry point starts itself when loaded.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('../api/main');
} else if (which === 'baseline') {
  void baseline(args);
} else {
  process.stderr.write('usage: profiled.ts app | baseline <baseline options>\n');
  process.exit(2);
}
