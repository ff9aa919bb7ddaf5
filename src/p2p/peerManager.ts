/**
 * The P2P service (docs/protocol.md §9): a listener and a dialer (over a Transport, WebSockets by default) of configured and learned
 * peers (exponential backoff with full jitter), keepalive, one connection per EBID, strikes and
 * bans, and gossip: mesh gossip (meshGossip.ts, docs/protocol.md §9.5.1) to peers that speak it,
 * every message in full to those that do not. What a stranger may take is bounded in limits.ts,
 * which addresses may be learned in learn.ts. Knows nothing of the chain: the node passes handlers in.
 */
import type { Logger } from "pino";
import { Peer, type LocalIdentity, type ResEnvelope } from "./peer.ts";
import { parseMessage, type Message, type ParseResult } from "./messages.ts";
import { GOSSIP_VERSION, isGossipControl, type GossipKind, type GossipMessage } from "./gossipMessages.ts";
import { MeshGossip, type GossipBody } from "./meshGossip.ts";
import { encodeLine } from "./framing.ts";
import { assertP2POptions, type P2POptions } from "./options.ts";
import { isWsUrl } from "../consensus/wire.ts";
import { addressGroup, guardedLookup, inboundKey, isLocalHost, mayLearn } from "./learn.ts";
import { boundedLru } from "../util/lru.ts";
import { sleep, systemClock, systemRng, type Clock, type Rng, type Timer } from "../util/clock.ts";
import { WsTransport, type Connection, type Listener, type Transport } from "./transport.ts";
import { ADDRESS_BAN_AFTER, AddressScores, BanList, ByteBudget, DeadGroups, MAX_SERVE_DELAY_MS, InboundRate, PeerLog, SERVED_ADDRESSES_TRACKED, learnedPerGroup, outboundReserved } from "./limits.ts";

/** What the node supplies to the P2P layer. */
export interface P2PHandlers {
  /** our height and tip, for hello */
  status(): { height: number; tip_hash: string };
  onPeerReady(peer: Peer): void;
  /** gossip and status messages from a ready peer */
  onMessage(peer: Peer, msg: Message): void;
  /** answers a `req` in the MinerBlock sync protocol's envelope */
  onRequest(peer: Peer, path: string, data: unknown): Promise<ResEnvelope>;
  /** every message in or out, with its type and size in bytes (for metrics) */
  onTraffic?(direction: "in" | "out", type: string, bytes: number): void;
  /**
   * a gossip body no longer in the mesh gossip's cache, to answer an `iwant` (a block from the
   * store); undefined when not held
   */
  gossipBody?(kind: GossipKind, id: string): Promise<GossipBody | undefined>;
  /** a full gossip copy received after the first (metrics) */
  onGossipDuplicate?(kind: GossipKind): void;
  /** ids sent or received in `ihave`/`iwant` (metrics) */
  onGossipControl?(control: "ihave" | "iwant", direction: "in" | "out", ids: number): void;
}

/** Addresses at most a full node sends a refused inbound peer before closing it (docs/protocol.md §9.4). */
export const FULL_PEERS_SAMPLE = 32;

/** P2P server health, for /api/health. */
export interface P2PHealth {
  listening: boolean;
  port: number;
  ready_peers: number;
  handshaking: number;
  banned: number;
  server_error: string | null;
  /** outbound dials that failed (refused, unreachable, timed out) since start */
  dial_failures: number;
}

/**
 * A learned address whose dials fail this many times in a row (no connection, or one that closed
 * before it lasted backoffResetMs) is forgotten (it may be learned again).
 */
export const LEARNED_MAX_FAILURES = 5;

/**
 * A learned address whose node refused us with `too many peers` after a completed handshake is
 * forgotten at once (its slot in the learned table goes to another address, which may have room)
 * and is not learned again for this long (ms); after it, while the node has room, the keepalive
 * tick learns it again (a slot may have freed). Full nodes hand every refused peer a sample of
 * their addresses, so without it the same full nodes came straight back with a fresh backoff, and
 * a node short of peers in a full network signed and verified a handshake with them about every
 * second (docs/protocol.md §9.4).
 */
export const FULL_REFUSED_MS = 2 * 60_000;
/** Addresses refused as full remembered at most (the oldest go first). */
export const FULL_REFUSED_TRACKED = 1024;
/**
 * A configured address (never forgotten) refused with `too many peers` is dialled again no sooner
 * than this (ms), with jitter up to twice it: a full node stays full for a while.
 */
export const FULL_RETRY_MS = 30_000;

interface DialTarget {
  url: string;
  /** configured (`--peers`, bootnodes, addTarget): dialled whatever maxPeers says; learned ones wait for room */
  configured: boolean;
  attempt: number;
  /** dials in a row that failed, or whose connection closed before it lasted backoffResetMs */
  failures: number;
  /** learned ones: the host of the peer that shared it (what the address may resolve to depends on it) */
  learnedFrom?: string;
  /** learned ones: addressGroup of the sharing peer's host, and of this address's host */
  sourceGroup?: string;
  group?: string;
  ebid?: string;
  timer?: Timer;
  connecting: boolean;
  peer?: Peer;
}

