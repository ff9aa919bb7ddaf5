/**
 * Mesh gossip on live peers (docs/protocol.md §9.5.1): the PeerManager's one `GossipRouter` (gossip.ts,
 * the pure decision maker) bound to `Peer` connections. It keeps what the router does not: the
 * bodies of recent messages by gossip id (to answer `iwant`), the `ihave`/`iwant` ids waiting to be
 * sent to each peer (gathered into one control message per kind, at most every FLUSH_MS), and what
 * one peer may draw from us by `iwant` (bodies per second, and the served-byte budget that replies
 * to its requests draw on too). Peers whose hello carried no `gossip` are flooded as before.
 */
import type { LRUCache } from "lru-cache";
import { boundedLru } from "../util/lru.ts";
import type { Peer } from "./peer.ts";
import { encodeLine } from "./framing.ts";
import { GossipRouter, type GossipKind, type GossipOut, type GossipParams } from "./gossip.ts";
import { MAX_GOSSIP_IDS, type GossipMessage } from "./gossipMessages.ts";
import type { Clock, Rng, Timer } from "../util/clock.ts";
import { TokenBucket, type TokenBucketLimits } from "../util/tokenBucket.ts";

/**
 * ms between two flushes of the waiting `ihave`/`iwant` ids (all peers at once): at most 20 of each
 * kind per second to a peer, within its 100/s. A flush more than FLUSH_MS after the last one runs
 * at once (a microtask: what one incoming message made goes out together, no timer).
 */
export const FLUSH_MS = 50;

/**
 * Bodies one peer may take from us by `iwant`, per second and at once (docs/protocol.md §9.5.1). The
 * router serves only ids we announced to it, once each; this bounds what a peer that is announced
 * everything can pull (each body is also charged to the served-byte budget of §9.6).
 */
export const IWANT_SERVED: TokenBucketLimits = { perSec: 400, burst: 1000 };

/**
 * At most one strike per this many ms for an announcer's broken promises (docs/protocol.md §9.5.1):
 * a peer that announced many ids and then stalls (or lied about all of them) earns one a second,
 * so it is banned after about maxStrikes seconds of it, not at once for one slow reply.
 */
export const PROMISE_STRIKE_MS = 1000;

/** Bodies kept to answer `iwant`, per kind (least recently used dropped first). Blocks also come from the store. */
export const BODY_CACHE: Readonly<Record<GossipKind, number>> = Object.freeze({ block: 64, attestation: 8192, tx: 8192 });

/** A gossip message in full, as it goes on the wire. */
export type GossipBody = { type: "block"; block: { hash: string } } | { type: "attestation"; attestation: object } | { type: "tx"; tx: object };

/** Counters of what mesh gossip did, by kind where it has one (metrics, tests). */
export interface MeshGossipStats {
  /** full copies received after the first, by kind */
  duplicates: Record<GossipKind, number>;
  /** ids in `ihave`/`iwant` sent and received */
  ihaveSent: number;
  ihaveReceived: number;
  iwantSent: number;
  iwantReceived: number;
  /** bodies sent in answer to an `iwant` */
  served: number;
  /** ids asked by `iwant` we did not answer: over the peer's budget, or no longer held */
  refused: number;
  /** announcers that did not deliver an asked id in time */
  brokenPromises: number;
}

/** What mesh gossip needs from the PeerManager. */
export interface MeshGossipDeps {
  clock: Clock;
  rng: Rng;
  /** false: no mesh, every message flooded to every ready peer (a node before §9.5.1) */
  enabled: boolean;
  /** a strike against `peer` (a rule of §9.5.1 broken) */
  penalize(peer: Peer, reason: string): void;
  /** a body no longer cached (blocks: from the store); undefined when not held */
  body?(kind: GossipKind, id: string): Promise<GossipBody | undefined>;
  /**
   * charges `bytes` served to `peer` against its served-byte budget (docs/protocol.md §9.6); false
   * when the budget is too far in debt to serve now
   */
  chargeServed?(peer: Peer, bytes: number): boolean;
  /** every duplicate full copy received (metrics) */
  onDuplicate?(kind: GossipKind): void;
  /** ids sent or received in control messages (metrics) */
  onControlIds?(control: "ihave" | "iwant", direction: "in" | "out", ids: number): void;
  params?: Partial<GossipParams>;
}

interface Outbox {
  ihave: Map<GossipKind, string[]>;
  iwant: Map<GossipKind, string[]>;
}

