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

/**
 * The ports this process has handed out. Each pick is free when it is made, but nothing holds
 * it until its server binds: without this, a stack asking for four ports at once (API,
 * PostgreSQL, Temporal, its UI) could be given the same one twice, and its second server fail
 * with "address already in use".
 */
const handedOut = new Set<number>();

function handOut(port: number): number {
  handedOut.add(port);
  return port;
}

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
 * A TCP port that was free a moment ago, on the loopback interface, and not handed out
 * before by this process: one below the ephemeral range when there is room (no outgoing
 * connection takes it in between), else whatever the kernel gives.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  if (low - LOWEST >= 1000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const candidate = LOWEST + Math.floor(Math.random() * (low - LOWEST));
      if (handedOut.has(candidate)) continue;
      const bound = await listenOnce(candidate);
      if (bound !== undefined) return handOut(bound);
    }
  }
  for (let attempt = 0; attempt < 50; attempt++) {
    const bound = await listenOnce(0);
    if (bound === undefined) break;
    if (!handedOut.has(bound)) return handOut(bound);
  }
  throw new Error('no free TCP port on 127.0.0.1');
}