/** The node's P2P service. `start()`/`stop()` are idempotent. */
export class PeerManager {
  private dialFailures = 0;
  private server?: Listener;
  /** a `start` binding the listener: a second start waits for it, and a stop closes what it bound */
  private starting?: Promise<void>;
  private readonly peers = new Set<Peer>();
  // Inbound peers' inboundKey and address group, worked out once: accept compares every inbound
  // peer's on each new connection, and working them out there costs ~10 µs a peer (IPv6).
  private readonly inboundKeys = new WeakMap<Peer, { key: string; group: string }>();
  // Bytes of replies served (docs/protocol.md §9.6): to each address (inboundKey) of a remote peer,
  // whatever keys it connects with, so fresh keys do not bring fresh budgets; to each connection
  // from this machine (local nodes and tools share its addresses).
  private readonly served = new WeakMap<Peer, ByteBudget>();
  /** inbound connections that replaced our dial of the same peer: they hold its outbound slot (§9.3) */
  private readonly outboundSlots = new WeakSet<Peer>();
  private readonly servedByAddress = boundedLru<string, ByteBudget>(SERVED_ADDRESSES_TRACKED);
  // Requests being answered per address (inboundKey) of remote peers; an entry lives while one is.
  private readonly inflightByAddress = new Map<string, number>();
  private readonly targets = new Map<string, DialTarget>();
  // Learned addresses refused as full (url -> when, and the host that shared it): not learned
  // again for FULL_REFUSED_MS, then learned again by the keepalive tick while there is room.
  private readonly refusedFull = boundedLru<string, { at: number; from: string }>(FULL_REFUSED_TRACKED);
  private readonly bans: BanList;
  // Addresses (inboundKey) banned because their fresh keys kept earning bans, and their scores.
  private readonly addressBans: BanList;
  private readonly addressScores: AddressScores;
  private readonly inboundRate = new InboundRate();
  private readonly deadGroups = new DeadGroups();
  private readonly peerLog: PeerLog;
  private keepalive?: Timer;
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly transport: Transport;
  private readonly parse: (line: string) => ParseResult;
  private listening = false;
  private serverError: string | null = null;
  private stopped = false;
  private boundPort = 0;
  /** mesh gossip (docs/protocol.md §9.5.1): to whom each block, attestation and transfer goes */
  readonly gossip: MeshGossip;
  // false: the owner calls gossipHeartbeat() every second (runtime.externalGossipHeartbeat)
  private readonly ownGossipHeartbeat: boolean;

  constructor(
    private readonly opts: P2POptions,
    private readonly identity: Omit<LocalIdentity, "listenPort">,
    private readonly handlers: P2PHandlers,
    private readonly log: Logger,
    /**
     * time and timers (keepalive, dial backoff, bans, budgets) and the dial jitter's randomness,
     * default the system's; the network listened and dialled on, default WebSockets (`WsTransport`);
     * `externalGossipHeartbeat`: the mesh gossip heartbeat runs only when the owner calls
     * `gossipHeartbeat()` (every second), not on a timer of its own; `parse`: how a received line
     * becomes a message, default `parseMessage` (a simulation's `FrameMemo`)
     */
    runtime: { clock?: Clock; rng?: Rng; transport?: Transport; externalGossipHeartbeat?: boolean; parse?: (line: string) => ParseResult } = {},
  ) {
    assertP2POptions(opts);
    this.clock = runtime.clock ?? systemClock;
    this.rng = runtime.rng ?? systemRng;
    this.transport = runtime.transport ?? new WsTransport();
    this.ownGossipHeartbeat = !runtime.externalGossipHeartbeat;
    this.parse = runtime.parse ?? parseMessage;
    this.bans = new BanList(opts.maxBans);
    this.addressBans = new BanList(opts.maxBans);
    this.addressScores = new AddressScores(opts.maxBans);
    this.peerLog = new PeerLog(log, this.clock);
    this.gossip = new MeshGossip({
      clock: this.clock,
      rng: this.rng,
      enabled: opts.meshGossip,
      penalize: (p, reason) => this.penalize(p, reason),
      body: handlers.gossipBody,
      chargeServed: (p, bytes) => this.chargeServed(p, bytes),
      onDuplicate: handlers.onGossipDuplicate,
      onControlIds: handlers.onGossipControl,
    });
  }

