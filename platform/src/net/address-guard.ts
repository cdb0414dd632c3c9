/**
 * The private-address guard for every outbound request made on a user's behalf (image
 * downloads, webhooks): SSRF protection per ../shared/notes/reliability.md §4.5.
 *
 * - Only globally routable unicast addresses pass. Everything ipaddr.js classifies otherwise is
 *   refused: loopback, RFC 1918, link-local (169.254.169.254 metadata), CGNAT, multicast,
 *   broadcast, unspecified, reserved/benchmarking/documentation, IPv6 unique-local and
 *   site-local, and the IPv6 forms that embed an IPv4 address (IPv4-mapped, NAT64, 6to4,
 *   Teredo). IPv4-mapped addresses are unwrapped first so `::ffff:127.0.0.1` is judged as
 *   127.0.0.1.
 * - An allow-list of CIDRs (FETCH_ALLOW_CIDRS) re-admits ranges for local stacks and tests;
 *   production leaves it empty.
 * - The check happens at connect time, on the address actually connected to: the guarded
 *   `lookup` vets what DNS returned and hands exactly those addresses to the socket, so there
 *   is no window for DNS rebinding. Sockets skip `lookup` for IP-literal hosts (Node's net and
 *   undici both do), so callers must also run {@link assertHostAllowed} on the URL's host.
 */
import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { ImgpipeError } from '../errors';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** One allow-listed range, parsed. Build with {@link parseAllowCidrs}. */
export interface AllowedRange {
  /** The entry as configured, for logs and error messages. */
  readonly cidr: string;
  readonly network: Address;
  readonly prefix: number;
}

/** Ranges re-admitted by configuration; empty (the production default) admits nothing extra. */
export type AllowList = readonly AllowedRange[];

/** What the guard thinks of one address. */
export interface AddressVerdict {
  /** The address as judged (IPv4-mapped IPv6 unwrapped to IPv4). */
  readonly address: string;
  /** ipaddr.js range name: `unicast` for public addresses, else `loopback`, `private`, … */
  readonly range: string;
  readonly allowed: boolean;
  /** The allow-list entry that admitted a non-public address, if any. */
  readonly allowedBy?: string;
}

/** Refused because the target resolves to (or is) a non-public address. Permanent. */
export class BlockedAddressError extends ImgpipeError {
  constructor(
    readonly hostname: string,
    readonly address: string,
    readonly range: string,
  ) {
    super(
      'ERR_BLOCKED_ADDRESS',
      hostname === address
        ? `Address ${address} is not allowed (${range})`
        : `Host ${hostname} resolves to ${address}, which is not allowed (${range})`,
      { retriable: false, details: { hostname, address, range } },
    );
    this.name = 'BlockedAddressError';
  }
}

/** Bad FETCH_ALLOW_CIDRS entry (names the entry and why). */
export class AllowListError extends ImgpipeError {
  constructor(readonly problems: readonly string[]) {
    super('ERR_ALLOW_LIST', `Invalid CIDR allow-list: ${problems.join('; ')}`, {
      details: { problems },
    });
    this.name = 'AllowListError';
  }
}

/**
 * Parses `"127.0.0.0/8, ::1/128, 10.1.2.3"` (comma or whitespace separated; a bare address
 * means that one address). Throws {@link AllowListError} naming every bad entry.
 */
export function parseAllowCidrs(input: string | readonly string[] | undefined): AllowList {
  const entries = (typeof input === 'string' ? input.split(/[\s,]+/) : (input ?? []))
    .map((e) => e.trim())
    .filter(Boolean);
  const problems: string[] = [];
  const ranges: AllowedRange[] = [];
  for (const cidr of entries) {
    const range = parseEntry(cidr);
    if (typeof range === 'string') problems.push(range);
    else ranges.push(range);
  }
  if (problems.length > 0) throw new AllowListError(problems);
  return Object.freeze(ranges);
}

function parseEntry(cidr: string): AllowedRange | string {
  if (cidr.includes('/')) {
    if (!ipaddr.isValidCIDR(cidr)) return `"${cidr}" is not a CIDR (expected e.g. 127.0.0.0/8)`;
    const [network, prefix] = ipaddr.parseCIDR(cidr);
    return { cidr, ...normalise(network, prefix) };
  }
  if (!ipaddr.isValid(cidr) || net.isIP(cidr) === 0) {
    return `"${cidr}" is not an IP address or CIDR (expected e.g. 127.0.0.0/8)`;
  }
  const address = ipaddr.parse(cidr);
  return { cidr, ...normalise(address, address.kind() === 'ipv4' ? 32 : 128) };
}

