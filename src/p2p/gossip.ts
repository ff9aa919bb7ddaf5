/**
 * The gossip router (docs/protocol.md §9.5): a pure, transport-independent decision maker. Given the
 * ready peers, the messages and control messages they send and a clock, it says to whom a message
 * is pushed in full (the mesh, plus every peer without mesh support), to whom its id is announced
 * (`ihave`, a few peers outside the mesh), what to fetch from whom (`iwant`, after a delay, one
 * announcer at a time) and when to join or leave a peer's mesh (`graft`, `prune`). It holds no
 * message bodies and opens no socket: the caller sends what it is told through `send`, and answers
 * an `iwant` with the bodies of the ids `onIwant` returns.
 *
 * The mesh follows gossipsub v1.1 (degree D within [D_low, D_high], graft and prune with a backoff,
 * lazy `ihave`/`iwant` repair, penalties for broken promises); announce-then-fetch with one request
 * in flight per id follows Ethereum's eth/68 block and transaction announcements. With at most
 * D_high mesh-capable peers every one of them is in the mesh: a small network floods as before.
 */
import type { LRUCache } from "lru-cache";
import { boundedLru } from "../util/lru.ts";
import type { GossipKind, GossipMessage } from "./gossipMessages.ts";
import { MAX_GOSSIP_IDS, MAX_PRUNE_BACKOFF_MS } from "./gossipMessages.ts";

export type { GossipKind } from "./gossipMessages.ts";

/**
 * The time source the router runs on: milliseconds and one-shot timers. A subset of the node's
 * injectable clock (`now()`, `setTimeout`, `clearTimeout`; handles are opaque), so the system
 * clock, a virtual one or a test's event queue fits.
 */
export interface GossipClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Router parameters (docs/protocol.md §9.5; node policy). Times in ms. */
export interface GossipParams {
  /** mesh degree the heartbeat restores */
  d: number;
  /** below this many mesh peers the heartbeat grafts back up to `d` */
  dLow: number;
  /** above this many the heartbeat prunes down to `d` (a graft between two heartbeats is taken) */
  dHigh: number;
  /** non-mesh peers that get an `ihave` for each new message */
  dLazy: number;
  /**
   * kinds announced to every non-mesh peer that speaks mesh gossip, not only `dLazy` of them (as
   * eth/62..68 announce a block's hash to every peer they do not push it to): a node whose peers
   * all keep it out of their meshes (a newcomer connected only to busy hubs) still hears of each
   * block from every peer, and fetches it after `fetchDelayMs` instead of waiting for a status and
   * a sync. An `ihave` costs one id; blocks are few, attestations and transfers many.
   */
  announceAll: readonly GossipKind[];
  heartbeatMs: number;
  /** wait this long after the first `ihave` of an unseen id before asking for it */
  fetchDelayMs: number;
  /** an announcer that has not delivered an asked id within this is penalized and the next one asked */
  fetchTimeoutMs: number;
  /**
   * announcers asked for one id, at most: as many as are remembered (`maxAnnouncers`), so liars
   * that announce first cannot make the node give up before an honest announcer is asked
   */
  maxFetchTries: number;
  /** an announcer that broke a promise is asked after the others for this long (ms) */
  distrustMs: number;
  /** a pruned peer is not grafted again before this */
  pruneBackoffMs: number;
  /** ids remembered as seen (least recently used dropped first) */
  seenMax: number;
  /** ids waiting to be fetched, in all, past which only peers below their fair share add (at most twice this) */
  maxFetches: number;
  /** ids waiting to be fetched that one peer announced */
  maxPendingPerPeer: number;
  /** announcers remembered per waiting id */
  maxAnnouncers: number;
}

/** The defaults of docs/protocol.md §9.5. */
export const defaultGossipParams: Readonly<GossipParams> = Object.freeze({
  d: 6,
  dLow: 4,
  dHigh: 7,
  dLazy: 6,
  announceAll: Object.freeze(["block"]) as readonly GossipKind[],
  heartbeatMs: 1000,
  fetchDelayMs: 250,
  fetchTimeoutMs: 1000,
  maxFetchTries: 8,
  distrustMs: 60_000,
  pruneBackoffMs: 60_000,
  seenMax: 65_536,
  maxFetches: 4096,
  maxPendingPerPeer: 256,
  maxAnnouncers: 8,
});