  /** Binds the server and starts dialling. @throws when the port cannot be bound */
  async start(): Promise<void> {
    if (this.server) return;
    this.starting ??= this.bind().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async bind(): Promise<void> {
    this.stopped = false;
    this.server = await this.transport.listen({
      host: this.opts.host,
      port: this.opts.port,
      maxPayloadBytes: this.opts.maxPayloadBytes,
      // Checked before the connection opens (WebSockets: before the upgrade), the cheapest point to say no.
      admit: (remote) => {
        if (this.addressBans.has(inboundKey(remote), this.clock.now())) return { status: 403, reason: "address banned" };
        if (!this.inboundRate.admit(remote, this.clock.now())) return { status: 429, reason: "too many new connections from this address, try later" };
        return undefined;
      },
      onConnection: (conn) => this.accept(conn),
      onError: (err) => {
        this.serverError = err.message;
        this.log.error({ err: err.message }, "P2P server error");
      },
      onClose: () => {
        this.listening = false;
        if (!this.stopped) this.log.error("P2P server stopped unexpectedly");
      },
    });
    this.listening = true;
    this.boundPort = this.server.port;
    this.keepalive = this.clock.setInterval(() => this.tickKeepalive(), this.opts.pingIntervalMs).unref();
    this.gossip.start(this.ownGossipHeartbeat);
    for (const url of this.opts.peers) this.addTarget(url);
    this.log.info({ port: this.boundPort, peers: this.opts.peers.length }, "P2P listening");
  }

  /** Closes every connection and the server. */
  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    if (!this.server) return;
    this.stopped = true;
    this.clock.clearInterval(this.keepalive);
    this.gossip.stop();
    for (const t of this.targets.values()) this.clock.clearTimeout(t.timer);
    this.targets.clear();
    for (const p of this.peers) p.close("node shutting down");
    const server = this.server;
    this.server = undefined;
    await server.close();
    this.listening = false;
  }

  /** The bound P2P port. */
  get port(): number {
    return this.boundPort;
  }

  /** Peers that completed the handshake. */
  readyPeers(): Peer[] {
    return [...this.peers].filter((p) => p.state === "ready");
  }

  /** Every connection, including handshakes in progress. */
  allPeers(): Peer[] {
    return [...this.peers];
  }

  /**
   * What to tell `except` in a `peers` message (docs/protocol.md §9.3 step 6): the addresses of the
   * other ready peers that we know reach them (Peer.shareUrl), at most 100, without repeats.
   */
  addressesFor(except?: Peer): string[] {
    const urls = new Set<string>();
    for (const p of this.readyPeers()) {
      const url = p === except ? undefined : p.shareUrl;
      if (url) urls.add(url);
    }
    return [...urls].slice(0, 100);
  }

  /**
   * A block, attestation or transfer arrived in full from `peer` (call before validating it): the
   * peer holds it, a fetch of it ends. Returns false for a copy seen before (a duplicate, counted).
   */
  gossipReceived(peer: Peer, kind: GossipKind, id: string): boolean {
    return this.gossip.received(peer, kind, id);
  }

  /**
   * The block, attestation or transfer with gossip id `id` that `peer` sent proved invalid (call it
   * with the strike): the id is no longer taken as seen, and peers that announced it are asked for
   * the real one (docs/protocol.md §9.5.1). A forged copy sent first must not hide the real message.
   */
  gossipRejected(peer: Peer, kind: GossipKind, id: string): void {
    this.gossip.rejected(peer, kind, id);
  }

  /**
   * Relays a block, attestation or transfer the node accepted, or publishes its own (docs/protocol.md
   * §9.5.1): in full to the mesh and to every peer without mesh gossip, announced to a few others;
   * never to a peer it came from. `id` is its gossip id (§9.5). `own`: the node made it or got it
   * over its API, so it goes in full to every peer (flood publishing, gossipsub v1.1). Returns the
   * full copies sent and skipped (slow readers, links past their gossip budget).
   */
  publish(kind: GossipKind, id: string, body: GossipBody, own = false): { sent: number; skipped: number } {
    return this.gossip.publish(kind, id, body, own);
  }

  /**
   * One mesh maintenance round (docs/protocol.md §9.5.1), for an owner that runs the heartbeat
   * itself (`externalGossipHeartbeat`: the node's 1 s heartbeat).
   */
  gossipHeartbeat(): void {
    this.gossip.heartbeat();
  }

  /**
   * Sends to every ready peer except `except`; slow readers are skipped. Returns how many got it.
   * The message is encoded once for all peers (the same line each would get from `Peer.send`).
   */
  broadcast(msg: object, except?: Peer): { sent: number; skipped: number } {
    let sent = 0;
    let skipped = 0;
    const type = (msg as { type?: string }).type ?? "unknown";
    let line: string | undefined;
    for (const p of this.readyPeers()) {
      if (p === except) continue;
      if (p.sendGossipLine((line ??= encodeLine(msg)), type)) sent++;
      else skipped++;
    }
    return { sent, skipped };
  }

  /**
   * Records a strike against a peer (invalid data). Past `maxStrikes` the peer is disconnected and
   * its EBID banned for `banMs`.
   */
  penalize(peer: Peer, reason: string): void {
    const now = this.clock.now();
    const forgiven = Math.floor((now - peer.strikesAt) / this.opts.strikeDecayMs);
    if (forgiven > 0) {
      peer.strikes = Math.max(0, peer.strikes - forgiven);
      peer.strikesAt += forgiven * this.opts.strikeDecayMs;
    }
    peer.strikes++;
    this.peerLog.line("warn", { peer: short(peer.ebid), strikes: peer.strikes, reason }, "Peer sent invalid data");
    if (peer.strikes >= this.opts.maxStrikes) {
      if (peer.ebid) this.bans.ban(peer.ebid, now, this.opts.banMs);
      this.scoreAddress(peer, now);
      peer.close(`banned after ${peer.strikes} strikes (last: ${reason})`);
    }
  }

