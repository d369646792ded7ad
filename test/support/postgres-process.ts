import { spawn } from 'node:child_process';
import { PROJECT_ROOT } from '../../lib/config';

/**
 * The embedded PostgreSQL run by a child process, so a test can stop it and start it
 * again under a running app. (Jest cannot load the binaries' ESM package in a test file;
 * the global setup does it outside the module sandbox.)
 */
export interface PostgresProcess {
  url: string;
  stop(): Promise<void>;
}

const RUNNER = `
const { startEmbeddedPostgres } = require('./db/embedded');
const { createLogger } = require('./lib/logger');
const [dir, port, database] = process.argv.slice(1);
startEmbeddedPostgres({ dir, port: Number(port), database, logger: createLogger({ logLevel: 'warn', env: 'test' }, 'pg') }).then(
  (pg) => {
    process.stdout.write('READY ' + pg.url + '\\n');
    process.once('SIGTERM', () => void pg.stop().then(() => process.exit(0)));
  },
  (err) => { process.stderr.write(String(err && err.message) + '\\n'); process.exit(1); },
);
`;

export function startPostgresProcess(dir: string, port: number, database: string): Promise<PostgresProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', RUNNER, dir, String(port), database], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      const ready = /READY (\S+)/.exec(output);
      if (ready) {
        resolve({
          url: ready[1]!,
          stop: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            await exited;
          },
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`embedded PostgreSQL did not start (exit ${code}):\n${output}`)));
  });
}
