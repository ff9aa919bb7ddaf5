/**
 * One connection to a peer (over a Transport, transport.ts): framing, the signed handshake
 * (docs/protocol.md §9.3), request/response with timeouts, strikes and liveness.
 */
import { randomBytes } from "node:crypto";
import { Domain, sign, verify } from "../consensus/signatures.ts";
import { LineDecoder, encodeLine } from "./framing.ts";
import { PROTOCOL_VERSION, parseMessage, type HelloMessage, type Message, type ParseResult } from "./messages.ts";
import { buildInfo } from "../version.ts";
import { mayLearn } from "./learn.ts";
import { TokenBucket } from "../util/tokenBucket.ts";
import { systemClock, type Clock, type Timer } from "../util/clock.ts";
import type { Connection } from "./transport.ts";

/** Who we are, for the handshake. */
export interface LocalIdentity {
  chainId: string;
  genesisHash: string;
  ebid: string;
  secretKey: Uint8Array;
  listenPort: number;
  /** the hello `agent` (docs/protocol.md §9); this build's when absent */
  agent?: string;
  /** the hello `advertise_url`: where peers should dial us, when the operator said (`--p2p-advertise`) */
  advertiseUrl?: string;
  /** the hello `gossip`: the mesh gossip version we speak (docs/protocol.md §9.5.1); not sent when absent */
  gossip?: number;
}

/** A response in the MinerBlock sync protocol's envelope (docs/protocol.md §9.2 `res`). */
export interface ResEnvelope {
  ok: boolean;
  data?: unknown;
  errors?: unknown;
}

/** Callbacks from a peer to its manager. */
export interface PeerEvents {
  /** handshake completed; the manager may still close it (a duplicate EBID, a ban) */
  onReady(peer: Peer): void;
  onMessage(peer: Peer, msg: Message): void;
  onStrike(peer: Peer, reason: string): void;
  onClose(peer: Peer, reason: string): void;
  /** every message sent or parsed, with its type and encoded size (bytes), for metrics */
  onTraffic?(direction: "in" | "out", type: string, bytes: number): void;
}

/** Peer tuning, in ms and bytes. */
export interface PeerOptions {
  handshakeTimeoutMs: number;
  /** ms the peer has to send its `hello` (shorter than the whole handshake: a silent connection goes early) */
  helloTimeoutMs: number;
  maxLineBytes: number;
  /** outbound bytes buffered before gossip to this peer is dropped (4x: the peer is disconnected) */
  maxBufferedBytes: number;
  /** messages per second a peer may send on average (token bucket refill) */
  rateLimitPerSec: number;
  /** token bucket capacity: the burst a peer may send at once */
  rateLimitBurst: number;
  /** per-type buckets, checked after the global one */
  typeRateLimits: Record<string, { perSec: number; burst: number }>;
  /** our requests waiting on this peer at most */
  maxPendingRequests: number;
}

/** A connected peer. */
export class Peer {
  readonly nonce = randomBytes(32).toString("hex");
  readonly connectedAt: number;
  state: "handshaking" | "ready" | "closed" = "handshaking";
  hello?: HelloMessage;
  /** the height the peer claims (hello, status, the height of a block it sent): see {@link claim} */
  height = 0;
  tipHash = "";
  /**
   * The highest height this peer has backed (docs/protocol.md §6.1): a valid block it sent or served,
   * or its reported tip found here. Genesis is backed by the handshake (same genesis hash).
   */
  backedHeight = 0;
  /** ms since the claim went above backedHeight; undefined while the claim is backed */
  claimSince?: number;
  /** a claim of this peer went unbacked past the timeout: its heights above backedHeight are ignored */
  claimsIgnored = false;
  lastSeen: number;
  strikes = 0;
  /** ms when the strikes were last decayed */
  strikesAt: number;
  /** this peer's requests we are answering now */
  inflightRequests = 0;
  /** per limited message type, made on first use */
  private readonly typeBuckets = new Map<string, TokenBucket>();
  /** gossip we send: over all types, then per type, made on first use (see {@link send}) */
  private outRate?: TokenBucket;
  private readonly outTypeBuckets = new Map<string, TokenBucket>();
  /** ms when the handshake completed */
  readyAt?: number;
  /** we reached this peer (its EBID) by dialling its `advertise_url` ourselves */
  advertiseVerified = false;
  closeReason?: string;
  private readonly decoder: LineDecoder;
  private readonly pending = new Map<number, { resolve: (r: ResEnvelope) => void; timer: Timer }>();
  /** ids of our requests that timed out, oldest first, at most LATE_REPLIES_KEPT: a reply to one comes late, not forged */
  private readonly timedOut = new Set<number>();
  private nextId = 1;
  /** over all messages, checked first */
  private readonly rate: TokenBucket;
  private ackVerified = false;
  private handshakeTimer?: Timer;
  private helloTimer?: Timer;