  // An EBID ban counts against the peer's address too: past ADDRESS_BAN_AFTER of them within the
  // ban time, the address is banned (its new connections refused with 403 before the upgrade).
  // This machine never is: local tools and nodes share it.
  private scoreAddress(peer: Peer, now: number): void {
    if (this.opts.banMs === 0 || isLocalHost(peer.host)) return;
    const key = inboundKey(peer.host);
    if (this.addressScores.record(key, now, this.opts.banMs) < ADDRESS_BAN_AFTER) return;
    this.addressBans.ban(key, now, this.opts.banMs);
    this.peerLog.line("warn", { addr: key, ms: this.opts.banMs }, "Address banned");
  }

  /** Server health for /api/health. */
  health(): P2PHealth {
    const now = this.clock.now();
    return {
      listening: this.listening,
      port: this.boundPort,
      ready_peers: this.readyPeers().length,
      handshaking: [...this.peers].filter((p) => p.state === "handshaking").length,
      banned: this.bans.count(now),
      server_error: this.serverError,
      dial_failures: this.dialFailures,
    };
  }

  /**
   * Starts dialling `url` (ws://host:port) and keeps it connected. A configured target is dialled
   * even past `maxPeers`; a learned one (`configured` false) only while there is room, and a name
   * it has is dialled only if it resolves to a host no closer than `learnedFrom` (the sharing peer's host).
   */
  addTarget(url: string, configured = true, learnedFrom?: string): void {
    if (this.targets.has(url) || this.stopped) return;
    const t: DialTarget = { url, configured, attempt: 0, failures: 0, connecting: false, learnedFrom };
    if (learnedFrom !== undefined) {
      t.sourceGroup = addressGroup(learnedFrom);
      t.group = addressGroup(new URL(url).hostname);
    }
    this.targets.set(url, t);
    this.dial(t);
  }

  private identityFor(): LocalIdentity {
    return { ...this.identity, listenPort: this.boundPort, advertiseUrl: this.opts.advertiseUrl, gossip: this.opts.meshGossip ? GOSSIP_VERSION : undefined };
  }

  // An inbound connection is let in as a handshake, within the per-address cap and the handshake
  // caps; only once it is ready does it take a peer slot (ready()), so connections that never say
  // hello cannot fill the slots, however many addresses they come from.
  private accept(conn: Connection): void {
    // A connection whose upgrade finished after stop(): kept, it would hold the listener's close
    // (which waits for every connection) and the process open for good.
    if (this.stopped) return conn.terminate();
    const remote = conn.remoteAddress ?? "unknown";
    let handshaking = 0;
    let fromAddress = 0;
    let handshakingFromAddress = 0;
    const key = inboundKey(remote);
    for (const p of this.peers) {
      if (p.direction !== "inbound") continue;
      const same = this.inboundKeys.get(p)?.key === key;
      if (same) fromAddress++;
      if (p.state !== "handshaking") continue;
      handshaking++;
      if (same) handshakingFromAddress++;
    }
    if (fromAddress >= this.opts.maxInboundPerAddress) {
      this.log.debug({ addr: remote }, "Too many connections from one address");
      conn.close(1013, "too many connections from this address");
      return;
    }
    if (handshakingFromAddress >= this.opts.maxHandshakesPerAddress || (handshaking >= this.opts.maxHandshakes && !this.evictHandshake())) {
      this.log.debug({ addr: remote, handshaking }, "Too many handshakes in progress");
      conn.close(1013, "too many handshakes in progress");
      return;
    }
    this.inboundKeys.set(this.attach(conn, "inbound", remote), { key, group: groupOf(remote) });
  }

  // Handshake places full: the oldest handshake of the address group holding the most gives way to
  // the newcomer. An honest handshake takes a round trip; one that is still going when the places
  // run out is most likely held open, so a stranger holding every place from a few addresses
  // (16 each) cannot keep newcomers out: it would have to open maxHandshakes connections within
  // an honest handshake's round trip. Returns true when one was closed.
  private evictHandshake(): boolean {
    const largest = largestGroup(this.inboundByGroup((p) => p.state === "handshaking"));
    if (largest.length === 0) return false;
    const oldest = largest.reduce((a, b) => (b.connectedAt < a.connectedAt ? b : a));
    oldest.close("evicted: too many handshakes in progress");
    return true;
  }

  // The inbound peers that pass `keep`, by address group (addressGroup; this machine is one).
  private inboundByGroup(keep: (p: Peer) => boolean): Map<string, Peer[]> {
    const byGroup = new Map<string, Peer[]>();
    for (const p of this.peers) {
      if (p.direction !== "inbound" || this.outboundSlots.has(p) || !keep(p)) continue;
      const g = this.inboundKeys.get(p)?.group ?? groupOf(p.remoteAddress);
      let list = byGroup.get(g);
      if (!list) byGroup.set(g, (list = []));
      list.push(p); // not a spread copy: that is quadratic in the inbound connections of one group
    }
    return byGroup;
  }

