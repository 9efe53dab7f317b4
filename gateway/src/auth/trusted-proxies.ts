/**
 * Which peers may tell the gateway who the client is (`GATEWAY_TRUSTED_PROXIES`; how Fastify walks
 * `X-Forwarded-For` with it: gateway/README.md "Behind a load balancer").
 */
import { isIP } from 'node:net';

/** proxy-addr's named ranges (Fastify compiles the list with it). */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** One entry: an IPv4/IPv6 address, an address/prefix CIDR, or a named range. Null when valid, else why not. */
function entryProblem(entry: string): string | null {
  if (NAMED_RANGES.has(entry)) return null;
  const [address = '', prefix, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return `"${entry}" is not an IP address or CIDR range`;
  if (prefix === undefined) return null;
  const bits = /^[0-9]{1,3}$/.test(prefix) ? Number(prefix) : NaN;
  const max = family === 4 ? 32 : 128;
  if (!(bits >= 0 && bits <= max)) return `"${entry}" has a prefix length outside 0-${max}`;
  if (bits === 0) return `"${entry}" would trust every address`;
  return null;
}

/** The comma-separated list; empty → [] (trust no one). Throws an Error naming the first bad entry. */
export function parseTrustedProxies(value: string | undefined): string[] {
  const entries = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const entry of entries) {
    const problem = entryProblem(entry);
    if (problem !== null) throw new Error(`${problem} (give the load balancer's addresses, e.g. 10.0.0.5,10.0.1.0/24)`);
  }
  return entries;
}

/** Fastify's `trustProxy` option for a parsed list: false when empty (headers ignored). */
export function fastifyTrustProxy(trusted: readonly string[]): false | string[] {
  return trusted.length === 0 ? false : [...trusted];
}