/** What the router asks the caller to send: a control message, or `push` = send the full message with this id. */
export type GossipOut = GossipMessage | { type: "push"; kind: GossipKind; id: string };

/** Counters for metrics and tests. */
export interface GossipStats {
  pushes: number;
  announces: number;
  fetches: number;
  duplicates: number;
  brokenPromises: number;
}

/** The router's collaborators. */
export interface GossipDeps {
  clock: GossipClock;
  /** sends one message to one peer (the caller drops it if the peer is gone) */
  send(peer: string, out: GossipOut): void;
  /** a peer broke a rule of §9.5 (the caller counts a strike) */
  penalize?(peer: string, reason: string): void;
  /** random choices (mesh members, lazy peers): `next()` uniform in [0, 1); Math.random by default. The node's Rng fits. */
  rng?: { next(): number };
  params?: Partial<GossipParams>;
}

interface PeerState {
  /** sent `gossip: 1` in its hello: takes mesh control messages */
  mesh: boolean;
  /** not grafted (and its graft refused) before this time */
  backoffUntil: number;
  /** waiting fetches it announced */
  pending: number;
  /** when it last broke a promise (-Infinity: never) */
  brokeAt: number;
}

interface Seen {
  /** peers known to hold it: it came from them, or they announced it */
  holders: Set<string>;
  /** peers we announced it to (an `iwant` from anyone else is refused) */
  announced: Set<string>;
  /** peers we served it to after an `iwant` (once each) */
  served: Set<string>;
  /**
   * until it is relayed (found valid): peers that announced it and sent no copy, to ask if the copy
   * we got proves invalid ({@link GossipRouter.rejected}); undefined once relayed
   */
  announcers?: string[];
}

interface Fetch {
  kind: GossipKind;
  id: string;
  announcers: string[];
  asked: string | undefined;
  tries: number;
  timer: unknown;
}

const keyOf = (kind: GossipKind, id: string) => `${kind}:${id}`;

/** The router of one node (docs/protocol.md §9.5). Call `start()` to run the heartbeat, `stop()` to end it. */
export class GossipRouter {
  readonly params: GossipParams;
  readonly stats: GossipStats = { pushes: 0, announces: 0, fetches: 0, duplicates: 0, brokenPromises: 0 };
  private readonly peers = new Map<string, PeerState>();
  private readonly meshPeers = new Set<string>();
  private readonly seen: LRUCache<string, Seen>;
  private readonly fetches = new Map<string, Fetch>();
  private readonly random: () => number;
  private heartbeatTimer: unknown;

  /** Throws RangeError on parameters out of order (`dLow <= d <= dHigh`, positive sizes). */
  constructor(private readonly deps: GossipDeps) {
    const p = { ...defaultGossipParams, ...deps.params };
    if (!(p.dLow >= 1 && p.dLow <= p.d && p.d <= p.dHigh)) throw new RangeError(`gossip degrees must satisfy 1 <= d_low <= d <= d_high (got ${p.dLow}, ${p.d}, ${p.dHigh})`);
    if (p.seenMax < 1 || p.maxFetches < 1 || p.maxFetchTries < 1) throw new RangeError("gossip caps must be positive");
    this.params = p;
    this.random = deps.rng ? () => deps.rng!.next() : Math.random;
    this.seen = boundedLru<string, Seen>(p.seenMax);
  }

  /** Starts the mesh heartbeat (every `heartbeatMs`). */
  start(): void {
    if (this.heartbeatTimer !== undefined) return;
    const tick = () => {
      this.heartbeat();
      this.heartbeatTimer = this.deps.clock.setTimeout(tick, this.params.heartbeatMs);
    };
    this.heartbeatTimer = this.deps.clock.setTimeout(tick, this.params.heartbeatMs);
  }

  /** Stops the heartbeat and every pending fetch timer. */
  stop(): void {
    if (this.heartbeatTimer !== undefined) this.deps.clock.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    for (const f of this.fetches.values()) this.deps.clock.clearTimeout(f.timer);
    this.fetches.clear();
    for (const s of this.peers.values()) s.pending = 0;
  }

  /** The peers in the mesh now. */
  mesh(): string[] {
    return [...this.meshPeers];
  }

  /** Whether `id` of `kind` was seen (received or published) and is still remembered. */
  hasSeen(kind: GossipKind, id: string): boolean {
    return this.seen.has(keyOf(kind, id));
  }

