import { z } from "zod";
import { wsUrl } from "../consensus/wire.ts";

/** P2P options (docs/protocol.md §9.4). Times in ms, sizes in bytes. */
export interface P2POptions {
  /** address the P2P server binds (default 0.0.0.0) */
  host: string;
  /** P2P port (default 7072; 0 picks a free one) */
  port: number;
  /** configured peers, ws://host:port, redialled forever with backoff */
  peers: string[];
  /** dial addresses learned from peers' `peers` messages (off: only `peers` above) */
  discovery: boolean;
  /**
   * speak mesh gossip (docs/protocol.md §9.5.1): send `gossip: 1` in hello, push full messages to a
   * mesh of peers and announce them to a few others. Off: no `gossip` in hello, every message
   * flooded to every ready peer (protocol version 3 before mesh gossip); default on
   */
  meshGossip: boolean;
  /**
   * ws://host:port or wss://host:port sent in our hello as `advertise_url` (`--p2p-advertise`): where
   * peers should dial us when that differs from what they see (NAT, containers). Not sent when absent.
   */
  advertiseUrl?: string;
  /**
   * local IP address our dials leave from (`--p2p-dial-from`), so peers see that address as ours
   * (a host with several addresses); default: the system's choice
   */
  dialFrom?: string;
  handshakeTimeoutMs: number;
  pingIntervalMs: number;
  /** a peer silent this long is terminated */
  idleTimeoutMs: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  /** a connection up this long resets its dial backoff */
  backoffResetMs: number;
  maxLineBytes: number;
  /** WebSocket payload cap */
  maxPayloadBytes: number;
  maxBufferedBytes: number;
  /**
   * connections at most (ready inbound, and outbound ready or handshaking; inbound handshakes are
   * capped by maxHandshakes instead): an inbound peer that completes its handshake past it, or past
   * it less the slots kept for our own dials (a quarter, at most 8), is closed (unless the address
   * group holding the most inbound peers gives up its newest one) and learned addresses wait;
   * configured peers are dialled regardless
   */
  maxPeers: number;
  /** messages per second a peer may send on average */
  rateLimitPerSec: number;
  /** messages a peer may send in one burst */
  rateLimitBurst: number;
  /** strikes before a peer is disconnected and banned */
  maxStrikes: number;
  /** how long a peer banned for its strikes is refused (by EBID); 0: disconnected, never refused */
  banMs: number;
  /**
   * EBIDs banned at once at most; past it the oldest ban is dropped. Identities are free, so bans
   * slow a stranger down rather than stop it; without a bound, one that earns bans with fresh keys
   * would grow this table for as long as banMs.
   */
  maxBans: number;
  /** one strike is forgiven per this many ms, so rare glitches of a long-lived peer never add up to a ban */
  strikeDecayMs: number;
  /**
   * per message type: messages per second on average and the burst allowed (types not listed: the
   * global bucket only); a `prune` takes from the `graft` bucket (see rateLimitKey in peer.ts)
   */
  typeRateLimits: Record<string, { perSec: number; burst: number }>;
  /** a peer's requests we answer at once; more get `busy` */
  maxInflightRequests: number;
  /** our requests waiting on one peer; more fail at once */
  maxPendingRequests: number;
  /** inbound connections from one IP address, or one /64 for public IPv6 (handshaking or ready) */
  maxInboundPerAddress: number;
  /** ms an inbound or outbound connection has to send its `hello` before it is closed */
  helloTimeoutMs: number;
  /**
   * inbound connections still in the handshake at once; more are refused (1013). They do not take
   * peer slots: maxPeers counts ready peers and our own connections only
   */
  maxHandshakes: number;
  /** inbound connections from one address (as maxInboundPerAddress) still in the handshake at once */
  maxHandshakesPerAddress: number;
  /** bytes of replies served to one peer per second on average, and at once (ByteBudget) */
  servedBytesPerSec: number;
  servedBytesBurst: number;
}

/** Defaults (docs/protocol.md §9.4): ping 15 s, idle 30 s, backoff 1 s to 60 s, lines up to 4 MiB. */
export const defaultP2POptions: P2POptions = {
  host: "0.0.0.0",
  port: 7072,
  peers: [],
  discovery: true,
  meshGossip: true,
  handshakeTimeoutMs: 10_000,
  pingIntervalMs: 15_000,
  idleTimeoutMs: 30_000,
  backoffBaseMs: 1_000,
  backoffCapMs: 60_000,
  backoffResetMs: 60_000,
  maxLineBytes: 4 * 1024 * 1024,
  maxPayloadBytes: 8 * 1024 * 1024,
  maxBufferedBytes: 16 * 1024 * 1024,
  maxPeers: 50,
  rateLimitPerSec: 500,
  rateLimitBurst: 2000,
  maxStrikes: 10,
  banMs: 5 * 60_000,
  maxBans: 10_000,
  strikeDecayMs: 60_000,
  typeRateLimits: {
    status: { perSec: 50, burst: 200 }, // nodes send at most one per 50 ms (coalesced)
    block: { perSec: 100, burst: 400 },
    attestation: { perSec: 300, burst: 1000 },
    tx: { perSec: 400, burst: 2000 },
    peers: { perSec: 1, burst: 5 },
    req: { perSec: 100, burst: 300 },
    // mesh gossip control (docs/protocol.md §9.5.1); `graft` is the bucket of graft and prune together
    ihave: { perSec: 100, burst: 400 },
    iwant: { perSec: 100, burst: 400 },
    graft: { perSec: 10, burst: 20 },
  },
  maxInflightRequests: 16,
  maxPendingRequests: 64,
  maxInboundPerAddress: 32,
  helloTimeoutMs: 5_000,
  maxHandshakes: 64,
  maxHandshakesPerAddress: 16,
  servedBytesPerSec: 8 * 1024 * 1024,
  servedBytesBurst: 32 * 1024 * 1024,
};

