/**
 * An in-memory gossip network for tests and the `gossip` benchmark: N nodes on a random graph
 * (each dials `outbound` random others, at most `maxPeers` links a node, as docs/protocol.md §9.4),
 * a fixed delay per link, one simulated clock and event queue. Each node runs either today's flood
 * (every new message to every peer but the one it came from) or the mesh router of
 * src/p2p/gossip.ts. It measures, per message, when each node first got it, over how many hops,
 * and how many full copies it received.
 */
import { GossipRouter, type GossipClock, type GossipKind, type GossipOut, type GossipParams } from "../../src/p2p/gossip.ts";

/** Simulation settings. Times in ms. */
export interface SimOptions {
  nodes: number;
  outbound: number;
  maxPeers: number;
  minDelayMs: number;
  maxDelayMs: number;
  /** time a node takes to validate a new message before relaying it */
  processMs: number;
  mode: "flood" | "mesh";
  seed: number;
  /** time before the first message (the mesh forms) */
  warmupMs: number;
  /** messages published, one every `spacingMs` from a random node */
  messages: number;
  spacingMs: number;
  params?: Partial<GossipParams>;
  /** share of nodes (mesh mode) that do not support the mesh: they and their links are flooded */
  legacyShare?: number;
  /**
   * share of hostile nodes (mesh mode): they take part in the mesh and announce every message they
   * get to every peer, but never relay one nor answer an `iwant` (never the origin)
   */
  silentShare?: number;
}

/** Figures of one message. */
export interface MessageResult {
  /** nodes that got it, the origin included */
  reached: number;
  /** nodes that are not silent and got it */
  reachedHonest: number;
  /** ms from publication until it reached each node (origin 0), sorted */
  arrivalsMs: number[];
  /** hops of each node's first copy (origin 0) */
  hops: number[];
  /** full copies each node received beyond its first (the origin's count too) */
  duplicates: number[];
  /** `ihave` messages received, in all */
  announces: number;
}

/** Result of a run. */
export interface SimResult {
  messages: MessageResult[];
  /** links in the graph */
  links: number;
  /** the largest number of peers of one node */
  maxDegree: number;
  /** mesh sizes at the end (mesh mode) */
  meshSizes: number[];
  /** nodes that are not silent */
  honest: number;
  /** `iwant`s sent, broken promises and penalties counted by the routers */
  fetches: number;
  brokenPromises: number;
}

/** A small seeded generator (mulberry32): uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Ev {
  t: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A min-heap event queue with a clock the routers share. */
