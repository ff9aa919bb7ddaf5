/** P2P options (DESIGN.md section 9). Times in ms, sizes in bytes. */
export interface P2POptions {
  /** address the P2P server binds (default 0.0.0.0) */
  host: string;
  /** P2P port (seed 001 default 7072; 0 picks a free one) */
  port: number;
  /** configured peers, ws://host:port, redialled forever with backoff */
  peers: string[];
  /** dial addresses learned from peers' `peers` messages (off: only `peers` above) */
  discovery: boolean;
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
  maxPeers: number;
  /** messages per second a peer may send on average */
  rateLimitPerSec: number;
  /** messages a peer may send in one burst */
  rateLimitBurst: number;
  /** strikes before a peer is disconnected and banned */
  maxStrikes: number;
  banMs: number;
  /** one strike is forgiven per this many ms, so rare glitches of a long-lived peer never add up to a ban */
  strikeDecayMs: number;
  /** per message type: messages per second on average and the burst allowed (types not listed: the global bucket only) */
  typeRateLimits: Record<string, { perSec: number; burst: number }>;
  /** a peer's requests we answer at once; more get `busy` */
  maxInflightRequests: number;
  /** our requests waiting on one peer; more fail at once */
  maxPendingRequests: number;
  /** inbound connections from one IP address (handshaking or ready) */
  maxInboundPerAddress: number;
}

/** Defaults from DESIGN.md section 9: ping 15 s, idle 30 s, backoff 1 s to 60 s, lines up to 4 MiB. */
export const defaultP2POptions: P2POptions = {
  host: "0.0.0.0",
  port: 7072,
  peers: [],
  discovery: true,
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
  strikeDecayMs: 60_000,
  typeRateLimits: {
    status: { perSec: 50, burst: 200 }, // nodes send at most one per 50 ms (coalesced)
    block: { perSec: 100, burst: 400 },
    attestation: { perSec: 300, burst: 1000 },
    tx: { perSec: 400, burst: 2000 },
    peers: { perSec: 1, burst: 5 },
    req: { perSec: 100, burst: 300 },
  },
  maxInflightRequests: 16,
  maxPendingRequests: 64,
  maxInboundPerAddress: 32,
};
