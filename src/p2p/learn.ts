/**
 * Which addresses from a peer's `peers` message may be dialled (docs/protocol.md §9.4). A loopback
 * or unspecified address means "this machine" to whoever dials it, so it is learned only from a
 * peer that is itself on this machine: a remote peer cannot point us at our own local services.
 */
import { BlockList, isIP } from "node:net";

const LOCAL = new BlockList();
LOCAL.addSubnet("127.0.0.0", 8, "ipv4");
LOCAL.addAddress("0.0.0.0", "ipv4");
LOCAL.addAddress("::1", "ipv6");
LOCAL.addAddress("::", "ipv6");
LOCAL.addSubnet("::ffff:127.0.0.0", 104, "ipv6");
LOCAL.addAddress("::ffff:0.0.0.0", "ipv6");

/** True for localhost names, 127.0.0.0/8, 0.0.0.0, ::1, :: and their IPv4-mapped forms (brackets allowed). */
export function isLocalHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  const family = isIP(h);
  return family !== 0 && LOCAL.check(h, family === 4 ? "ipv4" : "ipv6");
}

/**
 * Whether `url` (already checked dialable) heard from a peer at `senderHost` (its IP address, or
 * the host we dialled) may be learned: anything from a local peer, and non-local addresses from
 * anyone.
 */
export function mayLearn(url: string, senderHost: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  return !isLocalHost(host) || isLocalHost(senderHost);
}
