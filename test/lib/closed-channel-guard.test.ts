import { closedChannelGuard } from '../../lib/closed-channel-guard';
import { createTemporalClient } from '../../lib/temporal';
import { runScript } from '../support/scripts';
import { createTimeSkippingEnv } from '../support/temporal';

/**
 * The Temporal client's retry timer outliving its connection (lib/closed-channel-guard.ts):
 * with the SDK's interceptors alone the timer throws "Channel has been shut down" and the
 * process dies of it; with the guard after them the retry ends as a cancelled call.
 */
describe('closed channel guard', () => {
  it('when the connection closes while a retry is due, then the SDK interceptors alone crash the process, and with the guard it survives', async () => {
    const [sdk, guarded] = await Promise.all([
      runScript('test/lib/closed-channel-retry.ts', ['sdk'], {}, 60_000),
      runScript('test/lib/closed-channel-retry.ts', ['guarded'], {}, 60_000),
    ]);
    // The scenario is real: without the guard, the retry timer's exception is uncaught.
    expect({ code: sdk.code, stdout: sdk.stdout }).toEqual({ code: 1, stdout: '' });
    expect(sdk.stderr).toContain('Channel has been shut down');
    expect({ code: guarded.code, stdout: guarded.stdout, stderr: guarded.stderr }).toEqual({ code: 0, stdout: 'survived\n', stderr: expect.stringMatching(/^call: /) });
  }, 90_000);

  it('when the app and the test environment make their Temporal connections, then the guard comes after the retries on both', async () => {
    const app = createTemporalClient('127.0.0.1:1', { namespace: 'default' });
    const env = await createTimeSkippingEnv();
    try {
      for (const interceptors of [app.connection.options.interceptors, env.connection.options.interceptors]) {
        expect(interceptors?.length).toBe(2);
        expect(interceptors?.at(-1)).toBe(closedChannelGuard);
      }
    } finally {
      await app.connection.close();
      await env.teardown();
    }
  }, 60_000);
});
