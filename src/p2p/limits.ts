/**
 * What one stranger may take from a node (docs/protocol.md §9.4): connection slots, connection
 * rate, ban table and log lines. Identities are free and addresses cheap, so each limit is by
 * address group (see addressGroup) or bounded in size, never only by EBID.
 */
import type { Logger } from "pino";
import { addressGroup } from "./learn.ts";
import { TokenBucket, type TokenBucketLimits } from "../util/tokenBucket.ts";
import { systemClock, type Clock } from "../util/clock.ts";

/**
 * Connection slots inbound peers cannot take, kept for our own dials: a quarter of `maxPeers`, at
 * most 8. A stranger who opens many connections can then fill the inbound side, never all of it.
 */
export function outboundReserved(maxPeers: number): number {
  return Math.min(8, Math.floor(maxPeers / 4));
}

/**
 * Learned addresses one group of hosts (an IPv4 /24, an IPv6 /48, one private address or name; see
 * addressGroup) may fill, as the peers that shared them and as the addresses themselves: an eighth
 * of maxPeers, at least 1. Addresses on or from this machine are not limited.
 */
export function learnedPerGroup(maxPeers: number): number {
  return Math.max(1, Math.ceil(maxPeers / 8));
}

/**
 * New inbound connections one group of addresses (none on this machine) may open: each costs us a
 * signature on its hello before it proves anything, so a stranger opening and dropping connections
 * in a loop must not have our CPU. Honest nodes connect a few times an hour.
 */
export const INBOUND_PER_GROUP: TokenBucketLimits = { perSec: 10, burst: 40 };

/** Groups whose inbound connection rate is tracked at most; past it the least recently seen is dropped. */
export const INBOUND_GROUPS_TRACKED = 10_000;

/**
 * Log lines about one peer's doings (connected, disconnected, refused, invalid data) at info and
 * above, per second on average and at once: a stranger cycling fresh keys through strikes and bans
 * must not fill the operator's disk. Lines past it are counted and summed up in one warning.
 */
export const PEER_LOG_LIMIT: TokenBucketLimits = { perSec: 20, burst: 200 };

/** The rate of new inbound connections per address group ({@link INBOUND_PER_GROUP}), in bounded memory. */
export class InboundRate {
  // least recently seen first
  private readonly groups = new Map<string, { bucket: TokenBucket; at: number }>();

  /** Whether a new connection from `remote` (an IP address) may go on; counts it. */
  admit(remote: string, now: number): boolean {
    const group = addressGroup(remote);
    if (group === undefined) return true;
    let entry = this.groups.get(group);
    this.groups.delete(group);
    if (!entry) {
      if (this.groups.size >= INBOUND_GROUPS_TRACKED) this.prune(now);
      for (const oldest of this.groups.keys()) {
        if (this.groups.size < INBOUND_GROUPS_TRACKED) break;
        this.groups.delete(oldest);
      }
      entry = { bucket: new TokenBucket(INBOUND_PER_GROUP, now), at: now };
    }
    entry.at = now;
    this.groups.set(group, entry);
    return entry.bucket.take(now);
  }

  /** Forgets groups quiet long enough for their bucket to be full again (the same as never seen). */
  prune(now: number): void {
    const refillMs = (INBOUND_PER_GROUP.burst / INBOUND_PER_GROUP.perSec) * 1000;
    for (const [group, { at }] of this.groups) {
      if (now - at < refillMs) break; // least recently seen first: the rest are newer
      this.groups.delete(group);
    }
  }
}

/** Most ms a reply may wait for a peer's served-byte budget; past it the request is refused `busy`. */
export const MAX_SERVE_DELAY_MS = 2_000;

/**
 * Addresses whose served-byte budget is kept at most; past it the least recently used is forgotten
 * (it comes back full: a stranger would need this many addresses in turn to gain by it).
 */
export const SERVED_ADDRESSES_TRACKED = 10_000;

/**
 * Bytes of replies a node serves one peer (docs/protocol.md §9.6): a token bucket in bytes that may
 * go into debt by one reply. A reply is sent once the debt before it is repaid (waitMs); a request
 * that arrives with more than MAX_SERVE_DELAY_MS of debt is refused.
 */
export class ByteBudget {
  private tokens: number;
  private at: number;

  /** @param limits bytes per second and burst (bytes); @param now ms */
  constructor(
    private readonly limits: TokenBucketLimits,
    now: number,
  ) {
    this.tokens = limits.burst;
    this.at = now;
  }

  private refill(now: number): void {
    if (now <= this.at) return;
    this.tokens = Math.min(this.limits.burst, this.tokens + ((now - this.at) * this.limits.perSec) / 1000);
    this.at = now;
  }

  /** ms until the debt is repaid at `now` (0: none). */
  waitMs(now: number): number {
    this.refill(now);
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.limits.perSec);
  }

  /** Takes `bytes` (may leave a debt). */
  spend(bytes: number, now: number): void {
    this.refill(now);
    this.tokens -= bytes;
  }
}