  constructor(
    /** the connection (a WebSocket in production, see transport.ts) */
    readonly conn: Connection,
    readonly direction: "inbound" | "outbound",
    readonly remoteAddress: string,
    private readonly me: LocalIdentity,
    private readonly opts: PeerOptions,
    private readonly events: PeerEvents,
    /** the configured address we dialled, for outbound peers */
    readonly dialUrl?: string,
    /** outbound: the IP address that answered our dial (what a name in dialUrl resolved to) */
    readonly answeredFrom?: string,
    /** time, the handshake and request timeouts, rate buckets and liveness; default `systemClock` */
    readonly clock: Clock = systemClock,
    /** how a line becomes a message; default `parseMessage` (a simulation shares one parse per line: p2p/frameMemo.ts) */
    private readonly parse: (line: string) => ParseResult = parseMessage,
  ) {
    const now = clock.now();
    this.connectedAt = now;
    this.lastSeen = now;
    this.strikesAt = now;
    this.decoder = new LineDecoder(opts.maxLineBytes);
    this.rate = new TokenBucket({ perSec: opts.rateLimitPerSec, burst: opts.rateLimitBurst }, now);
    conn.on("message", (data) => this.onData(data));
    conn.on("pong", () => (this.lastSeen = this.clock.now()));
    conn.on("close", (code, reason) => this.closed(this.closeReason ?? (reason || `socket closed (${code})`)));
    conn.on("error", (err) => this.closed(`socket error: ${err.message}`));
  }

  /**
   * The peer's IP address: the connection's (inbound), the one that answered our dial (outbound),
   * else the host we dialled.
   */
  get host(): string {
    if (this.direction === "inbound") return this.remoteAddress;
    if (this.answeredFrom) return this.answeredFrom;
    try {
      return new URL(this.remoteAddress).hostname; // outbound: remoteAddress is the URL dialled
    } catch {
      return this.remoteAddress;
    }
  }

  /** The peer's EBID once it sent hello. */
  get ebid(): string | undefined {
    return this.hello?.ebid;
  }

  /**
   * ws://host:port where the peer listens, when known: the address it advertised (unless that is a
   * loopback address and the peer is not on this machine), else the one we dialled, else its remote
   * address with its hello's `listen_port` (docs/protocol.md §9).
   */
  get listenUrl(): string | undefined {
    const advertised = this.hello?.advertise_url;
    if (advertised && mayLearn(advertised, this.host)) return advertised;
    return this.inferredUrl;
  }

  /**
   * The address we pass on to other peers in `peers` messages: its `advertise_url` once we reached
   * it there ourselves (`advertiseVerified`), else {@link inferredUrl}. A claim we did not check is
   * shown (listenUrl) but never spread, so a stranger cannot make the network dial a victim.
   */
  get shareUrl(): string | undefined {
    const advertised = this.hello?.advertise_url;
    if (advertised && this.advertiseVerified && mayLearn(advertised, this.host)) return advertised;
    return this.inferredUrl;
  }

  /**
   * ws://host:port that we know reaches this peer, whatever it advertises: the address we dialled,
   * else its remote IP address with its hello's `listen_port`.
   */
  get inferredUrl(): string | undefined {
    if (this.dialUrl) return this.dialUrl;
    if (!this.hello || this.hello.listen_port === 0) return undefined;
    const host = this.remoteAddress.includes(":") ? `[${this.remoteAddress}]` : this.remoteAddress;
    return `ws://${host}:${this.hello.listen_port}`;
  }

