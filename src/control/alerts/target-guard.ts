/**
 * Where a tenant's Slack or webhook URL may send the control plane (SSRF). By default a
 * notification never goes to an address inside the operator's network: loopback
 * (127/8, ::1), private (10/8, 172.16/12, 192.168/16, 100.64/10), link-local (169.254/16 —
 * the cloud metadata endpoint —, fe80::/10), unique-local (fc00::/7, fec0::/10),
 * multicast, unspecified (0/8, ::), reserved (240/4, broadcast, 192.0.0/24, 198.18/15,
 * 100::/64), and the IPv6 forms that carry such an IPv4 address (IPv4-mapped ::ffff:a.b.c.d,
 * IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16).
 *
 * - At creation (routes/v2/alerts.ts): a URL whose host is a literal address is checked
 *   (the WHATWG URL parser has already turned 2130706433, 0x7f.1, 0177.0.0.1 and
 *   [::ffff:127.0.0.1] into their canonical forms).
 * - At send time (senders.ts): the host is resolved once, every address it resolves to is
 *   checked, and the connection goes to the checked address (`pinnedLookup`): no second
 *   lookup, so DNS rebinding between the check and the connect finds nothing to rebind.
 *   Redirects are never followed.
 *
 * `--alert-allow-private-targets` (start, control) turns the check off, for an operator
 * whose receivers live inside the network (and for the tests' loopback receivers).
 */
import dns from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';

export const ALLOW_FLAG = '--alert-allow-private-targets';

type V4 = readonly [number, number, number, number];

const V4_RANGES: readonly (readonly [V4, number, string])[] = [
  [[0, 0, 0, 0], 8, 'unspecified'],
  [[10, 0, 0, 0], 8, 'private'],
  [[100, 64, 0, 0], 10, 'private (shared, carrier-grade NAT)'],
  [[127, 0, 0, 0], 8, 'loopback'],
  [[169, 254, 0, 0], 16, 'link-local'],
  [[172, 16, 0, 0], 12, 'private'],
  [[192, 0, 0, 0], 24, 'reserved'],
  [[192, 168, 0, 0], 16, 'private'],
  [[198, 18, 0, 0], 15, 'reserved (benchmarking)'],
  [[224, 0, 0, 0], 4, 'multicast'],
  [[240, 0, 0, 0], 4, 'reserved'],
];

function v4Number(b: V4): number {
  return ((b[0] << 24) >>> 0) + (b[1] << 16) + (b[2] << 8) + b[3];
}

function classifyV4(b: V4): string | undefined {
  const n = v4Number(b);
  for (const [base, bits, kind] of V4_RANGES) {
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    if (((n & mask) >>> 0) === ((v4Number(base) & mask) >>> 0)) return kind;
  }
  return undefined;
}

function parseV4(text: string): V4 | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.map(Number) as unknown as V4;
}

/** The 16 bytes of an IPv6 address (a trailing dotted IPv4 allowed), or undefined. */
function parseV6(text: string): number[] | undefined {
  let s = text;
  let v4: V4 | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    v4 = parseV4(s.slice(lastColon + 1));
    if (!v4) return undefined;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const group = (h: string) => (h === '' ? [] : h.split(':'));
  const head = group(halves[0]!);
  const rest = halves.length === 2 ? group(halves[1]!) : [];
  const parse = (ws: string[]) => ws.map((w) => (/^[0-9a-f]{1,4}$/i.test(w) ? parseInt(w, 16) : NaN));
  const words = [...parse(head), ...(halves.length === 2 ? new Array<number>(Math.max(0, 8 - head.length - rest.length)).fill(0) : []), ...parse(rest)];
  if (words.length !== 8 || words.some(Number.isNaN)) return undefined;
  const bytes = words.flatMap((w) => [w >> 8, w & 0xff]);
  if (v4) bytes.splice(12, 4, ...v4);
  return bytes;
}

/**
 * Why `address` (an IP literal, IPv6 without brackets) may not be a notification target —
 * "loopback", "IPv4-mapped loopback", … — or undefined for a public address. Text that is
 * not an address is refused too ("not an IP address").
 */
export function blockedAddressKind(address: string): string | undefined {
  const family = isIP(address);
  if (family === 4) return classifyV4(parseV4(address)!);
  if (family !== 6) return 'not an IP address';
  const b = parseV6(address);
  if (!b) return 'not an IP address';
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const v4At = (i: number): V4 => [b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!];
  const embedded = (label: string, v4: V4) => {
    const kind = classifyV4(v4);
    return kind && `${label} ${kind}`;
  };
  if (zero(0, 16)) return 'unspecified';
  if (zero(0, 15) && b[15] === 1) return 'loopback';
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return embedded('IPv4-mapped', v4At(12));
  if (zero(0, 12)) return embedded('IPv4-compatible', v4At(12)) ?? 'reserved (IPv4-compatible)';
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b) {
    if (zero(4, 12)) return embedded('NAT64', v4At(12));
    if (b[4] === 0 && b[5] === 1) return 'private (local NAT64)';
  }
  if (b[0] === 0x20 && b[1] === 0x02) return embedded('6to4', v4At(2));
  if (b[0] === 0x01 && b[1] === 0x00 && zero(2, 8)) return 'reserved (discard)';
  if ((b[0]! & 0xfe) === 0xfc) return 'unique-local';
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return 'link-local';
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0) return 'unique-local (site-local)';
  if (b[0] === 0xff) return 'multicast';
  return undefined;
}

/** The sentence a refusal carries (a 400's message, a failed delivery's detail). */
export function refusalText(address: string, kind: string, host?: string): string {
  const what = host && host !== address ? `${host} resolves to ${address}` : address;
  return `refused: ${what} is not a public address (${kind}); notifications go only to public addresses unless the operator starts cachier with ${ALLOW_FLAG}`;
}

/** The URL's host without IPv6 brackets. */
export function urlHost(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * At creation: the refusal for a URL whose host is a literal blocked address, else
 * undefined (a name is checked when it is resolved, at send time).
 */
export function literalTargetRefusal(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const host = urlHost(u);
  if (!isIP(host)) return undefined;
  const kind = blockedAddressKind(host);
  return kind && refusalText(host, kind);
}

export class TargetRefused extends Error {}

export type Resolver = (host: string) => Promise<readonly { address: string; family: number }[]>;

export const systemResolver: Resolver = (host) => dns.promises.lookup(host, { all: true, verbatim: true });

/**
 * Resolves the URL's host once and checks every address; throws TargetRefused when any is
 * blocked. Answers the address to connect to.
 */
export async function checkedTarget(url: URL, resolve: Resolver = systemResolver): Promise<{ address: string; family: 4 | 6 }> {
  const host = urlHost(url);
  const family = isIP(host);
  if (family) {
    const kind = blockedAddressKind(host);
    if (kind) throw new TargetRefused(refusalText(host, kind));
    return { address: host, family: family as 4 | 6 };
  }
  let found: readonly { address: string; family: number }[];
  try {
    found = await resolve(host);
  } catch (e) {
    throw new Error(`could not resolve ${host}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (found.length === 0) throw new Error(`could not resolve ${host}: no address`);
  for (const a of found) {
    const kind = blockedAddressKind(a.address);
    if (kind) throw new TargetRefused(refusalText(a.address, kind, host));
  }
  return { address: found[0]!.address, family: found[0]!.family === 6 ? 6 : 4 };
}

/** A `lookup` for http.request that answers the checked address and never asks DNS again. */
export function pinnedLookup(target: { address: string; family: 4 | 6 }): LookupFunction {
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  }) as unknown as LookupFunction;
}
