/**
 * Which addresses from a peer's `peers` message (or its `advertise_url`) may be dialled
 * (docs/protocol.md §9.4). Addresses have a scope: this machine (loopback, unspecified), a private
 * network (RFC 1918, shared address space, link-local, unique-local IPv6, multicast and reserved),
 * or public. An address is learned only from a peer at least as close as the address: a remote
 * peer cannot point us at our own local services, nor a peer on the Internet at hosts of our
 * private network. A DNS name is public by name; the addresses it resolves to are checked when it
 * is dialled ({@link guardedLookup}), so a name with an A record of 127.0.0.1 gains nothing.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { BlockList, isIP } from "node:net";
import { boundedLru } from "../util/lru.ts";

/** How close an address is: 0 this machine, 1 a private network, 2 public. */
export type Scope = 0 | 1 | 2;

const LOCAL = new BlockList();
LOCAL.addSubnet("127.0.0.0", 8, "ipv4");
LOCAL.addSubnet("0.0.0.0", 8, "ipv4");
LOCAL.addAddress("::1", "ipv6");
LOCAL.addAddress("::", "ipv6");
LOCAL.addSubnet("::ffff:127.0.0.0", 104, "ipv6");
LOCAL.addSubnet("::ffff:0.0.0.0", 104, "ipv6");

const PRIVATE = new BlockList();
for (const [net, bits] of [["10.0.0.0", 8], ["172.16.0.0", 12], ["192.168.0.0", 16], ["100.64.0.0", 10], ["169.254.0.0", 16], ["224.0.0.0", 3]] as const) {
  PRIVATE.addSubnet(net, bits, "ipv4");
  PRIVATE.addSubnet(`::ffff:${net}`, 96 + bits, "ipv6");
}
PRIVATE.addSubnet("fc00::", 7, "ipv6"); // unique local
PRIVATE.addSubnet("fe80::", 10, "ipv6"); // link-local
PRIVATE.addSubnet("ff00::", 8, "ipv6"); // multicast

/**
 * The scope of a host name or IP address (brackets allowed). Names are public unless `localhost` ones.
 * Kept per host text in an LRU of 4,096: the BlockList checks allocate a SocketAddress each, and peer
 * exchange and admission ask about the same few hosts all the time; a stranger's flood of new host
 * names evicts the least recently asked, never the whole set at once.
 */
export function scopeOf(host: string): Scope {
  let s = scopes.get(host);
  if (s === undefined) scopes.set(host, (s = scopeNow(host)));
  return s;
}

const scopes = boundedLru<string, Scope>(4096);

function scopeNow(host: string): Scope {
  const h = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (h === "localhost" || h.endsWith(".localhost")) return 0;
  const family = isIP(h);
  if (family === 0) return 2;
  const type = family === 4 ? "ipv4" : "ipv6";
  if (LOCAL.check(h, type)) return 0;
  return PRIVATE.check(h, type) ? 1 : 2;
}

/** True for localhost names, 0.0.0.0/8, 127.0.0.0/8, ::1, :: and their IPv4-mapped forms (brackets allowed). */
export function isLocalHost(host: string): boolean {
  return scopeOf(host) === 0;
}

/**
 * Whether `url` (already checked dialable) heard from a peer at `senderHost` (its IP address, or
 * the host we dialled) may be learned: only when the address is no closer than the sender.
 */
export function mayLearn(url: string, senderHost: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  return scopeOf(host) >= scopeOf(senderHost);
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for dialling an address learned from a peer at `senderHost`: resolves the name and
 * keeps only the addresses no closer than that peer, failing with ENOTFOUND when none is left.
 * IP literals never reach a lookup (they were checked by {@link mayLearn}).
 */
export function guardedLookup(senderHost: string): (hostname: string, options: LookupOptions, callback: LookupCallback) => void {
  const floor = scopeOf(senderHost);
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, "");
      const allowed = addresses.filter((a) => scopeOf(a.address) >= floor);
      if (allowed.length === 0) {
        const e: NodeJS.ErrnoException = new Error(`${hostname} resolves only to addresses closer than the peer that shared it`);
        e.code = "ENOTFOUND";
        return callback(e, "");
      }
      if (options.all) return callback(null, allowed);
      callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

/**
 * The group of hosts one operator can cheaply hold many of, for limits on what one group may fill:
 * an IPv4 /24 or IPv6 /48 for public addresses, the address itself on a private network, the name
 * for DNS names, and none (undefined: no limit) for this machine.
 */
export function addressGroup(host: string): string | undefined {
  const h = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  const scope = scopeOf(h);
  if (scope === 0) return undefined;
  const family = isIP(h);
  if (family === 0 || scope === 1) return h;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h)?.[1] ?? (family === 6 ? mappedHex(h) : undefined);
  if (family === 4 || mapped) return `${(mapped ?? h).split(".").slice(0, 3).join(".")}.0/24`;
  return `${expand6(h).slice(0, 3).join(":")}::/48`;
}

/**
 * What one inbound connection counts against for the per-address limit (maxInboundPerAddress): the
 * IP address itself, but the /64 for a public IPv6 address, since one host commonly holds a whole /64.
 */
export function inboundKey(remote: string): string {
  const h = remote.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (isIP(h) !== 6 || scopeOf(h) !== 2 || /^::ffff:/.test(h)) return h;
  return `${expand6(h).slice(0, 4).join(":")}::/64`;
}

// ::ffff:7f00:1 -> 127.0.0.1 (URL parsing writes IPv4-mapped addresses in hex)
function mappedHex(h: string): string | undefined {
  const g = expand6(h);
  if (g.slice(0, 5).some((x) => x !== "0") || g[5] !== "ffff") return undefined;
  const [hi, lo] = [parseInt(g[6]!, 16), parseInt(g[7]!, 16)];
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

// The eight 16-bit groups of an IPv6 address, in lowercase hex without leading zeros.
function expand6(h: string): string[] {
  let s = h;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) s = s.slice(0, v4.index) + [((+v4[1]! << 8) | +v4[2]!).toString(16), ((+v4[3]! << 8) | +v4[4]!).toString(16)].join(":");
  const [head, tail] = s.includes("::") ? s.split("::") : [s, undefined];
  const a = head ? head.split(":") : [];
  const b = tail ? tail.split(":") : [];
  const groups = tail === undefined ? a : [...a, ...Array<string>(8 - a.length - b.length).fill("0"), ...b];
  return groups.map((x) => parseInt(x || "0", 16).toString(16));
}