  // Peer slots in use: every outbound connection and every ready inbound one (handshakes are capped
  // apart), but for `except`; `inbound` leaves out inbound connections that hold an outbound slot.
  private slotsUsed(except?: Peer): { all: number; inbound: number } {
    let all = 0;
    let inbound = 0;
    for (const p of this.peers) {
      if (p === except || (p.direction === "inbound" && p.state === "handshaking")) continue;
      all++;
      if (p.direction === "inbound" && !this.outboundSlots.has(p)) inbound++;
    }
    return { all, inbound };
  }

  // Inbound slots full: the group (addressGroup; this machine is one) holding the most ready inbound
  // peers gives up its newest one, if it holds at least two more than the newcomer's group, so one
  // stranger with a few addresses cannot keep every newcomer out. Returns true when a connection
  // was closed to make room.
  private evictForDiversity(newcomer: Peer): boolean {
    const used = this.slotsUsed(newcomer);
    if (used.all > this.opts.maxPeers) return false; // one eviction would not make room (configured dials past the limit)
    const byGroup = this.inboundByGroup((p) => p !== newcomer && p.state !== "handshaking");
    const largest = largestGroup(byGroup);
    const own = this.inboundKeys.get(newcomer)?.group ?? groupOf(newcomer.remoteAddress);
    if (largest.length < (byGroup.get(own)?.length ?? 0) + 2) return false;
    const newest = largest.reduce((a, b) => (b.connectedAt > a.connectedAt ? b : a));
    newest.close("evicted: its address group holds the most connections");
    return true;
  }

  private attach(conn: Connection, direction: "inbound" | "outbound", remote: string, target?: DialTarget, answeredFrom?: string): Peer {
    const peer = new Peer(conn, direction, remote, this.identityFor(), this.opts, {
      onReady: (p) => this.ready(p, target),
      onMessage: (p, msg) => this.message(p, msg),
      onStrike: (p, reason) => this.penalize(p, reason),
      onClose: (p, reason) => this.closed(p, reason, target),
      onTraffic: this.handlers.onTraffic,
    }, target?.url, answeredFrom, this.clock, this.parse);
    this.peers.add(peer);
    peer.start(this.handlers.status());
    return peer;
  }

  private ready(peer: Peer, target?: DialTarget): void {
    const ebid = peer.ebid!;
    if (this.bans.has(ebid, this.clock.now()) || this.addressBans.has(inboundKey(peer.host), this.clock.now())) {
      peer.close("banned");
      return;
    }
    if (target) {
      target.ebid = ebid;
      // Dialling an address reached a peer that advertises it: that claim is checked.
      for (const p of this.readyPeers()) if (p !== peer && p.ebid === ebid && p.hello?.advertise_url === target.url) p.advertiseVerified = true;
      if (peer.hello?.advertise_url === target.url) peer.advertiseVerified = true;
    }
    // One connection per EBID: both ends keep the one dialled by the lower EBID (the newer one when
    // both were dialled by the same side), so they always close the same connection. Settled before
    // the slot count: a new connection that replaces one to the same peer takes that peer's slot,
    // so a full node does not refuse it as "too many peers" while the other end, by this same rule,
    // drops the old one (both links would be lost).
    const dup = this.readyPeers().find((p) => p !== peer && p.ebid === ebid);
    if (dup) {
      const dialer = (p: Peer) => (p.direction === "outbound" ? this.identity.ebid : ebid);
      const keepNew = dialer(peer) === dialer(dup) ? true : dialer(peer) < dialer(dup);
      if (!keepNew) {
        peer.close("duplicate connection");
        return;
      }
      // The new connection takes the old one's slot, and its kind: an inbound one that replaces our
      // dial still counts as outbound (the outbound share stays ours), so the counts do not change.
      if (peer.direction === "inbound" && (dup.direction === "outbound" || this.outboundSlots.has(dup))) this.outboundSlots.add(peer);
    } else if (peer.direction === "inbound") {
      const used = this.slotsUsed(peer);
      const full = used.all >= this.opts.maxPeers || used.inbound >= this.opts.maxPeers - outboundReserved(this.opts.maxPeers);
      if (full && !this.evictForDiversity(peer)) {
        // A newcomer that dialled only full nodes would otherwise learn no address at all: it gets
        // a sample of ours first (learned under its own rules and limits, docs/protocol.md §9.4).
        const sample = this.sampleAddresses(this.addressesFor(peer), FULL_PEERS_SAMPLE);
        if (sample.length) peer.send({ type: "peers", peers: sample });
        peer.close("too many peers");
        return;
      }
    }
    dup?.close("duplicate connection");
    // At info only what we know ourselves; what the peer says of itself (agent, advertised address) at debug.
    this.peerLog.line("info", { peer: short(ebid), direction: peer.direction, addr: peer.dialUrl ?? peer.remoteAddress }, "Peer connected");
    this.log.debug({ peer: short(ebid), agent: peer.hello?.agent, advertise_url: peer.hello?.advertise_url, listen_url: peer.listenUrl }, "Peer details");
    // An inbound peer's advertise_url is checked by dialling it like a learned address (same limits)
    // before we pass it on.
    const advertised = peer.hello?.advertise_url;
    if (peer.direction === "inbound" && advertised && this.opts.discovery) this.learnAll(peer.host, [advertised]);
    this.gossip.addPeer(peer);
    this.handlers.onPeerReady(peer);
  }