  /**
   * Records a reported height and tip (hello, status, a block whose parent is unknown). A claim above
   * {@link backedHeight} starts its backing clock ({@link claimSince}), which a higher claim does not
   * restart.
   */
  claim(height: number, tipHash: string, now = this.clock.now()): void {
    this.height = height;
    this.tipHash = tipHash;
    if (height <= this.backedHeight) this.claimSince = undefined;
    else this.claimSince ??= now;
  }

  /**
   * Records that the peer showed a valid block at `height` (sent, served, or its tip found here). A
   * claim it fully backs is honoured again (clears {@link claimsIgnored}).
   */
  back(height: number): void {
    if (height > this.backedHeight) this.backedHeight = height;
    if (this.height <= this.backedHeight) {
      this.claimSince = undefined;
      this.claimsIgnored = false;
    }
  }

  /** The height the sync may take from this peer: its claim, or only what it backed once its claims are ignored. */
  get usableHeight(): number {
    return this.claimsIgnored ? Math.min(this.height, this.backedHeight) : this.height;
  }

  /** Sends our hello and arms the handshake timeout. */
  start(status: { height: number; tip_hash: string }): void {
    this.handshakeTimer = this.clock.setTimeout(() => this.close("handshake timeout"), this.opts.handshakeTimeoutMs);
    this.helloTimer = this.clock.setTimeout(() => this.hello || this.close("hello timeout"), Math.min(this.opts.helloTimeoutMs, this.opts.handshakeTimeoutMs));
    this.send({
      type: "hello",
      version: PROTOCOL_VERSION,
      chain_id: this.me.chainId,
      genesis_hash: this.me.genesisHash,
      ebid: this.me.ebid,
      nonce: this.nonce,
      listen_port: this.me.listenPort,
      height: status.height,
      tip_hash: status.tip_hash,
      agent: this.me.agent ?? buildInfo().agent,
      ...(this.me.advertiseUrl ? { advertise_url: this.me.advertiseUrl } : {}),
      ...(this.me.gossip ? { gossip: this.me.gossip } : {}),
    });
  }

  /**
   * Sends a message. With `droppable` (gossip), it is skipped instead when the peer is not reading
   * (too many bytes buffered), or when it would take this link past {@link RELAY_SHARE} of the
   * message rate limits (the peer's, taken to be ours): a node relays what all its peers send it,
   * so without this budget the sum of several sources' allowed rates overran an honest peer's limit
   * and earned the relaying node strikes and a ban. Returns false when skipped.
   */
  send(msg: object, droppable = false): boolean {
    if (this.state === "closed" || !this.conn.isOpen) return false;
    const type = (msg as { type?: string }).type ?? "unknown";
    if (droppable && !this.gossipRoom(type)) return false;
    return this.sendLine(encodeLine(msg), type);
  }

  /**
   * Sends gossip already encoded (`encodeLine`, once for every peer it goes to), dropped as
   * {@link send} with `droppable` drops it. Returns false when skipped.
   */
  sendGossipLine(line: string, type: string): boolean {
    if (this.state === "closed" || !this.conn.isOpen || !this.gossipRoom(type)) return false;
    return this.sendLine(line, type);
  }

  /** Whether the peer reads, and this link has room for one more gossip message of `type` (takes it). */
  private gossipRoom(type: string): boolean {
    return this.conn.bufferedAmount <= this.opts.maxBufferedBytes && this.takeOutToken(type);
  }

  /**
   * Sends a message of `type` already encoded (`encodeLine`), never dropped as gossip: for a reply
   * whose size was needed before sending (the served-byte budget), so it is serialized once.
   * Returns false when the peer is closed or closed now as a slow reader.
   */
  sendLine(line: string, type: string): boolean {
    if (this.state === "closed" || !this.conn.isOpen) return false;
    // Past four times the gossip threshold even responses stop: a peer that asks but never reads
    // must not grow our memory without bound.
    if (this.conn.bufferedAmount > 4 * this.opts.maxBufferedBytes) {
      this.close(`slow reader: ${this.conn.bufferedAmount} bytes unread`);
      return false;
    }
    this.conn.send(line);
    this.events.onTraffic?.("out", type, Buffer.byteLength(line));
    return true;
  }

