import { spawn, type ChildProcess } from 'node:child_process';
import { PROJECT_ROOT } from '../../../lib/config';
import { eventually } from '../../support/wait';

/** `npm run start:api` (api/main.ts) as its own process, answering on `url`. */
export interface ApiProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export async function startApiProcess(env: Record<string, string>, port: number): Promise<ApiProcess> {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'api/main.ts'], {
    cwd: PROJECT_ROOT,
    // Several instances run at once: no fixed metrics ports (a test that wants them sets them).
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', LOG_LEVEL: 'warn', HOST: '127.0.0.1', METRICS_PORT: '0', TEMPORAL_SDK_METRICS_PORT: '0', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const api: ApiProcess = {
    url,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
  try {
    await eventually(`the API on ${url}`, async () => {
      if (child.exitCode !== null) throw new Error(`API exited early (${child.exitCode}):\n${output}`);
      return fetch(`${url}/health`).then((r) => r.ok, () => false);
    }, 90_000);
  } catch (err) {
    await api.stop();
    throw err;
  }
  return api;
}
