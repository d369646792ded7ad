import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type Koa from 'koa';

export async function listen(app: Koa, host: string, port: number): Promise<{ server: Server; close(): Promise<void> }> {
  const server = app.listen(port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', (err) => reject(new Error(`API could not listen on ${host}:${port}: ${err.message}`)));
  });
  // Responses not yet sent: when the server closes, each ends its keep-alive connection.
  const open = new Set<ServerResponse>();
  let closing = false;
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (closing) res.setHeader('Connection', 'close');
    open.add(res);
    res.once('close', () => open.delete(res));
  });
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        // A client on a keep-alive connection learns from its current answer that the
        // connection ends, instead of sending its next request into a closed server.
        for (const res of open) if (!res.headersSent) res.setHeader('Connection', 'close');
        server.close(() => resolve());
        // Idle keep-alive sockets would hold close() open.
        server.closeIdleConnections();
      }),
  };
}