  /** Sends a request and waits for its response; a timeout answers `ok: false`. */
  request(path: string, data: unknown, timeoutMs = 10_000): Promise<ResEnvelope> {
    const id = this.nextId++;
    if (this.pending.size >= this.opts.maxPendingRequests) return Promise.resolve({ ok: false, errors: ["too many pending requests to this peer"] });
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => {
        this.pending.delete(id);
        this.timedOut.add(id);
        if (this.timedOut.size > LATE_REPLIES_KEPT) this.timedOut.delete(this.timedOut.values().next().value as number);
        resolve({ ok: false, errors: ["request timed out"] });
      }, timeoutMs);
      this.pending.set(id, { resolve, timer });
      if (!this.send({ type: "req", id, path, data: data ?? null })) {
        this.clock.clearTimeout(timer);
        this.pending.delete(id);
        resolve({ ok: false, errors: ["peer not connected"] });
      }
    });
  }

  /** Closes with a reason (logged by the manager). Idempotent. */
  close(reason: string): void {
    if (this.state === "closed") return;
    this.closeReason = reason;
    try {
      this.conn.close(1000, reason.slice(0, 120));
    } catch {
      /* already closing */
    }
    this.clock.setTimeout(() => this.conn.terminate(), 2000).unref();
    this.closed(reason);
  }

  private closed(reason: string): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.closeReason = reason;
    this.clock.clearTimeout(this.handshakeTimer);
    this.clock.clearTimeout(this.helloTimer);
    for (const { resolve, timer } of this.pending.values()) {
      this.clock.clearTimeout(timer);
      resolve({ ok: false, errors: ["peer disconnected"] });
    }
    this.pending.clear();
    this.events.onClose(this, reason);
  }

  private onData(chunk: Buffer): void {
    this.lastSeen = this.clock.now();
    const { lines, oversized } = this.decoder.push(chunk);
    if (oversized > 0 && this.state === "handshaking") return this.close("line over the size cap before handshake");
    for (let i = 0; i < oversized; i++) this.events.onStrike(this, "line over the size cap");
    for (const line of lines) {
      if (this.state === "closed") return;
      if (!this.takeToken()) {
        this.events.onStrike(this, "message rate limit exceeded");
        continue;
      }
      const r = this.parse(line);
      if (!r.ok) {
        // Before the handshake nobody is accountable for the bytes: refuse the connection.
        if (this.state === "handshaking") return this.close(`${r.reason} before handshake`);
        this.events.onStrike(this, r.reason);
        continue;
      }
      this.events.onTraffic?.("in", r.msg.type, Buffer.byteLength(line) + 1);
      if (this.state === "ready" && !this.takeTypeToken(r.msg.type)) {
        this.events.onStrike(this, `rate limit for ${r.msg.type} messages exceeded`);
        continue;
      }
      this.handle(r.msg);
    }
  }

  // Room on this link for one more gossip message of `type`: its type's bucket, then the one over
  // all messages, each at RELAY_SHARE of the limit a peer enforces (docs/protocol.md §9.4).
  private takeOutToken(msgType: string): boolean {
    const now = this.clock.now();
    const type = rateLimitKey(msgType);
    const limit = Object.hasOwn(this.opts.typeRateLimits, type) ? this.opts.typeRateLimits[type] : undefined;
    if (limit) {
      let b = this.outTypeBuckets.get(type);
      if (!b) this.outTypeBuckets.set(type, (b = new TokenBucket(share(limit), now)));
      if (!b.take(now)) return false;
    }
    this.outRate ??= new TokenBucket(share({ perSec: this.opts.rateLimitPerSec, burst: this.opts.rateLimitBurst }), now);
    return this.outRate.take(now);
  }

  // One bucket over all messages, then one per limited message type (takeTypeToken).
  private takeToken(): boolean {
    return this.rate.take(this.clock.now());
  }

  // One bucket per limited message type: a flood of one kind cannot starve the others.
  private takeTypeToken(msgType: string): boolean {
    const type = rateLimitKey(msgType);
    const limit = Object.hasOwn(this.opts.typeRateLimits, type) ? this.opts.typeRateLimits[type] : undefined;
    if (!limit) return true;
    const now = this.clock.now();
    let b = this.typeBuckets.get(type);
    if (!b) this.typeBuckets.set(type, (b = new TokenBucket(limit, now)));
    return b.take(now);
  }

  private handle(msg: Message): void {
    if (this.state === "handshaking") return this.handshake(msg);
    if (msg.type === "hello" || msg.type === "hello_ack") return this.events.onStrike(this, "handshake message after handshake");
    if (msg.type === "res") {
      const p = typeof msg.id === "number" ? this.pending.get(msg.id) : undefined;
      // A reply after our timeout is late, not invalid: a loaded honest node answers late, and a
      // strike for it would let whoever loads it get it banned by every honest node that asks it.
      if (!p && typeof msg.id === "number" && this.timedOut.delete(msg.id)) return;
      if (!p) return this.events.onStrike(this, "response to no request");
      this.pending.delete(msg.id as number);
      this.clock.clearTimeout(p.timer);
      p.resolve({ ok: msg.ok, data: msg.data, errors: msg.errors });
      return;
    }
    if (msg.type === "status") this.claim(msg.height, msg.tip_hash);
    this.events.onMessage(this, msg);
  }

  private handshake(msg: Message): void {
    if (msg.type === "hello") {
      if (this.hello) return this.close("second hello");
      if (msg.version !== PROTOCOL_VERSION) return this.close(`protocol version ${msg.version} not supported`);
      if (msg.chain_id !== this.me.chainId) return this.close("hello for another chain (chain_id mismatch)");
      if (msg.genesis_hash !== this.me.genesisHash) return this.close("hello for another chain (genesis mismatch)");
      if (msg.ebid === this.me.ebid) return this.close("self-connection");
      this.hello = msg;
      this.clock.clearTimeout(this.helloTimer);
      this.claim(msg.height, msg.tip_hash);
      const sig = sign(Domain.hello, this.ackObject(this.me.ebid, msg.ebid, this.nonce, msg.nonce), this.me.secretKey);
      this.send({ type: "hello_ack", sig });
      return;
    }
    if (msg.type === "hello_ack") {
      if (!this.hello || this.ackVerified) return this.close("hello_ack out of order");
      const obj = this.ackObject(this.hello.ebid, this.me.ebid, this.hello.nonce, this.nonce);
      if (!verify(Domain.hello, obj, msg.sig, this.hello.ebid)) return this.close("bad handshake signature");
      this.ackVerified = true;
      this.clock.clearTimeout(this.handshakeTimer);
      this.state = "ready";
      this.readyAt = this.clock.now();
      this.events.onReady(this);
      return;
    }
    // Anything else before the handshake completes is a protocol violation.
    this.close(`${msg.type} before handshake`);
  }

  private ackObject(ebid: string, peerEbid: string, nonce: string, peerNonce: string) {
    return {
      chain_id: this.me.chainId,
      genesis_hash: this.me.genesisHash,
      ebid,
      peer_ebid: peerEbid,
      nonce,
      peer_nonce: peerNonce,
    };
  }
}

/**
 * The per-type rate bucket a message `type` takes from (docs/protocol.md §9.5.1): `prune` shares
 * `graft`'s (graft and prune together), every other type its own.
 */
export function rateLimitKey(type: string): string {
  return type === "prune" ? "graft" : type;
}

/** Ids of our timed-out requests remembered per peer, whose late replies are dropped without a strike. */
export const LATE_REPLIES_KEPT = 256;

/**
 * The share of a peer's message rate limits that gossip to it may use: the rest is room for our
 * requests, replies and statuses, which are never dropped, and for timing jitter on the link.
 */
export const RELAY_SHARE = 0.8;

function share(l: { perSec: number; burst: number }): { perSec: number; burst: number } {
  return { perSec: l.perSec * RELAY_SHARE, burst: Math.max(1, Math.floor(l.burst * RELAY_SHARE)) };
}
