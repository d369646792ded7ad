import { readFileSync } from 'node:fs';
import net from 'node:net';
import { freePort } from '../../lib/ports';

/**
 * Free ports for the embedded stack (tests, benchmarks, the worker's health server) come from
 * below the kernel's ephemeral range, so no outgoing connection can take one before its
 * server binds it.
 */
describe('freePort', () => {
  const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number) as [number];

  it('when asked for ports, then each is below the ephemeral range and can be listened on', async () => {
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(low);
      await new Promise<void>((resolve, reject) => {
        const srv = net.createServer().once('error', reject);
        srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
      });
    }
  });

  it('when asked for many ports in one process, then it never hands out the same port twice', async () => {
    // 2,000 picks from the ~22,000 below the ephemeral range: drawn at random with repeats
    // allowed, some two would almost surely be equal (the birthday bound: 1 - e^-88).
    const ports: number[] = [];
    for (let i = 0; i < 2000; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(ports.length);
  });
});
