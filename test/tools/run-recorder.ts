import path from 'node:path';

/** The command line of a history recorder: runs it, lists the files written, exits 0, or prints why it failed and exits 1. */
export function runRecorder(name: string, record: () => Promise<string[]>): void {
  record().then(
    (files) => {
      process.stdout.write(`${files.map((f) => `recorded ${path.relative(process.cwd(), f)}`).join('\n')}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