/** An IPv4-mapped IPv6 range (`::ffff:10.0.0.0/104`) matches the IPv4 addresses it maps. */
function normalise(network: Address, prefix: number): { network: Address; prefix: number } {
  if (network.kind() === 'ipv6' && prefix >= 96) {
    const v6 = network as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) return { network: v6.toIPv4Address(), prefix: prefix - 96 };
  }
  return { network, prefix };
}

/** Judges one IP address string. Anything unparseable is refused (fail closed). */
export function classifyAddress(address: string, allow: AllowList = []): AddressVerdict {
  let parsed: Address;
  try {
    // Strips brackets and zone ids' influence: `process` unwraps IPv4-mapped IPv6 addresses.
    parsed = ipaddr.process(address.replace(/^\[(.*)\]$/, '$1'));
  } catch {
    return { address, range: 'invalid', allowed: false };
  }
  const judged = parsed.toString();
  const range = parsed.range();
  if (range === 'unicast') return { address: judged, range, allowed: true };
  const hit = allow.find(
    (r) => r.network.kind() === parsed.kind() && parsed.match(r.network, r.prefix),
  );
  return hit
    ? { address: judged, range, allowed: true, allowedBy: hit.cidr }
    : { address: judged, range, allowed: false };
}

/** Throws {@link BlockedAddressError} unless `address` may be connected to. */
export function assertAddressAllowed(address: string, allow: AllowList, hostname = address): void {
  const verdict = classifyAddress(address, allow);
  if (!verdict.allowed) throw new BlockedAddressError(hostname, verdict.address, verdict.range);
}

/**
 * For a URL's `hostname`: IP literals (`127.0.0.1`, `[::1]`) are checked here because sockets
 * never call `lookup` for them; names are left to the guarded lookup at connect time.
 * WHATWG `URL` already normalises odd IPv4 spellings (`http://2130706433/` → 127.0.0.1).
 */
export function assertHostAllowed(hostname: string, allow: AllowList): void {
  const bare = hostname.replace(/^\[(.*)\]$/, '$1');
  if (net.isIP(bare) !== 0) assertAddressAllowed(bare, allow, hostname);
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | dns.LookupAddress[],
  family?: number,
) => void;

/** The resolver the guard wraps; `dns.lookup` by default (tests inject a fake one). */
export type Resolver = (
  hostname: string,
  options: dns.LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void,
) => void;

const systemResolver: Resolver = (hostname, options, callback) => {
  dns.lookup(hostname, options, callback);
};

/**
 * A `lookup` for `http.Agent` / `https.Agent` options, `net.connect`, or undici's
 * `connect: { lookup }`: resolves with the system resolver, refuses the host when ANY address
 * it resolves to is blocked (a mix of public and private records is an attack, not a
 * misconfiguration), and returns exactly the vetted addresses, so the socket connects to
 * what was checked. Supports both `all: true` (Happy Eyeballs) and single-address callers.
 */
export function createGuardedLookup(
  allow: AllowList,
  resolve: Resolver = systemResolver,
): net.LookupFunction {
  return (hostname, options, callback: LookupCallback) => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) {
        callback(err, []);
        return;
      }
      if (addresses.length === 0) {
        const notFound: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        notFound.code = 'ENOTFOUND';
        callback(notFound, []);
        return;
      }
      for (const a of addresses) {
        const verdict = classifyAddress(a.address, allow);
        if (!verdict.allowed) {
          callback(new BlockedAddressError(hostname, verdict.address, verdict.range), []);
          return;
        }
      }
      if (options.all === true) callback(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

/**
 * `FETCH_ALLOW_CIDRS` as a zod object to `.extend()` a service's env schema: parseEnv then
 * reports a bad entry by name together with every other bad variable.
 */
export const fetchAllowEnv = z.object({
  FETCH_ALLOW_CIDRS: z
    .string()
    .default('')
    .transform((value, ctx): AllowList => {
      try {
        return parseAllowCidrs(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
});
export type FetchAllowEnv = z.infer<typeof fetchAllowEnv>;