/**
 * EBID bans earned from one address (inboundKey) within the ban time after which the address itself
 * is banned for the ban time: fresh keys cost nothing, an address does. This machine is exempt.
 */
export const ADDRESS_BAN_AFTER = 3;

/** EBID bans recently earned from each address, for {@link ADDRESS_BAN_AFTER}; at most `max` addresses (the oldest go first). */
export class AddressScores {
  private readonly times = new Map<string, number[]>();

  constructor(private readonly max: number) {}

  /** Records a ban earned from `key` at `now`; returns the bans from it within the last `windowMs`. */
  record(key: string, now: number, windowMs: number): number {
    const recent = (this.times.get(key) ?? []).filter((t) => now - t < windowMs);
    recent.push(now);
    this.times.delete(key);
    for (const oldest of this.times.keys()) {
      if (this.times.size < this.max) break;
      this.times.delete(oldest);
    }
    this.times.set(key, recent.slice(-ADDRESS_BAN_AFTER));
    return recent.length;
  }
}

/** Banned EBIDs with their end time (ms), at most `max`: at the cap expired bans go first, then the oldest. */
export class BanList {
  // in the order given; a renewed ban moves to the end
  private readonly until = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Bans `ebid` until `now + ms`. */
  ban(ebid: string, now: number, ms: number): void {
    this.until.delete(ebid);
    if (this.until.size >= this.max) this.prune(now);
    for (const oldest of this.until.keys()) {
      if (this.until.size < this.max) break;
      this.until.delete(oldest);
    }
    this.until.set(ebid, now + ms);
  }

  /** Whether `ebid` is banned at `now`. */
  has(ebid: string, now: number): boolean {
    return (this.until.get(ebid) ?? 0) > now;
  }

  /** Bans in force at `now`. */
  count(now: number): number {
    let n = 0;
    for (const until of this.until.values()) if (until > now) n++;
    return n;
  }

  /** Drops expired bans (they cost no memory). */
  prune(now: number): void {
    for (const [ebid, until] of this.until) if (until <= now) this.until.delete(ebid);
  }
}

/** Log lines about peers within {@link PEER_LOG_LIMIT}; the rest are counted and summed up by `flush`. */
export class PeerLog {
  private readonly rate: TokenBucket;
  private suppressed = 0;

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
  ) {
    this.rate = new TokenBucket(PEER_LOG_LIMIT, clock.now());
  }

  /** Logs one line about a peer, unless over the limit. */
  line(level: "info" | "warn", obj: object, msg: string): void {
    if (!this.rate.take(this.clock.now())) {
      this.suppressed++;
      return;
    }
    this.flush();
    this.log[level](obj, msg);
  }

  /** Says how many lines were left out since the last time, if any. */
  flush(): void {
    if (this.suppressed === 0) return;
    this.log.warn({ suppressed: this.suppressed, limit_per_s: PEER_LOG_LIMIT.perSec }, "Peer log lines suppressed");
    this.suppressed = 0;
  }
}

/** How long a group whose learned addresses died stays closed to new learned addresses, in ms: one hour. */
export const DEAD_GROUP_MS = 3_600_000;

/** Groups remembered at most by {@link DeadGroups}; past it the oldest is dropped. */
export const DEAD_GROUPS_TRACKED = 10_000;

/**
 * Address groups whose learned addresses were forgotten as dead, within {@link DEAD_GROUP_MS}: once
 * a group has had `cap` of them, it takes no new learned address until the hour is over. A stranger
 * feeding fresh dead addresses of a victim (new ports, new names in one /24) could otherwise have
 * every node dial the victim again and again.
 */
export class DeadGroups {
  // oldest first: group -> forgotten addresses and when the first of them was
  private readonly groups = new Map<string, { count: number; since: number }>();

  /** Records one learned address of `group` forgotten at `now`. */
  record(group: string, now: number): void {
    let entry = this.groups.get(group);
    if (!entry || now - entry.since >= DEAD_GROUP_MS) {
      this.groups.delete(group);
      if (this.groups.size >= DEAD_GROUPS_TRACKED) this.prune(now);
      for (const oldest of this.groups.keys()) {
        if (this.groups.size < DEAD_GROUPS_TRACKED) break;
        this.groups.delete(oldest);
      }
      entry = { count: 0, since: now };
      this.groups.set(group, entry);
    }
    entry.count++;
  }

  /** Whether `group` had `cap` learned addresses forgotten within the hour before `now`. */
  closed(group: string, now: number, cap: number): boolean {
    const entry = this.groups.get(group);
    return !!entry && now - entry.since < DEAD_GROUP_MS && entry.count >= cap;
  }

  /** Drops groups whose hour is over. */
  prune(now: number): void {
    for (const [group, { since }] of this.groups) {
      if (now - since < DEAD_GROUP_MS) break; // oldest first
      this.groups.delete(group);
    }
  }
}
