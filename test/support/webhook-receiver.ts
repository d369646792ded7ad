import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTP(S) server standing in for a customer's webhook endpoint: it records every
 * request as received (raw body, headers) and answers as the test says, per request.
 */

export interface ReceivedWebhook {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** How to answer the `n`th request (0-based) this receiver got; null: never answer. */
export type Responder = (req: ReceivedWebhook, n: number) => Answer | null;

export interface WebhookReceiver {
  /** `http(s)://host:port` */
  origin: string;
  port: number;
  requests: ReceivedWebhook[];
  respond(fn: Responder): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(opts: { host?: string; tls?: { key: string | Buffer; cert: string | Buffer }; respond?: Responder } = {}): Promise<WebhookReceiver> {
  const host = opts.host ?? '127.0.0.1';
  const requests: ReceivedWebhook[] = [];
  let responder: Responder = opts.respond ?? (() => ({ status: 200, body: 'ok' }));
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const received: ReceivedWebhook = { method: req.method ?? '', path: req.url ?? '', headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(received);
      const answer = responder(received, requests.length - 1);
      if (!answer) return;
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body ?? '');
    });
  };
  const server = opts.tls ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `${opts.tls ? 'https' : 'http'}://${host}:${port}`,
    port,
    requests,
    respond(fn) {
      responder = fn;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
