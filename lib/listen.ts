import type http from 'node:http';

/** Starts `server` on host:port (0: any free port) and gives the port it got and a close. */
export function listen(server: http.Server, host: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : port,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}