  private message(peer: Peer, msg: Message): void {
    if (msg.type === "req") {
      // A peer gets a bounded share of our work: past the in-flight cap it is told to wait. The cap
      // holds per address for peers not on this machine (fresh keys are free, and each reply being
      // built holds up to a 2 MiB range in memory).
      const addr = isLocalHost(peer.host) ? undefined : inboundKey(peer.host);
      const inflight = addr === undefined ? peer.inflightRequests : (this.inflightByAddress.get(addr) ?? 0);
      if (inflight >= this.opts.maxInflightRequests) {
        peer.send({ type: "res", id: msg.id, ok: false, data: null, errors: ["busy: too many requests in flight"] });
        return;
      }
      // And a bounded share of our upload: replies wait for its byte budget, and past
      // MAX_SERVE_DELAY_MS of debt a request is refused (a 100-byte request can ask for megabytes).
      const budget = this.servedBudget(peer, addr);
      const wait = budget.waitMs(this.clock.now());
      if (wait > MAX_SERVE_DELAY_MS) {
        this.peerLog.line("warn", { peer: short(peer.ebid), retry_ms: wait }, "Request refused: served byte budget spent");
        peer.send({ type: "res", id: msg.id, ok: false, data: null, errors: [`busy: served byte budget spent, retry in ${wait} ms`] });
        return;
      }
      peer.inflightRequests++;
      if (addr !== undefined) this.inflightByAddress.set(addr, inflight + 1);
      this.handlers
        .onRequest(peer, msg.path, msg.data)
        .then(
          (res) => ({ type: "res", id: msg.id, ok: res.ok, data: res.data ?? null, errors: res.errors ?? null }),
          (e: unknown) => ({ type: "res", id: msg.id, ok: false, data: null, errors: [(e as Error).message] }),
        )
        .then(async (reply) => {
          const now = this.clock.now();
          const delay = budget.waitMs(now);
          // Other replies on the same budget (this address's other connections, this peer's other
          // requests) may have run it further into debt since the request came: past the busy
          // threshold it is busy now, so no reply waits longer than that (the asker's timeout).
          if (delay > MAX_SERVE_DELAY_MS) {
            peer.send({ type: "res", id: msg.id, ok: false, data: null, errors: [`busy: served byte budget spent, retry in ${delay} ms`] });
            return;
          }
          const line = encodeLine(reply); // serialized once: measured here, sent as is
          budget.spend(Buffer.byteLength(line), now);
          if (delay > 0) await sleep(this.clock, delay, undefined, { unref: true });
          peer.sendLine(line, "res");
        })
        .finally(() => {
          peer.inflightRequests--;
          if (addr === undefined) return;
          const n = (this.inflightByAddress.get(addr) ?? 1) - 1;
          if (n > 0) this.inflightByAddress.set(addr, n);
          else this.inflightByAddress.delete(addr);
        });
      return;
    }
    if (msg.type === "peers") {
      if (this.opts.discovery) this.learnAll(peer.host, msg.peers);
      return;
    }
    if (isGossipControl(msg.type)) return this.gossip.onControl(peer, msg as GossipMessage);
    this.handlers.onMessage(peer, msg);
  }

  // Bodies sent in answer to an `iwant` draw on the same served-byte budget as replies to requests:
  // false when it is more than MAX_SERVE_DELAY_MS in debt (the body is not sent).
  private chargeServed(peer: Peer, bytes: number): boolean {
    const budget = this.servedBudget(peer, isLocalHost(peer.host) ? undefined : inboundKey(peer.host));
    const now = this.clock.now();
    if (budget.waitMs(now) > MAX_SERVE_DELAY_MS) return false;
    budget.spend(bytes, now);
    return true;
  }