  /**
   * A peer became ready. `mesh`: its hello said `gossip: 1`. A mesh peer is grafted at once while
   * the mesh is below its target (all peers in a small network, else `d`).
   */
  addPeer(peer: string, opts: { mesh: boolean }): void {
    if (this.peers.has(peer)) return;
    this.peers.set(peer, { mesh: opts.mesh, backoffUntil: 0, pending: 0, brokeAt: -Infinity });
    if (opts.mesh && this.meshPeers.size < this.target()) this.graft(peer);
  }

  /** A peer closed: it leaves the mesh, and fetches waiting on it move to the next announcer. */
  removePeer(peer: string): void {
    if (!this.peers.delete(peer)) return;
    this.meshPeers.delete(peer);
    for (const f of [...this.fetches.values()]) {
      f.announcers = f.announcers.filter((a) => a !== peer);
      if (f.asked === peer) {
        this.deps.clock.clearTimeout(f.timer);
        f.asked = undefined;
        this.ask(f);
      } else if (f.asked === undefined && f.announcers.length === 0) this.drop(f);
    }
  }

  /**
   * A full message arrived from `from`. Returns true the first time its id is seen (the caller
   * validates it, then calls `forward`), false for a duplicate (counted; the caller drops it).
   */
  received(from: string, kind: GossipKind, id: string): boolean {
    const key = keyOf(kind, id);
    const s = this.seen.get(key);
    if (s) {
      s.holders.add(from);
      this.noCopyFrom(s, from);
      this.stats.duplicates++;
      return false;
    }
    const fresh = this.markSeen(kind, id);
    fresh.holders.add(from);
    this.noCopyFrom(fresh, from);
    return true;
  }

  // A peer that sent a copy served it once: it is not asked again if the copy proves invalid.
  private noCopyFrom(s: Seen, from: string): void {
    const i = s.announcers?.indexOf(from) ?? -1;
    if (i >= 0) s.announcers!.splice(i, 1);
  }

  /**
   * The copy of `id` that `from` sent proved invalid (the caller strikes it): unless the id was
   * relayed meanwhile (a valid copy came), it is forgotten as seen, and the peers that announced it
   * without sending a copy are asked for it again. Gossip ids are claims until a copy validates (a
   * block's hash names its header only, a transfer's and an attestation's leave the signature out):
   * without this, a forged copy sent first cancelled the fetch of the real one and hid every later
   * announcement of it.
   */
  rejected(from: string, kind: GossipKind, id: string): void {
    const key = keyOf(kind, id);
    const s = this.seen.get(key);
    if (!s || s.announcers === undefined) return;
    this.seen.delete(key);
    for (const p of s.announcers) if (p !== from) this.onIhave(p, kind, [id]);
  }

  // The seen entry of an id (made when new): peers that announced it while it was being fetched
  // hold it, and the fetch ends.
  private markSeen(kind: GossipKind, id: string): Seen {
    const key = keyOf(kind, id);
    let s = this.seen.get(key);
    if (s) return s;
    this.seen.set(key, (s = { holders: new Set(), announced: new Set(), served: new Set(), announcers: [] }));
    const f = this.fetches.get(key);
    if (f) {
      for (const p of f.announcers) s.holders.add(p);
      if (f.asked !== undefined) s.holders.add(f.asked);
      s.announcers = f.asked === undefined ? [...f.announcers] : [f.asked, ...f.announcers];
      this.drop(f);
    }
    return s;
  }

  /**
   * Relays a message the node accepted (docs/protocol.md §9.5): the full message to every mesh peer
   * and every peer without mesh support, an `ihave` to `dLazy` other mesh-capable peers (to all of
   * them for the kinds in `announceAll`); never to a peer known to hold it.
   */
  forward(kind: GossipKind, id: string): void {
    const s = this.markSeen(kind, id);
    s.announcers = undefined; // relayed: valid, never rejected
    const lazy: string[] = [];
    for (const [peer, st] of this.peers) {
      if (s.holders.has(peer)) continue;
      if (!st.mesh || this.meshPeers.has(peer)) {
        this.stats.pushes++;
        this.deps.send(peer, { type: "push", kind, id });
      } else lazy.push(peer);
    }
    const announce = this.params.announceAll.includes(kind) ? lazy : this.sample(lazy, this.params.dLazy);
    for (const peer of announce) {
      s.announced.add(peer);
      this.stats.announces++;
      this.deps.send(peer, { type: "ihave", kind, ids: [id] });
    }
  }