/** The mesh gossip of one PeerManager. Peers are added once ready and removed once closed. */
export class MeshGossip {
  readonly router: GossipRouter;
  readonly stats: MeshGossipStats = {
    duplicates: { block: 0, attestation: 0, tx: 0 },
    ihaveSent: 0, ihaveReceived: 0, iwantSent: 0, iwantReceived: 0, served: 0, refused: 0, brokenPromises: 0,
  };
  private readonly ids = new WeakMap<Peer, string>();
  private readonly byId = new Map<string, Peer>();
  private readonly outboxes = new Map<Peer, Outbox>();
  /** a flush is due (a microtask or flushTimer) */
  private flushDue = false;
  private flushTimer?: Timer;
  private lastFlush = -Infinity;
  private stopped = false;
  private readonly servedRate = new WeakMap<Peer, TokenBucket>();
  private readonly promiseStrikeAt = new WeakMap<Peer, number>();
  private readonly bodies: Record<GossipKind, LRUCache<string, GossipBody>>;
  private nextId = 0;
  /** the message being forwarded, encoded once for every push */
  private current?: { kind: GossipKind; id: string; body: GossipBody; line?: string; sent: number; skipped: number };

  constructor(private readonly deps: MeshGossipDeps) {
    const clock = deps.clock;
    this.router = new GossipRouter({
      // unref'd: the heartbeat and fetch timers never keep the process alive
      clock: { now: () => clock.now(), setTimeout: (fn, ms) => clock.setTimeout(fn, ms).unref(), clearTimeout: (t) => clock.clearTimeout(t as Timer | undefined) },
      rng: deps.rng,
      params: deps.params,
      send: (id, out) => {
        const peer = this.byId.get(id);
        if (peer) this.send(peer, out);
      },
      penalize: (id, reason) => {
        const peer = this.byId.get(id);
        if (!peer) return;
        if (reason.startsWith("announced ")) {
          this.stats.brokenPromises++;
          const last = this.promiseStrikeAt.get(peer);
          if (last !== undefined && clock.now() - last < PROMISE_STRIKE_MS) return;
          this.promiseStrikeAt.set(peer, clock.now());
        }
        deps.penalize(peer, reason);
      },
    });
    this.bodies = {
      block: boundedLru(BODY_CACHE.block),
      attestation: boundedLru(BODY_CACHE.attestation),
      tx: boundedLru(BODY_CACHE.tx),
    };
  }

  /**
   * Starts mesh gossip; with `ownHeartbeat` (default) the router's heartbeat runs on its own timer,
   * else the owner calls {@link heartbeat} every `heartbeatMs` (a node's 1 s heartbeat: one timer
   * fewer per node, which a simulation of many nodes pays for).
   */
  start(ownHeartbeat = true): void {
    this.stopped = false;
    if (ownHeartbeat) this.router.start();
  }

  /** One mesh maintenance round (docs/protocol.md §9.5.1). */
  heartbeat(): void {
    if (!this.stopped) this.router.heartbeat();
  }

  /** Stops the heartbeat, pending fetches and flushes. */
  stop(): void {
    this.stopped = true;
    this.router.stop();
    this.deps.clock.clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.flushDue = false;
    this.outboxes.clear();
  }

  /** Peers in the mesh now. */
  meshSize(): number {
    return this.router.mesh().length;
  }

  /** Whether `peer` is in the mesh. */
  inMesh(peer: Peer): boolean {
    const id = this.ids.get(peer);
    return id !== undefined && this.router.mesh().includes(id);
  }

  /** A peer became ready: a mesh peer when both sides speak mesh gossip (its hello's `gossip` >= 1). */
  addPeer(peer: Peer): void {
    if (this.ids.has(peer)) return;
    const id = `p${++this.nextId}`;
    this.ids.set(peer, id);
    this.byId.set(id, peer);
    this.router.addPeer(id, { mesh: this.deps.enabled && (peer.hello?.gossip ?? 0) >= 1 });
  }

  /** A peer closed. */
  removePeer(peer: Peer): void {
    const id = this.ids.get(peer);
    if (id === undefined) return;
    this.router.removePeer(id);
    this.byId.delete(id);
    this.outboxes.delete(peer);
  }

  /**
   * A full message arrived from `peer` (before the node validates it). Records that the peer holds
   * it and cancels a fetch of it. Returns false when it was seen before (a duplicate, counted).
   */
  received(peer: Peer, kind: GossipKind, id: string): boolean {
    const pid = this.ids.get(peer);
    if (pid === undefined) return true;
    const first = this.router.received(pid, kind, id);
    if (!first) {
      this.stats.duplicates[kind]++;
      this.deps.onDuplicate?.(kind);
    }
    return first;
  }

  /**
   * The copy of `id` that `peer` sent proved invalid (the caller strikes it): unless a valid copy was
   * relayed meanwhile, the id is no longer seen and its other announcers are asked for it
   * (GossipRouter.rejected).
   */
  rejected(peer: Peer, kind: GossipKind, id: string): void {
    const pid = this.ids.get(peer);
    if (pid !== undefined) this.router.rejected(pid, kind, id);
  }