  // Up to `n` of `urls`, chosen at random (partial Fisher-Yates on the node's Rng).
  private sampleAddresses(urls: string[], n: number): string[] {
    const k = Math.min(n, urls.length);
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.rng.next() * (urls.length - i));
      [urls[i], urls[j]] = [urls[j]!, urls[i]!];
    }
    return urls.slice(0, k);
  }

  // The served-byte budget a peer's replies draw on: its address's (`key`, its inboundKey), or its
  // own when it is on this machine (`key` undefined). The caller has the key already.
  private servedBudget(peer: Peer, key: string | undefined): ByteBudget {
    let budget = key === undefined ? this.served.get(peer) : this.servedByAddress.get(key);
    if (budget) return budget;
    budget = new ByteBudget({ perSec: this.opts.servedBytesPerSec, burst: this.opts.servedBytesBurst }, this.clock.now());
    if (key === undefined) this.served.set(peer, budget);
    else this.servedByAddress.set(key, budget);
    return budget;
  }

  // Learned addresses are bounded by maxPeers (configured ones do not count against it), and one
  // group of hosts fills at most learnedPerGroup of them, both as sharer and as address: a stranger
  // with one address and many ports cannot fill the table with its own listeners. A group that had
  // as many learned addresses die within the hour takes none until it is over (DeadGroups).
  private learnAll(from: string, urls: readonly string[]): void {
    const cap = learnedPerGroup(this.opts.maxPeers);
    const source = addressGroup(from);
    // What we already reach, once per message rather than once per address in it.
    const reached = new Set(this.readyPeers().map((p) => p.inferredUrl));
    const perGroup = new Map<string, number>();
    const bump = (g: string | undefined) => g !== undefined && perGroup.set(g, (perGroup.get(g) ?? 0) + 1);
    let learned = 0;
    let fromSource = 0;
    for (const t of this.targets.values()) {
      if (t.configured) continue;
      learned++;
      if (source !== undefined && t.sourceGroup === source) fromSource++;
      bump(t.group);
    }
    for (const shared of urls) {
      if (learned >= this.opts.maxPeers || (source !== undefined && fromSource >= cap)) return;
      if (!isWsUrl(shared)) continue;
      // One spelling per endpoint (WHATWG URL: lower-case names, IPv4 in dotted decimal, no path),
      // so that 0xa.32.0.1, 012.32.0.1 and 10.32.0.1/ are one address, not three targets.
      const url = canonicalWsUrl(shared);
      if (!mayLearn(url, from)) continue;
      const group = addressGroup(new URL(url).hostname);
      if (group !== undefined && ((perGroup.get(group) ?? 0) >= cap || this.deadGroups.closed(group, this.clock.now(), cap))) continue;
      if (!this.learn(url, from, reached)) continue;
      learned++;
      fromSource++;
      bump(group);
    }
  }

  // Addresses learned from peers are dialled like configured ones, unless we already reach them.
  // Returns true when `url` became a new target.
  // `from`: the sharing peer's host. Only an address we know reaches a peer counts as reached (one
  // we dialled, or its IP with its listen port), never what a peer claims: a peer advertising an
  // honest node's address must not keep us from dialling that node. `reached`: the ready peers' inferredUrl.
  private learn(url: string, from: string, reached: ReadonlySet<string | undefined>): boolean {
    if (this.targets.has(url) || this.stopped) return false;
    if (reached.has(url)) return false;
    const refused = this.refusedFull.peek(url);
    if (refused !== undefined) {
      if (this.clock.now() - refused.at < FULL_REFUSED_MS) return false;
      this.refusedFull.delete(url);
    }
    if (url.endsWith(`:${this.boundPort}`) && /\/\/(127\.0\.0\.1|localhost|\[::1\])/.test(url)) return false;
    if (url === this.opts.advertiseUrl) return false; // ourselves, as we told others
    this.addTarget(url, false, from);
    return true;
  }

  // A learned address that keeps failing is dropped, so dead addresses cannot fill the learned table for good.
  private forgetIfDead(t: DialTarget): boolean {
    if (t.configured || t.failures < LEARNED_MAX_FAILURES) return false;
    this.clock.clearTimeout(t.timer);
    this.targets.delete(t.url);
    if (t.group !== undefined) this.deadGroups.record(t.group, this.clock.now());
    this.log.debug({ url: t.url, failures: t.failures }, "Learned address forgotten");
    return true;
  }

  private closed(peer: Peer, reason: string, target?: DialTarget): void {
    this.peers.delete(peer);
    this.gossip.removePeer(peer);
    if (peer.readyAt !== undefined && reason !== "duplicate connection") {
      this.peerLog.line("info", { peer: short(peer.ebid), reason }, "Peer disconnected");
    } else if (reason === "duplicate connection" || reason === "node shutting down") {
      this.log.debug({ peer: short(peer.ebid), reason }, "Connection closed");
    } else if (peer.ebid) {
      this.peerLog.line("warn", { peer: short(peer.ebid), reason }, "Peer refused");
    } else {
      this.peerLog.line("info", { addr: peer.remoteAddress, reason }, "Connection refused at handshake");
    }
    if (target && reason === "self-connection") {
      // A configured or learned address that turns out to be ourselves is never dialled again.
      this.clock.clearTimeout(target.timer);
      this.targets.delete(target.url);
    } else if (target) {
      target.connecting = false;
      target.peer = undefined;
      // A connection that ended before it lasted backoffResetMs counts as a failed dial (a node that
      // hangs up right after the handshake must not pin a learned address for good), unless it
      // only lost to a connection we already have with the same peer.
      const lasted = peer.readyAt !== undefined && (reason === "duplicate connection" || this.clock.now() - peer.readyAt >= this.opts.backoffResetMs);
      target.failures = lasted ? 0 : target.failures + 1;
      // Only after a completed handshake: a close before it proves nothing about the node (anyone
      // can send that reason), and goes the way of a failed dial.
      if (reason === "too many peers" && peer.readyAt !== undefined) {
        // A full node: a learned address makes room for another, a configured one waits a while.
        if (!target.configured) {
          this.clock.clearTimeout(target.timer);
          this.targets.delete(target.url);
          this.refusedFull.set(target.url, { at: this.clock.now(), from: target.learnedFrom ?? peer.host });
          return;
        }
        return this.scheduleDial(target, FULL_RETRY_MS * (1 + this.rng.next()));
      }
      if (this.forgetIfDead(target)) return;
      if (this.clock.now() - peer.connectedAt >= this.opts.backoffResetMs) target.attempt = 0;
      this.scheduleDial(target);
    }
  }

  private readyPeersHas(ebid: string): boolean {
    return this.readyPeers().some((p) => p.ebid === ebid);
  }

  private dial(t: DialTarget): void {
    if (this.stopped || t.connecting) return;
    // Already connected to this target's EBID (e.g. it dialled us): check again later.
    if (t.ebid && this.readyPeersHas(t.ebid)) return this.scheduleDial(t, this.opts.backoffCapMs / 4);
    // A learned address waits while connections (and dials about to become ones) fill maxPeers.
    if (!t.configured && this.slotsUsed().all + this.opensInFlight() >= this.opts.maxPeers) return this.scheduleDial(t);
    t.connecting = true;
    // A learned name is resolved through guardedLookup: it may not lead to a host closer than the peer that shared it.
    const lookup = t.learnedFrom === undefined ? {} : { lookup: guardedLookup(t.learnedFrom) };
    const from = this.opts.dialFrom ? { localAddress: this.opts.dialFrom } : {};
    this.transport.dial(t.url, { maxPayloadBytes: this.opts.maxPayloadBytes, handshakeTimeoutMs: this.opts.handshakeTimeoutMs, ...lookup, ...from }, {
      // The address that answered: a peer dialled by name is judged by it (its scope and group), as an inbound one is.
      // A dial that opens after stop() is dropped at once (nothing would ever close it).
      open: (conn) => (this.stopped ? conn.terminate() : void (t.peer = this.attach(conn, "outbound", t.url, t, conn.remoteAddress))),
      error: (err) => {
        t.connecting = false;
        t.failures++;
        this.dialFailures++;
        this.log.debug({ url: t.url, err: err.message, attempt: t.attempt }, "Dial failed");
        if (!this.forgetIfDead(t)) this.scheduleDial(t);
      },
    });
  }

  // Dials whose socket is not open yet: not in `peers`, but about to be.
  private opensInFlight(): number {
    let n = 0;
    for (const t of this.targets.values()) if (t.connecting && !t.peer) n++;
    return n;
  }

  // Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^attempt)].
  private scheduleDial(t: DialTarget, fixedMs?: number): void {
    if (this.stopped || !this.targets.has(t.url)) return;
    this.clock.clearTimeout(t.timer);
    const ceiling = Math.min(this.opts.backoffCapMs, this.opts.backoffBaseMs * 2 ** Math.min(t.attempt, 30));
    const delay = fixedMs ?? this.rng.next() * ceiling;
    t.attempt++;
    t.timer = this.clock.setTimeout(() => this.dial(t), delay).unref();
  }

  // Learns again up to two addresses refused as full longer than FULL_REFUSED_MS ago, the oldest
  // first, while peers and the learned addresses still being dialled leave room: a slot on them
  // may have freed since.
  private relearnRefused(now: number): void {
    if (!this.opts.discovery || this.stopped) return;
    let waiting = 0;
    for (const t of this.targets.values()) if (!t.configured && !t.peer) waiting++;
    if (waiting + this.slotsUsed().all >= this.opts.maxPeers) return;
    const due: [string, string][] = [];
    for (const url of this.refusedFull.rkeys()) {
      const r = this.refusedFull.peek(url)!;
      if (now - r.at < FULL_REFUSED_MS) break; // oldest first: the rest are younger
      due.push([url, r.from]);
      if (due.length === 2) break;
    }
    for (const [url, from] of due) {
      this.refusedFull.delete(url);
      this.learnAll(from, [url]);
    }
  }

  private tickKeepalive(): void {
    const now = this.clock.now();
    this.relearnRefused(now);
    this.bans.prune(now);
    this.addressBans.prune(now);
    this.inboundRate.prune(now);
    this.deadGroups.prune(now);
    this.peerLog.flush();
    for (const p of this.peers) {
      if (now - p.lastSeen > this.opts.idleTimeoutMs) {
        p.close("keepalive timeout");
        p.conn.terminate();
      } else if (p.conn.isOpen) {
        p.conn.ping();
      }
    }
  }
}

// The address group an inbound connection counts in for eviction; this machine is one.
function groupOf(addr: string): string {
  return addressGroup(addr) ?? "this machine";
}

/** `url` (a valid ws:// or wss:// URL) as WHATWG URL writes its origin: `ws://host:port`, the port left out when it is the default. */
function canonicalWsUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

function short(ebid?: string): string | undefined {
  return ebid?.slice(0, 12);
}

/** The longest of the groups (empty when there are none); the first of equals. */
function largestGroup(byGroup: Map<string, Peer[]>): Peer[] {
  let largest: Peer[] = [];
  for (const list of byGroup.values()) if (list.length > largest.length) largest = list;
  return largest;
}
