import { readFileSync } from 'node:fs';
import net from 'node:net';

/**
 * The lowest of the ports the kernel hands out as the local end of outgoing connections
 * (Linux; the usual default elsewhere). A listening port picked from among them can be
 * taken by any process's next outgoing connection before its server binds it, e.g. by the
 * Temporal dev server's own internal connections while it starts, moments before its UI binds.
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low)) return low;
  } catch {
    // not Linux
  }
  return 32768;
}

const LOWEST = 10_000;

function listenOnce(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const { port: bound } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(bound));
    });
  });
}

/**
 * A TCP port that was free a moment ago, on the loopback interface: one below the
 * ephemeral range when there is room (no outgoing connection takes it in between), else
 * whatever the kernel gives.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  if (low - LOWEST >= 1000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const bound = await listenOnce(LOWEST + Math.floor(Math.random() * (low - LOWEST)));
      if (bound !== undefined) return bound;
    }
  }
  const bound = await listenOnce(0);
  if (bound === undefined) throw new Error('no free TCP port on 127.0.0.1');
  return bound;
}