/** P2P options that cannot be used; the message names the option (and its start flag). */
export class P2POptionsError extends Error {
  override name = "P2POptionsError";
}

const int = (min: number, max: number) => z.number({ error: `expected a whole number from ${min} to ${max}` }).int(`expected a whole number from ${min} to ${max}`).min(min, `expected a whole number from ${min} to ${max}`).max(max, `expected a whole number from ${min} to ${max}`);
const HOUR_MS = 3_600_000;
const MIB = 1024 * 1024;
const bucket = z.object({ perSec: z.number().positive().max(1_000_000), burst: int(1, 10_000_000) }).strict();

/** Ranges of every P2P option. */
export const p2pOptionsSchema = z
  .object({
    host: z.string().min(1).max(255),
    port: int(0, 65535),
    peers: z.array(wsUrl).max(1024),
    discovery: z.boolean(),
    meshGossip: z.boolean(),
    advertiseUrl: wsUrl.optional(),
    dialFrom: z.ipv4().or(z.ipv6()).optional(),
    handshakeTimeoutMs: int(50, 10 * 60_000),
    pingIntervalMs: int(50, HOUR_MS),
    idleTimeoutMs: int(100, 24 * HOUR_MS),
    backoffBaseMs: int(1, HOUR_MS),
    backoffCapMs: int(1, 24 * HOUR_MS),
    backoffResetMs: int(0, 24 * HOUR_MS),
    maxLineBytes: int(1024, 256 * MIB),
    maxPayloadBytes: int(1024, 256 * MIB),
    maxBufferedBytes: int(1024, 4096 * MIB),
    maxPeers: int(1, 10_000),
    rateLimitPerSec: z.number().positive().max(1_000_000),
    rateLimitBurst: int(1, 10_000_000),
    maxStrikes: int(1, 10_000),
    banMs: int(0, 30 * 24 * HOUR_MS),
    maxBans: int(1, 10_000_000),
    strikeDecayMs: int(1, 24 * HOUR_MS),
    typeRateLimits: z.record(z.string(), bucket),
    maxInflightRequests: int(1, 10_000),
    maxPendingRequests: int(1, 100_000),
    maxInboundPerAddress: int(1, 10_000),
    helloTimeoutMs: int(50, 10 * 60_000),
    maxHandshakes: int(1, 10_000),
    maxHandshakesPerAddress: int(1, 10_000),
    servedBytesPerSec: int(1024, 4096 * MIB),
    servedBytesBurst: int(1024, 4096 * MIB),
  })
  .strict()
  .refine((o) => o.idleTimeoutMs > o.pingIntervalMs, { path: ["idleTimeoutMs"], message: "must be longer than pingIntervalMs" })
  .refine((o) => o.backoffCapMs >= o.backoffBaseMs, { path: ["backoffCapMs"], message: "must be at least backoffBaseMs" })
  .refine((o) => o.maxLineBytes <= o.maxPayloadBytes, { path: ["maxLineBytes"], message: "must be at most maxPayloadBytes" });

/** The start flag behind an option, for error messages. */
const FLAGS: Partial<Record<keyof P2POptions, string>> = {
  host: "--p2p-host",
  port: "--p2p-port",
  peers: "--peers",
  discovery: "--no-discovery",
  advertiseUrl: "--p2p-advertise",
  dialFrom: "--p2p-dial-from",
  maxPeers: "--p2p-max-peers",
  maxInboundPerAddress: "--p2p-max-inbound-per-address",
  banMs: "--p2p-ban-ms",
  servedBytesPerSec: "--p2p-served-bytes-per-sec",
  servedBytesBurst: "--p2p-served-bytes-burst",
};

/**
 * Checks every P2P option against its range.
 * @throws P2POptionsError naming the first bad option and its flag, e.g.
 *   `invalid P2P option maxPeers (--p2p-max-peers): expected a whole number from 1 to 10000`
 */
export function assertP2POptions(opts: P2POptions): void {
  const r = p2pOptionsSchema.safeParse(opts);
  if (r.success) return;
  const issue = r.error.issues[0]!;
  const key = String(issue.path[0] ?? "");
  const flag = FLAGS[key as keyof P2POptions];
  const where = issue.path.join(".") || "(options)";
  throw new P2POptionsError(`invalid P2P option ${where}${flag ? ` (${flag})` : ""}: ${issue.message}`);
}

/**
 * The options a node runs with: defaults, then `over`; when no peers are configured, the chain
 * spec's `bootnodes` are dialled instead (docs/protocol.md §2).
 * @throws P2POptionsError when an option is out of range
 */
export function resolveP2POptions(over: Partial<P2POptions>, bootnodes: readonly string[] = []): P2POptions {
  const opts: P2POptions = { ...defaultP2POptions, ...stripUndefined(over) };
  if (opts.peers.length === 0 && bootnodes.length > 0) opts.peers = [...bootnodes];
  assertP2POptions(opts);
  return opts;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
