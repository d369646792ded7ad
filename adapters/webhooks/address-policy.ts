import { isIP } from 'node:net';

/**
 * Which addresses a webhook may be sent to. A URL's host is resolved by the sender itself
 * and every address it resolves to is checked here; the connection then goes to the checked
 * address (see http.ts), so a name cannot resolve one way for the check and another for the
 * connection. Everything that is not a routable, public unicast address is refused:
 * loopback, private (RFC 1918), carrier-grade NAT, link-local (cloud metadata services live
 * there), unique-local, multicast, broadcast, unspecified, and the reserved and
 * documentation ranges; IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64,
 * 6to4) are judged by the IPv4 address they carry.
 */

interface Range {
  bytes: number[];
  bits: number;
  reason: string;
}

function range(cidr: string, reason: string): Range {
  const [address, bits] = cidr.split('/') as [string, string];
  return { bytes: [...parseAddress(address)!], bits: Number(bits), reason };
}

const V4_RANGES: Range[] = [
  range('0.0.0.0/8', 'unspecified ("this network")'),
  range('10.0.0.0/8', 'private'),
  range('100.64.0.0/10', 'carrier-grade NAT (shared)'),
  range('127.0.0.0/8', 'loopback'),
  range('169.254.0.0/16', 'link-local'),
  range('172.16.0.0/12', 'private'),
  range('192.0.0.0/24', 'reserved (IETF protocol assignments)'),
  range('192.0.2.0/24', 'documentation'),
  range('192.88.99.0/24', 'reserved (6to4 relay anycast)'),
  range('192.168.0.0/16', 'private'),
  range('198.18.0.0/15', 'reserved (benchmarking)'),
  range('198.51.100.0/24', 'documentation'),
  range('203.0.113.0/24', 'documentation'),
  range('224.0.0.0/4', 'multicast'),
  range('255.255.255.255/32', 'broadcast'),
  range('240.0.0.0/4', 'reserved'),
];

const V6_RANGES: Range[] = [
  range('::/128', 'unspecified'),
  range('::1/128', 'loopback'),
  range('100::/64', 'reserved (discard)'),
  range('2001:db8::/32', 'documentation'),
  range('2001::/23', 'reserved (IETF protocol assignments)'),
  range('fc00::/7', 'unique-local'),
  range('fe80::/10', 'link-local'),
  range('fec0::/10', 'site-local (deprecated)'),
  range('ff00::/8', 'multicast'),
];

/** IPv6 prefixes whose addresses carry an IPv4 address, and where it sits. */
const V4_CARRIERS: Array<{ prefix: Range; offset: number; form: string }> = [
  { prefix: range('::ffff:0:0/96', ''), offset: 12, form: 'IPv4-mapped' },
  { prefix: range('64:ff9b::/96', ''), offset: 12, form: 'NAT64' },
  { prefix: range('64:ff9b:1::/48', ''), offset: 12, form: 'NAT64 (local)' },
  { prefix: range('2002::/16', ''), offset: 2, form: '6to4' },
  // IPv4-compatible (deprecated): ::a.b.c.d, the unspecified and loopback addresses aside.
  { prefix: range('::/96', ''), offset: 12, form: 'IPv4-compatible' },
];

function inRange(bytes: Uint8Array, r: Range): boolean {
  if (bytes.length !== r.bytes.length) return false;
  let bits = r.bits;
  for (let i = 0; bits > 0; i += 1, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((bytes[i]! & mask) !== (r.bytes[i]! & mask)) return false;
  }
  return true;
}

function parseV4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return Uint8Array.from(parts.map(Number));
}

function parseV6(text: string): Uint8Array | undefined {
  let s = text.replace(/^\[|\]$/g, '');
  // A zone (fe80::1%eth0) names an interface, not a different address.
  s = s.replace(/%.*$/, '');
  let tail: Uint8Array | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    tail = parseV4(s.slice(lastColon + 1));
    if (!tail) return undefined;
    s = `${s.slice(0, lastColon + 1)}${((tail[0]! << 8) | tail[1]!).toString(16)}:${((tail[2]! << 8) | tail[3]!).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? head.length !== 8 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  if (all.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    const v = Number.parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/** The address's bytes (4 or 16), or undefined when it is not an IP address. */
export function parseAddress(text: string): Uint8Array | undefined {
  const bare = text.replace(/^\[|\]$/g, '');
  if (isIP(bare) === 4) return parseV4(bare);
  if (isIP(bare.replace(/%.*$/, '')) === 6) return parseV6(bare);
  return undefined;
}

const formatV4 = (b: Uint8Array) => [...b].join('.');

function judge(bytes: Uint8Array): string | null {
  if (bytes.length === 4) return V4_RANGES.find((r) => inRange(bytes, r))?.reason ?? null;
  const own = V6_RANGES.find((r) => inRange(bytes, r));
  if (own) return own.reason;
  for (const carrier of V4_CARRIERS) {
    if (!inRange(bytes, carrier.prefix)) continue;
    const v4 = bytes.slice(carrier.offset, carrier.offset + 4);
    const reason = judge(v4);
    return reason ? `${carrier.form} ${formatV4(v4)}: ${reason}` : null;
  }
  return null;
}

/**
 * Why a webhook must not go to `address` ("loopback", "IPv4-mapped 10.0.0.1: private"), or
 * null when it is a public unicast address. Text that is not an IP address is refused too.
 */
export function forbiddenAddressReason(address: string): string | null {
  const bytes = parseAddress(address);
  if (!bytes) return 'not an IP address';
  return judge(bytes);
}

/**
 * Why a URL's host is refused before any lookup: an IP literal in a forbidden range, or a
 * name that always means this machine. Other names are checked once resolved, when sending.
 */
export function forbiddenHostReason(hostname: string): string | null {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '');
  if (parseAddress(host)) return forbiddenAddressReason(host);
  if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback (localhost)';
  return null;
}