  /**
   * Our own message (produced, submitted over HTTP): marked seen and pushed in full to every peer
   * (gossipsub v1.1's flood publishing: the first hop does not wait on anyone's mesh, and a
   * producer is not eclipsed by the few peers of its own mesh).
   */
  publish(kind: GossipKind, id: string): void {
    const s = this.markSeen(kind, id);
    s.announcers = undefined; // ours: valid, never rejected
    for (const peer of this.peers.keys()) {
      if (s.holders.has(peer)) continue;
      this.stats.pushes++;
      this.deps.send(peer, { type: "push", kind, id });
    }
  }

  /**
   * An `ihave`: each unseen id is fetched after `fetchDelayMs` unless a copy arrives first. A peer's
   * waiting ids past `maxPendingPerPeer` are ignored, and with `maxFetches` ids waiting in all, new
   * ids from a peer holding its fair share (`maxFetches` / peers) or more.
   */
  onIhave(from: string, kind: GossipKind, ids: readonly string[]): void {
    const st = this.peers.get(from);
    if (!st) return;
    if (!st.mesh) return this.deps.penalize?.(from, "ihave from a peer without mesh gossip");
    if (ids.length > MAX_GOSSIP_IDS) return this.deps.penalize?.(from, `ihave with more than ${MAX_GOSSIP_IDS} ids`);
    for (const id of ids) {
      const key = keyOf(kind, id);
      const s = this.seen.get(key);
      if (s) {
        s.holders.add(from);
        if (s.announcers && s.announcers.length < this.params.maxAnnouncers && !s.announcers.includes(from)) s.announcers.push(from);
        continue;
      }
      if (st.pending >= this.params.maxPendingPerPeer) return;
      let f = this.fetches.get(key);
      if (!f) {
        // Full: only a peer below its fair share of the table may add (the table stays under twice
        // maxFetches), so a few sybils at maxPendingPerPeer each cannot keep every other announcer out.
        if (this.fetches.size >= this.params.maxFetches && st.pending >= Math.floor(this.params.maxFetches / this.peers.size)) return;
        f = { kind, id, announcers: [], asked: undefined, tries: 0, timer: undefined };
        this.fetches.set(key, f);
        const fetch = f;
        // The delay waits for a mesh copy: with fewer than d_low mesh peers few are coming, so ask now.
        f.timer = this.deps.clock.setTimeout(() => this.ask(fetch), this.meshPeers.size < this.params.dLow ? 0 : this.params.fetchDelayMs);
      }
      if (f.announcers.includes(from) || f.asked === from || f.announcers.length >= this.params.maxAnnouncers) continue;
      f.announcers.push(from);
      st.pending++;
    }
  }

  /**
   * An `iwant`: returns the ids to answer with full messages, each one we announced to `from` and
   * not served to it before. Asking for a known id never announced to it is penalized; an id no
   * longer (or never) seen is not served and not penalized: strangers' fresh ids (unbonded
   * attestations cost them no strike) can churn the seen set between our `ihave` and an honest
   * peer's `iwant`, and that peer must not be struck for it.
   */
  onIwant(from: string, kind: GossipKind, ids: readonly string[]): string[] {
    const st = this.peers.get(from);
    if (!st) return [];
    if (!st.mesh) {
      this.deps.penalize?.(from, "iwant from a peer without mesh gossip");
      return [];
    }
    const serve: string[] = [];
    let unasked = false;
    for (const id of ids.slice(0, MAX_GOSSIP_IDS)) {
      const s = this.seen.get(keyOf(kind, id));
      if (!s) continue;
      if (!s.announced.has(from)) {
        unasked = true;
        continue;
      }
      if (s.served.has(from)) continue;
      s.served.add(from);
      serve.push(id);
    }
    if (unasked || ids.length > MAX_GOSSIP_IDS) this.deps.penalize?.(from, "iwant for an id not announced to it");
    return serve;
  }

  /** A `graft`: joins the peer's mesh, or refuses with a `prune` when the peer is in backoff (penalized then). */
  onGraft(from: string): void {
    const st = this.peers.get(from);
    if (!st || !st.mesh || this.meshPeers.has(from)) return;
    const now = this.deps.clock.now();
    if (now < st.backoffUntil) {
      this.deps.penalize?.(from, "graft during prune backoff");
      return this.prune(from);
    }
    this.meshPeers.add(from);
  }

