import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { getConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { devServerEnv, startTemporalDevServer, type RunningDevServer } from '../../lib/temporal-dev-server';
import { searchAttributesForCli } from '../../workflows/search-attributes';
import { freePort } from '../support/ports';

/**
 * The app's OpenTelemetry settings are the app's: the embedded Temporal dev server reads the
 * same standard variables, and `OTEL_TRACES_EXPORTER=console npm start` (README) made it
 * refuse to start.
 */
describe('the Temporal dev server and the OTEL_* settings', () => {
  it('when the environment has OTEL_* variables, then the dev server gets none of them and keeps the rest', () => {
    expect(devServerEnv({ PATH: '/bin', HOME: '/root', OTEL_TRACES_EXPORTER: 'console', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4318', OTELX: 'kept' })).toEqual({
      PATH: '/bin',
      HOME: '/root',
      OTELX: 'kept',
    });
  });

  describe('when npm start runs with OTEL_TRACES_EXPORTER=console and an OTLP endpoint', () => {
    let dir: string;
    let server: RunningDevServer | undefined;

    beforeAll(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'rfy-devserver-otel-'));
    });

    afterAll(async () => {
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('then the dev server starts and answers', async () => {
      server = await startTemporalDevServer({
        cliPath: getConfig().temporal.cliPath,
        dbFile: path.join(dir, 'temporal.db'),
        port: await freePort(),
        uiPort: await freePort(),
        namespace: 'default',
        searchAttributes: searchAttributesForCli(),
        logger: createLogger({ logLevel: 'warn', env: 'test' }, 'devserver-otel-test'),
        env: { ...process.env, OTEL_TRACES_EXPORTER: 'console', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' },
      });
      const connection = await Connection.connect({ address: server.address });
      try {
        const health = await connection.healthService.check({});
        expect(health.status).toBe(1); // SERVING
      } finally {
        await connection.close();
      }
    }, 120_000);
  });
});
