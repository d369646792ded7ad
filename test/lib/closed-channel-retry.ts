/**
 * For closed-channel-guard.test.ts, a process of its own (an uncaught exception must be
 * able to end it): a Temporal client call to an address nobody listens on fails
 * UNAVAILABLE, the client schedules its retry, and the connection is closed before the
 * retry is due. Prints "survived" when the process is still alive after the retry time.
 * The argument chooses the interceptors: `guarded` (the app's) or `sdk` (the SDK's default).
 */
import { createServer } from 'node:net';
import { Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import { guardedInterceptors } from '../../lib/closed-channel-guard';

async function nobodyListening(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function main(mode: string): Promise<void> {
  const interceptors = mode === 'guarded' ? guardedInterceptors() : [makeGrpcRetryInterceptor(defaultGrpcRetryOptions())];
  const connection = Connection.lazy({ address: `127.0.0.1:${await nobodyListening()}`, interceptors });
  // Its outcome does not matter here (the call fails one way or another); what matters is what the retry timer does.
  const call = connection.workflowService.getSystemInfo({}).then(
    () => 'answered',
    (err: Error) => err.message,
  );
  // The refused connection fails the first attempt within milliseconds; the retry is due ~170 ms later.
  await new Promise((r) => setTimeout(r, 50));
  await connection.close();
  process.stderr.write(`call: ${await Promise.race([call, new Promise((r) => setTimeout(() => r('still pending'), 1500))])}\n`);
  await new Promise((r) => setTimeout(r, 1000));
  process.stdout.write('survived\n');
}

main(process.argv[2] ?? 'guarded').then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  },
);
