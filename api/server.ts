import type { Server } from 'node:http';
import type Koa from 'koa';

export async function listen(app: Koa, host: string, port: number): Promise<{ server: Server; close(): Promise<void> }> {
  const server = app.listen(port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', (err) => reject(new Error(`API could not listen on ${host}:${port}: ${err.message}`)));
  });
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive sockets would hold close() open.
        server.closeIdleConnections();
      }),
  };
}
