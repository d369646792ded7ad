import type { Worker } from '@temporalio/worker';
import { startWorkerHealthServer } from '../../workers/health-server';
import { freePort } from '../support/ports';

describe('worker health endpoint', () => {
  it('when the worker is running, then 200; when it is stopping, then 503', async () => {
    let state = 'RUNNING';
    const worker = { getState: () => state } as unknown as Worker;
    const port = await freePort();
    const server = await startWorkerHealthServer(worker, '127.0.0.1', port);
    try {
      const up = await fetch(`http://127.0.0.1:${port}/health`);
      expect(up.status).toBe(200);
      expect(await up.json()).toMatchObject({ success: true, data: { attributes: { state: 'RUNNING' } } });
      state = 'STOPPING';
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(503);
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
