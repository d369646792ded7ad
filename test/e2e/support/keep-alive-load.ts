import http from 'node:http';

/** What one request came to: an answer's status, or the socket error that took its place. */
export interface Outcome {
  client: number;
  path: string;
  /** When it was sent (wall clock, ms). */
  sentAt: number;
  status?: number;
  /** The error's code (ECONNREFUSED, ECONNRESET, ...) when there was no answer. */
  error?: string;
}

export interface LoadRequest {
  path: string;
  headers?: Record<string, string>;
}

/**
 * Light load: `clients` clients, each on one keep-alive connection of its own, sending the
 * `requests` one after the other in a loop until stopped, as a browser tab or a mobile app
 * does. Every outcome is kept, for the test to judge.
 */
export function keepAliveLoad(opts: { url: string; clients: number; requests: LoadRequest[]; timeoutMs?: number }): { outcomes: Outcome[]; stop(): Promise<void> } {
  const outcomes: Outcome[] = [];
  let stopping = false;
  const base = new URL(opts.url);

  const send = (agent: http.Agent, client: number, r: LoadRequest) =>
    new Promise<Outcome>((resolve) => {
      const sentAt = Date.now();
      const req = http.get({ host: base.hostname, port: base.port, path: r.path, headers: r.headers, agent, timeout: opts.timeoutMs ?? 30_000 }, (res) => {
        res.resume();
        res.once('end', () => resolve({ client, path: r.path, sentAt, status: res.statusCode }));
        res.once('error', (err: NodeJS.ErrnoException) => resolve({ client, path: r.path, sentAt, error: err.code ?? err.message }));
      });
      req.once('timeout', () => req.destroy(Object.assign(new Error('no answer in time'), { code: 'ETIMEDOUT' })));
      req.once('error', (err: NodeJS.ErrnoException) => resolve({ client, path: r.path, sentAt, error: err.code ?? err.message }));
    });

  const loops = Array.from({ length: opts.clients }, async (_, client) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      while (!stopping) {
        for (const r of opts.requests) {
          const outcome = await send(agent, client, r);
          outcomes.push(outcome);
          // Nobody listens any more: try again a little later, as a client would.
          if (outcome.error === 'ECONNREFUSED') await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    } finally {
      agent.destroy();
    }
  });

  return {
    outcomes,
    async stop() {
      stopping = true;
      await Promise.all(loops);
    },
  };
}