  /**
   * Sends a message the node accepted or made (docs/protocol.md §9.5.1): in full to the mesh and to
   * peers without mesh gossip, announced to a few others, never to a peer known to hold it (`from`
   * included); with `own` (the node made it, or got it over its API) in full to every peer instead
   * (flood publishing). The body is kept to answer `iwant`. Returns the full copies sent, and those skipped
   * (slow reader, or the link's gossip budget spent).
   */
  publish(kind: GossipKind, id: string, body: GossipBody, own = false): { sent: number; skipped: number } {
    this.bodies[kind].set(id, body);
    const c = (this.current = { kind, id, body, sent: 0, skipped: 0 } as NonNullable<MeshGossip["current"]>);
    try {
      if (own) this.router.publish(kind, id);
      else this.router.forward(kind, id);
    } finally {
      this.current = undefined;
    }
    return { sent: c.sent, skipped: c.skipped };
  }

  /** A control message from a ready peer. */
  onControl(peer: Peer, msg: GossipMessage): void {
    const id = this.ids.get(peer);
    if (id === undefined) return;
    switch (msg.type) {
      case "graft":
        return this.router.onGraft(id);
      case "prune":
        return this.router.onPrune(id, msg.backoff_ms);
      case "ihave":
        this.stats.ihaveReceived += msg.ids.length;
        this.deps.onControlIds?.("ihave", "in", msg.ids.length);
        return this.router.onIhave(id, msg.kind, msg.ids);
      case "iwant": {
        this.stats.iwantReceived += msg.ids.length;
        this.deps.onControlIds?.("iwant", "in", msg.ids.length);
        const serve = this.router.onIwant(id, msg.kind, msg.ids);
        if (serve.length) void this.serve(peer, msg.kind, serve);
        return;
      }
    }
  }

  // Answers an iwant with the bodies, within the peer's bodies-per-second bucket and served-byte budget.
  private async serve(peer: Peer, kind: GossipKind, ids: string[]): Promise<void> {
    let bucket = this.servedRate.get(peer);
    if (!bucket) this.servedRate.set(peer, (bucket = new TokenBucket(IWANT_SERVED, this.deps.clock.now())));
    for (const id of ids) {
      if (peer.state !== "ready") return;
      if (!bucket.take(this.deps.clock.now())) {
        this.stats.refused++;
        continue;
      }
      const body = this.bodies[kind].get(id) ?? (await this.deps.body?.(kind, id).catch(() => undefined));
      if (!body) {
        this.stats.refused++;
        continue;
      }
      const line = encodeLine(body);
      if (this.deps.chargeServed && !this.deps.chargeServed(peer, Buffer.byteLength(line))) {
        this.stats.refused++;
        continue;
      }
      if (peer.sendLine(line, body.type)) this.stats.served++;
    }
  }

  private send(peer: Peer, out: GossipOut): void {
    switch (out.type) {
      case "push": {
        const c = this.current;
        if (!c || c.kind !== out.kind || c.id !== out.id) return; // the router pushes only within publish()
        c.line ??= encodeLine(c.body);
        if (peer.sendGossipLine(c.line, c.body.type)) c.sent++;
        else c.skipped++;
        return;
      }
      case "graft":
      case "prune":
        peer.send(out);
        return;
      case "ihave":
      case "iwant":
        this.queue(peer, out.type, out.kind, out.ids);
        return;
    }
  }

  // ihave and iwant ids wait for the next flush: one message per peer and kind, at most every FLUSH_MS.
  private queue(peer: Peer, control: "ihave" | "iwant", kind: GossipKind, ids: readonly string[]): void {
    if (this.stopped) return;
    let o = this.outboxes.get(peer);
    if (!o) this.outboxes.set(peer, (o = { ihave: new Map(), iwant: new Map() }));
    const list = o[control].get(kind);
    if (list) list.push(...ids);
    else o[control].set(kind, [...ids]);
    if (this.flushDue) return;
    this.flushDue = true;
    const wait = this.lastFlush + FLUSH_MS - this.deps.clock.now();
    if (wait <= 0) queueMicrotask(() => this.flushAll());
    else this.flushTimer = this.deps.clock.setTimeout(() => this.flushAll(), wait).unref();
  }

  private flushAll(): void {
    this.flushTimer = undefined;
    if (!this.flushDue || this.stopped) return;
    this.flushDue = false;
    this.lastFlush = this.deps.clock.now();
    const boxes = [...this.outboxes];
    this.outboxes.clear();
    for (const [peer, o] of boxes) this.flush(peer, o);
  }

  private flush(peer: Peer, o: Outbox): void {
    for (const control of ["ihave", "iwant"] as const) {
      for (const [kind, ids] of o[control]) {
        for (let i = 0; i < ids.length; i += MAX_GOSSIP_IDS) {
          const chunk = ids.slice(i, i + MAX_GOSSIP_IDS);
          const msg = { type: control, kind, ids: chunk };
          // An ihave is best effort (dropped past the link's gossip budget: the mesh still pushes);
          // an iwant is a request the router waits on, never dropped (at most 256 ids per announcer).
          const sent = control === "ihave" ? peer.send(msg, true) : peer.send(msg);
          if (!sent) continue;
          if (control === "ihave") this.stats.ihaveSent += chunk.length;
          else this.stats.iwantSent += chunk.length;
          this.deps.onControlIds?.(control, "out", chunk.length);
        }
      }
    }
  }
}