export class EventQueue implements GossipClock {
  private heap: Ev[] = [];
  private seq = 0;
  private t = 0;

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): Ev {
    const ev = { t: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.push(ev);
    return ev;
  }

  clearTimeout(handle: unknown): void {
    if (handle) (handle as Ev).cancelled = true;
  }

  /** Runs every event due up to `until`, then sets the clock there. */
  runUntil(until: number): void {
    while (this.heap.length > 0 && this.heap[0]!.t <= until) {
      const ev = this.pop();
      this.t = ev.t;
      if (!ev.cancelled) ev.fn();
    }
    this.t = until;
  }

  private less(a: Ev, b: Ev): boolean {
    return a.t < b.t || (a.t === b.t && a.seq < b.seq);
  }

  private push(ev: Ev): void {
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Ev {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** A random graph: node i dials `outbound` others that still have room; returns adjacency with delays. */
export function randomGraph(o: Pick<SimOptions, "nodes" | "outbound" | "maxPeers" | "minDelayMs" | "maxDelayMs">, random: () => number): Map<number, number>[] {
  const adj: Map<number, number>[] = Array.from({ length: o.nodes }, () => new Map());
  for (let i = 0; i < o.nodes; i++) {
    let dialled = 0;
    for (let attempt = 0; dialled < o.outbound && attempt < 50 * o.outbound; attempt++) {
      const j = Math.floor(random() * o.nodes);
      if (j === i || adj[i]!.has(j) || adj[j]!.size >= o.maxPeers || adj[i]!.size >= o.maxPeers) continue;
      const delay = o.minDelayMs + random() * (o.maxDelayMs - o.minDelayMs);
      adj[i]!.set(j, delay);
      adj[j]!.set(i, delay);
      dialled++;
    }
  }
  return adj;
}

const idOf = (n: number) => n.toString(16).padStart(64, "0");

/** Runs one simulation (see SimOptions). */
export function simulate(o: SimOptions): SimResult {
  const random = seededRandom(o.seed);
  const adj = randomGraph(o, random);
  const q = new EventQueue();
  const kind: GossipKind = "block";
  // per message: first arrival time, hops, copies, per node
  const first: Map<string, number>[] = [];
  const hopsAt: Map<string, number>[] = [];
  const copies: Map<string, number>[] = [];
  const announces: number[] = [];
  const msgIndex = new Map<string, number>();
  const published: number[] = [];
  const name = (i: number) => String(i);

  const routers: GossipRouter[] = [];
  const silent = Array.from({ length: o.nodes }, () => o.mode === "mesh" && random() < (o.silentShare ?? 0));
  const deliverFull = (to: number, from: number, id: string, hops: number) => {
    const m = msgIndex.get(id)!;
    const k = name(to);
    copies[m]!.set(k, (copies[m]!.get(k) ?? 0) + 1);
    const isNew = o.mode === "mesh" ? routers[to]!.received(name(from), kind, id) : !first[m]!.has(k);
    if (!isNew) return;
    first[m]!.set(k, q.now() - published[m]!);
    hopsAt[m]!.set(k, hops);
    q.setTimeout(() => relay(to, id, from), o.processMs);
  };
  const sendFull = (from: number, to: number, id: string) => {
    const hops = hopsAt[msgIndex.get(id)!]!.get(name(from))! + 1;
    q.setTimeout(() => deliverFull(to, from, id, hops), adj[from]!.get(to)!);
  };
  const relay = (node: number, id: string, source: number | undefined) => {
    if (silent[node]) {
      for (const peer of adj[node]!.keys()) if (peer !== source) q.setTimeout(() => control(peer, node, { type: "ihave", kind, ids: [id] }), adj[node]!.get(peer)!);
      return;
    }
    if (o.mode === "mesh") return routers[node]!.forward(kind, id);
    for (const peer of adj[node]!.keys()) if (peer !== source) sendFull(node, peer, id);
  };

  let control = (_to: number, _from: number, _out: Exclude<GossipOut, { type: "push" }>): void => {};
  if (o.mode === "mesh") {
    for (let i = 0; i < o.nodes; i++) {
      const self = i;
      routers.push(
        new GossipRouter({
          clock: q,
          rng: { next: random },
          params: { seenMax: 4096, ...o.params },
          send: (peerName: string, out: GossipOut) => {
            const peer = Number(peerName);
            if (out.type === "push") return sendFull(self, peer, out.id);
            q.setTimeout(() => control(peer, self, out), adj[self]!.get(peer)!);
          },
        }),
      );
    }
    control = (to: number, from: number, out: Exclude<GossipOut, { type: "push" }>) => {
      const r = routers[to]!;
      if (out.type === "graft") r.onGraft(name(from));
      else if (out.type === "prune") r.onPrune(name(from), out.backoff_ms);
      else if (out.type === "ihave") {
        for (const id of out.ids) announces[msgIndex.get(id)!]!++;
        r.onIhave(name(from), out.kind, out.ids);
      } else if (!silent[to]) for (const id of r.onIwant(name(from), out.kind, out.ids)) sendFull(to, from, id);
    };
    const legacy = Array.from({ length: o.nodes }, () => random() < (o.legacyShare ?? 0));
    for (let i = 0; i < o.nodes; i++) {
      for (const j of adj[i]!.keys()) routers[i]!.addPeer(name(j), { mesh: !legacy[i] && !legacy[j] });
      routers[i]!.start();
    }
  }

  for (let m = 0; m < o.messages; m++) {
    const at = o.warmupMs + m * o.spacingMs;
    const id = idOf(m + 1);
    msgIndex.set(id, m);
    first.push(new Map());
    hopsAt.push(new Map());
    copies.push(new Map());
    announces.push(0);
    published.push(at);
    q.setTimeout(() => {
      let origin = Math.floor(random() * o.nodes);
      while (silent[origin]) origin = (origin + 1) % o.nodes;
      first[m]!.set(name(origin), 0);
      hopsAt[m]!.set(name(origin), 0);
      copies[m]!.set(name(origin), 1);
      if (o.mode === "mesh") routers[origin]!.publish(kind, id);
      else relay(origin, id, undefined);
    }, at);
  }
  q.runUntil(o.warmupMs + o.messages * o.spacingMs + 10_000);
  for (const r of routers) r.stop();

  const messages = first.map((f, m) => {
    const duplicates: number[] = [];
    for (let i = 0; i < o.nodes; i++) {
      const c = copies[m]!.get(name(i));
      if (c !== undefined) duplicates.push(c - 1);
    }
    let reachedHonest = 0;
    for (let i = 0; i < o.nodes; i++) if (!silent[i] && f.has(name(i))) reachedHonest++;
    return {
      reached: f.size,
      reachedHonest,
      arrivalsMs: [...f.values()].sort((a, b) => a - b),
      hops: [...hopsAt[m]!.values()],
      duplicates,
      announces: announces[m]!,
    };
  });
  let links = 0;
  let maxDegree = 0;
  for (const a of adj) {
    links += a.size;
    maxDegree = Math.max(maxDegree, a.size);
  }
  return {
    messages,
    links: links / 2,
    maxDegree,
    meshSizes: routers.map((r) => r.mesh().length),
    honest: silent.filter((x) => !x).length,
    fetches: routers.reduce((a, r) => a + r.stats.fetches, 0),
    brokenPromises: routers.reduce((a, r) => a + r.stats.brokenPromises, 0),
  };
}