  /** A `prune`: the peer leaves the mesh and is not grafted again for its backoff (at least ours, at most the cap). */
  onPrune(from: string, backoffMs: number): void {
    const st = this.peers.get(from);
    if (!st) return;
    this.meshPeers.delete(from);
    const wait = Math.min(MAX_PRUNE_BACKOFF_MS, Math.max(this.params.pruneBackoffMs, backoffMs));
    st.backoffUntil = this.deps.clock.now() + wait;
  }

  /** One mesh maintenance round (run by `start()`; public for tests). */
  heartbeat(): void {
    const now = this.deps.clock.now();
    const target = this.target();
    const low = target === this.params.d ? this.params.dLow : target;
    if (this.meshPeers.size < low) {
      const candidates = [...this.peers].filter(([p, st]) => st.mesh && !this.meshPeers.has(p) && now >= st.backoffUntil).map(([p]) => p);
      for (const p of this.sample(candidates, target - this.meshPeers.size)) this.graft(p);
    }
    // Oversubscribed: the d_low longest in the mesh stay (the set keeps join order), random others
    // go down to d. Pruning all at random let sybils that graft again after every backoff replace
    // the honest members within minutes; now they take at most d - d_low seats. Pruning only the
    // newest left late joiners in no mesh at all (the 1,000-node bench ended with a mesh of 0).
    if (this.meshPeers.size > this.params.dHigh) {
      const members = [...this.meshPeers];
      for (const p of this.sample(members.slice(this.params.dLow), members.length - this.params.d)) this.prune(p);
    }
  }

  /** The mesh size aimed at: every mesh-capable peer when there are at most `dHigh`, else `d`. */
  private target(): number {
    let capable = 0;
    for (const st of this.peers.values()) if (st.mesh) capable++;
    return capable <= this.params.dHigh ? capable : this.params.d;
  }

  private graft(peer: string): void {
    this.meshPeers.add(peer);
    this.deps.send(peer, { type: "graft" });
  }

  private prune(peer: string): void {
    this.meshPeers.delete(peer);
    const st = this.peers.get(peer);
    if (st) st.backoffUntil = this.deps.clock.now() + this.params.pruneBackoffMs;
    this.deps.send(peer, { type: "prune", backoff_ms: this.params.pruneBackoffMs });
  }

  /**
   * Asks the next announcer for a waiting id (the first that has not broken a promise within
   * `distrustMs`, else the first), or gives up after `maxFetchTries` or when none is left.
   */
  private ask(f: Fetch): void {
    if (this.fetches.get(keyOf(f.kind, f.id)) !== f) return;
    const now = this.deps.clock.now();
    if (f.asked !== undefined) {
      this.stats.brokenPromises++;
      this.deps.penalize?.(f.asked, `announced ${f.kind} ${f.id} and did not deliver it`);
      const st = this.peers.get(f.asked);
      if (st) st.brokeAt = now;
      if (st && st.pending > 0) st.pending--;
      f.asked = undefined;
    }
    const trusted = f.announcers.findIndex((a) => now - (this.peers.get(a)?.brokeAt ?? -Infinity) >= this.params.distrustMs);
    const next = f.announcers.splice(Math.max(0, trusted), 1)[0];
    if (next === undefined || f.tries >= this.params.maxFetchTries) return this.drop(f, next);
    f.asked = next;
    f.tries++;
    this.stats.fetches++;
    this.deps.send(next, { type: "iwant", kind: f.kind, ids: [f.id] });
    f.timer = this.deps.clock.setTimeout(() => this.ask(f), this.params.fetchTimeoutMs);
  }

  private drop(f: Fetch, alsoRelease?: string): void {
    this.deps.clock.clearTimeout(f.timer);
    this.fetches.delete(keyOf(f.kind, f.id));
    for (const p of [...f.announcers, f.asked, alsoRelease]) {
      const st = p === undefined ? undefined : this.peers.get(p);
      if (st && st.pending > 0) st.pending--;
    }
  }

  /** Up to `n` distinct entries of `xs`, uniformly (partial Fisher-Yates on a copy). */
  private sample<T>(xs: readonly T[], n: number): T[] {
    const a = [...xs];
    const k = Math.min(n, a.length);
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.random() * (a.length - i));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a.slice(0, k);
  }
}
