/**
 * The simulator's network model: when (and whether) a message from one simulated node reaches
 * another. Nodes (by address) sit in regions; a message of B bytes from `from` to `to`:
 *
 * 1. waits for the sender's uplink, a FIFO queue shared by all its peers, and occupies it for
 *    B / upload_bytes_per_s seconds (so block size matters, and a big message delays the sender's
 *    next one to anyone);
 * 2. is lost with the link's loss probability (drawn at send; it still used the uplink): with
 *    loss mode "drop" it never arrives; with "retransmit" (a TCP stream's view of loss) it is sent
 *    again after a retransmission timeout of the round trip plus 200 ms (Linux's minimum RTO),
 *    doubling on each further loss (RFC 6298 §5.5), each resend lost with the same probability;
 *    the messages behind it on its link wait for it (head-of-line blocking);
 * 3. travels the regions' one-way latency (half the table's round trip) plus the link's jitter, a
 *    seeded uniform draw per message in [0, the link's jitter bound) (by default a fraction of
 *    its one-way latency);
 * 4. with a download bandwidth, passes the receiver's downlink, a FIFO queue shared by all its
 *    senders, which can take its bytes from the moment the first byte arrives (a fluid
 *    approximation: a downlink faster than the uplink adds nothing);
 * 5. is delivered at that time rounded up to the whole ms, never before an earlier message of the
 *    same link (a link is in order, like the TCP connection it stands for), unless a partition
 *    cuts the two regions at send or at delivery (a message in flight when the cut comes is lost).
 *
 * Messages in flight wait in the model's own queue, ordered by (due ms, sequence number in the
 * order they were queued), behind one timer on the injected `Clock` (a `VirtualClock` in the
 * simulator) at the earliest due ms; messages due at the same ms are delivered in queue order, and
 * a delivery that sends again (a relay) can deliver within the same ms when the latency is 0.
 * Every random draw comes from the injected `Rng`, two per send and one per resend, in send order.
 * So one seed and
 * one sequence of sends and clock advances give one delivery order and one set of times; nothing
 * depends on object identity or on iterating maps keyed by anything but insertion.
 *
 * An in-order transport over this model (the in-memory transport numbers its frames and hands
 * them over in order) should use loss mode "retransmit": a dropped frame would hold every later
 * frame of its connection forever.
 *
 * Units: times in ms, sizes in bytes, bandwidths in bytes per second, probabilities in [0, 1).
 * Invalid arguments (an unknown node or region, a negative size, a probability outside [0, 1))
 * throw a RangeError naming what was wrong.
 */
import { DueHeap, type Clock, type Rng, type Timer } from "../util/clock.ts";
import type { LinkScheduler } from "../p2p/memoryTransport.ts";

export type { LinkScheduler };

/**
 * Regions and their round-trip times: `rttMs[i][j]` is the round trip (ms) between `regions[i]` and
 * `regions[j]`, symmetric, with the round trip inside a region on the diagonal.
 */
export interface RegionTable {
  regions: readonly string[];
  rttMs: readonly (readonly number[])[];
}

/**
 * Six cloud regions with round trips of 25-280 ms between them and 2 ms inside one. The figures
 * approximate medians of public inter-region ping measurements between AWS regions (the
 * region-to-region table of cloudping.co; published AWS and GCP inter-region RTT heat maps show
 * the same scale), rounded to 5 ms:
 * us-east = N. Virginia (us-east-1), us-west = Oregon (us-west-2), eu-west = Ireland (eu-west-1),
 * eu-central = Frankfurt (eu-central-1), ap-northeast = Tokyo (ap-northeast-1), ap-southeast =
 * Sydney (ap-southeast-2). Inside a region, a round trip between availability zones is 0.3-3 ms.
 * Real paths vary by hour and provider: the table sets the scale, not a measurement to reproduce.
 */
export const DEFAULT_REGIONS: RegionTable = {
  regions: ["us-east", "us-west", "eu-west", "eu-central", "ap-northeast", "ap-southeast"],
  rttMs: [
    //us-e us-w eu-w eu-c ap-ne ap-se
    [2, 65, 70, 90, 150, 200],
    [65, 2, 125, 145, 100, 140],
    [70, 125, 2, 25, 210, 255],
    [90, 145, 25, 2, 225, 280],
    [150, 100, 210, 225, 2, 105],
    [200, 140, 255, 280, 105, 2],
  ],
};

/** The model's settings. */
export interface NetworkModelOptions {
  /** where delivery timers run (a VirtualClock for a simulation) */
  clock: Clock;
  /** jitter and loss draws, in send order (a seededRng for a reproducible run) */
  rng: Rng;
  /** default DEFAULT_REGIONS */
  regions?: RegionTable;
  /** a link's jitter bound as a fraction of its one-way latency, unless `setLink` sets `jitterMs`; default 0.1 */
  jitter?: number;
  /** probability that a message is lost, unless `setLink` sets one for the link; default 0 */
  loss?: number;
  /** what a loss does: "drop" the message (default), or "retransmit" it after a timeout, as TCP does */
  lossMode?: "drop" | "retransmit";
  /** add an address the model does not know on its first use (in the default regions' turn) instead of throwing; default false */
  autoAddNodes?: boolean;
  /** a node's upload bandwidth, bytes/s, unless `addNode` sets one; default 12,500,000 (100 Mbit/s) */
  uploadBytesPerS?: number;
  /** a node's download bandwidth, bytes/s, unless `addNode` sets one; default unlimited */
  downloadBytesPerS?: number;
}

/** One node's settings. */
export interface NodeOptions {
  /** a region of the table; default the table's regions in turn, in the order nodes are added without one */
  region?: string;
  /** bytes/s; default the model's */
  uploadBytesPerS?: number;
  /** bytes/s; default the model's (unlimited unless set) */
  downloadBytesPerS?: number;
}

/** A directed link's overrides of the model's defaults. */
export interface LinkOptions {
  /** jitter bound in ms (each message draws uniformly in [0, jitterMs)) */
  jitterMs?: number;
  /** probability that a message is lost */
  loss?: number;
}

/**
 * One node's counters (bytes and messages; `lost`: transmissions lost, dropped messages in loss mode
 * "drop" and resends in "retransmit"; `cut`: messages dropped by a partition; both counted at the sender).
 */
export interface NodeTraffic {
  address: string;
  region: string;
  bytesSent: number;
  bytesReceived: number;
  messagesSent: number;
  messagesReceived: number;
  lost: number;
  cut: number;
}

/** A link the transport opened (`openLink`); `close` when the connection closes. */
export interface OpenLink {
  close(): void;
}

interface LinkState {
  /** when the link's last message reaches the receiver (ms, whole): later messages do not arrive before it */
  lastAt: number;
  /** with a download bandwidth, when the link's last message leaves the downlink (ms, whole) */
  lastDeliverAt: number;
  jitterMs: number | undefined;
  loss: number | undefined;
}

interface NodeState {
  readonly address: string;
  /** the order it was added in */
  readonly index: number;
  readonly region: number;
  readonly up: number;
  readonly down: number;
  /** when the uplink is free (ms, fractional) */
  upFreeAt: number;
  /** when the downlink is free (ms, fractional) */
  downFreeAt: number;
  /** outgoing links, by the receiver's index */
  readonly links: Map<number, LinkState>;
  readonly traffic: NodeTraffic;
}

/** Linux's minimum TCP retransmission timeout (TCP_RTO_MIN), ms. */
const MIN_RTO_MS = 200;

const DOWNLINK = 0;
const DELIVER = 1;

/** A message in flight. */
interface Flight<P> {
  /** when it is next handled (ms, whole) */
  at: number;
  /** the order it was queued in: the tie-break between messages due at the same ms */
  seq: number;
  /** DOWNLINK: reaching the receiver's downlink; DELIVER: handed to the receiver */
  phase: typeof DOWNLINK | typeof DELIVER;
  readonly from: NodeState;
  readonly to: NodeState;
  /** the region pair, sender * R + receiver */
  readonly pair: number;
  readonly bytes: number;
  readonly link: LinkState;
  /** when its first byte reaches the receiver (ms, fractional) */
  readonly firstByte: number;
  /** when its last byte reaches the receiver before the downlink (ms, fractional) */
  readonly arrive: number;
  /** `send`'s callback, or undefined for `sendPayload`'s payload */
  readonly deliver: (() => void) | undefined;
  readonly payload: P | undefined;
}

// Queue order: due time, then sequence number.
interface LinkEntry {
  a: NodeState;
  b: NodeState;
  onDown: () => void;
}

/**
 * The network of one simulation. Implements `LinkScheduler` (`send` with a callback); `sendPayload`
 * hands a payload to the handler registered with `onDeliver` instead.
 * @typeParam P the payload type of `sendPayload`
 */
export class NetworkModel<P = unknown> implements LinkScheduler {
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly regions: readonly string[];
  /** one-way latency (ms) by region pair, `i * R + j` */
  private readonly oneWay: Float64Array;
  /** a partition's cut by region pair, `i * R + j` */
  private readonly cut: Uint8Array;
  private readonly jitter: number;
  private readonly loss: number;
  private readonly retransmit: boolean;
  private readonly autoAdd: boolean;
  private readonly up: number;
  private readonly down: number;
  private readonly nodes = new Map<string, NodeState>();
  private readonly order: NodeState[] = [];
  private autoRegion = 0;
  private cuts = 0;
  private linkSeq = 0;
  /** links the transport opened, by opening order (insertion order of increasing ids) */
  private readonly open = new Map<number, LinkEntry>();
  private handler: ((to: string, from: string, payload: P) => void) | undefined;
  /** messages in flight, a binary min-heap on (due time, sequence number) */
  private readonly queue = new DueHeap<Flight<P>>();
  private seq = 0;
  private timer: Timer | undefined;
  private armedAt = Infinity;
  private firing = false;
  private readonly onTimer = () => this.fire();

  constructor(opts: NetworkModelOptions) {
    this.clock = opts.clock;
    this.rng = opts.rng;
    const table = opts.regions ?? DEFAULT_REGIONS;
    checkTable(table);
    this.regions = [...table.regions];
    const r = this.regions.length;
    this.oneWay = new Float64Array(r * r);
    for (let i = 0; i < r; i++) for (let j = 0; j < r; j++) this.oneWay[i * r + j] = table.rttMs[i]![j]! / 2;
    this.cut = new Uint8Array(r * r);
    this.jitter = opts.jitter ?? 0.1;
    if (!(Number.isFinite(this.jitter) && this.jitter >= 0)) throw new RangeError(`jitter must be a fraction >= 0, got ${opts.jitter}`);
    this.loss = checkLoss(opts.loss ?? 0);
    const mode = opts.lossMode ?? "drop";
    if (mode !== "drop" && mode !== "retransmit") throw new RangeError(`lossMode must be "drop" or "retransmit", got ${String(mode)}`);
    this.retransmit = mode === "retransmit";
    this.autoAdd = opts.autoAddNodes ?? false;
    this.up = checkRate("uploadBytesPerS", opts.uploadBytesPerS ?? 12_500_000);
    this.down = opts.downloadBytesPerS === undefined ? Infinity : checkRate("downloadBytesPerS", opts.downloadBytesPerS);
  }

  /**
   * Adds a node.
   * @throws RangeError when the address is taken, the region unknown or a bandwidth not positive
   */
  addNode(address: string, opts: NodeOptions = {}): void {
    if (this.nodes.has(address)) throw new RangeError(`node "${address}" is already in the network`);
    const up = opts.uploadBytesPerS === undefined ? this.up : checkRate("uploadBytesPerS", opts.uploadBytesPerS);
    const down = opts.downloadBytesPerS === undefined ? this.down : checkRate("downloadBytesPerS", opts.downloadBytesPerS);
    const region = opts.region === undefined ? this.autoRegion++ % this.regions.length : this.regionIndex(opts.region);
    const node: NodeState = {
      address,
      index: this.order.length,
      region,
      up,
      down,
      upFreeAt: -Infinity,
      downFreeAt: -Infinity,
      links: new Map(),
      traffic: { address, region: this.regions[region]!, bytesSent: 0, bytesReceived: 0, messagesSent: 0, messagesReceived: 0, lost: 0, cut: 0 },
    };
    this.nodes.set(address, node);
    this.order.push(node);
  }

  /** The region of a node. @throws RangeError for an unknown node */
  regionOf(address: string): string {
    return this.regions[this.node(address).region]!;
  }

  /** The one-way latency from one node to another before jitter (ms). @throws RangeError for an unknown node */
  latencyMs(from: string, to: string): number {
    return this.oneWay[this.node(from).region * this.regions.length + this.node(to).region]!;
  }

  /**
   * Overrides the jitter and loss of the directed link `from` -> `to`.
   * @throws RangeError for an unknown node, a negative jitter or a loss outside [0, 1)
   */
  setLink(from: string, to: string, opts: LinkOptions): void {
    const a = this.node(from);
    const b = this.node(to);
    if (opts.jitterMs !== undefined && !(Number.isFinite(opts.jitterMs) && opts.jitterMs >= 0)) throw new RangeError(`jitterMs must be >= 0, got ${opts.jitterMs}`);
    if (opts.loss !== undefined) checkLoss(opts.loss);
    const link = this.link(a, b.index);
    if (opts.jitterMs !== undefined) link.jitterMs = opts.jitterMs;
    if (opts.loss !== undefined) link.loss = opts.loss;
  }

  /** Registers where `sendPayload` delivers: `deliver(to, from, payload)` (replaces an earlier one). */
  onDeliver(deliver: (to: string, from: string, payload: P) => void): void {
    this.handler = deliver;
  }

  /**
   * Sends `bytes` from `from` to `to`; `deliver` runs on the clock when they arrive, or never when
   * the network drops them (a loss in loss mode "drop", or a partition).
   * @throws RangeError for an unknown node, a node sending to itself, or bytes not a safe integer >= 0
   */
  send(from: string, to: string, bytes: number, deliver: () => void): void {
    this.enqueue(from, to, bytes, deliver, undefined);
  }

  /**
   * Like `send`, with the handler registered by `onDeliver` as `deliver(to, from, payload)`.
   * @throws RangeError as `send`, and when no handler is registered
   */
  sendPayload(from: string, to: string, bytes: number, payload: P): void {
    if (!this.handler) throw new RangeError("sendPayload needs a handler: call onDeliver first");
    this.enqueue(from, to, bytes, undefined, payload);
  }

  private enqueue(from: string, to: string, bytes: number, deliver: (() => void) | undefined, payload: P | undefined): void {
    const a = this.node(from);
    const b = this.node(to);
    if (a === b) throw new RangeError(`node "${from}" cannot send to itself`);
    if (!(Number.isSafeInteger(bytes) && bytes >= 0)) throw new RangeError(`bytes must be an integer >= 0, got ${bytes}`);
    const pair = a.region * this.regions.length + b.region;
    if (this.cut[pair] === 1) {
      a.traffic.cut++;
      return;
    }
    const link = this.link(a, b.index);
    const now = this.clock.now();
    // the uplink: FIFO over all of the sender's messages
    const start = Math.max(now, a.upFreeAt);
    a.upFreeAt = start + (bytes * 1000) / a.up;
    a.traffic.bytesSent += bytes;
    a.traffic.messagesSent++;
    // both draws on every send, so the sequence of draws depends only on the sequence of sends
    const lossDraw = this.rng.next();
    const jitterDraw = this.rng.next();
    const loss = link.loss ?? this.loss;
    let resent = 0;
    if (lossDraw < loss) {
      a.traffic.lost++;
      if (!this.retransmit) return;
      // resent after the RTO (round trip + 200 ms), doubling while the resends are lost too
      let rto = 2 * this.oneWay[pair]! + MIN_RTO_MS;
      resent = rto;
      while (this.rng.next() < loss) {
        a.traffic.lost++;
        rto *= 2;
        resent += rto;
      }
    }
    const latency = this.oneWay[pair]! + jitterDraw * (link.jitterMs ?? this.jitter * this.oneWay[pair]!) + resent;
    const arrive = a.upFreeAt + latency;
    const at = Math.max(Math.ceil(arrive), link.lastAt);
    link.lastAt = at;
    // with a download bandwidth, the message first enters the receiver's downlink at `at`
    const phase = b.down === Infinity ? DELIVER : DOWNLINK;
    this.push({ at, seq: this.seq++, phase, from: a, to: b, pair, bytes, link, firstByte: start + latency, arrive, deliver, payload });
  }

  /**
   * Cuts every node of `regionsA` off every node of `regionsB` (both ways) until `heal`: sends
   * across the cut are dropped, messages in flight across it are dropped on arrival, and every
   * open link across it is removed and its `onDown` called, in the order the links were opened.
   * Partitions add up.
   * @throws RangeError for an unknown region, an empty side or a region on both sides
   */
  partition(regionsA: readonly string[], regionsB: readonly string[]): void {
    const ia = regionsA.map((x) => this.regionIndex(x));
    const ib = regionsB.map((x) => this.regionIndex(x));
    if (ia.length === 0 || ib.length === 0) throw new RangeError("a partition needs regions on both sides");
    for (const i of ia) if (ib.includes(i)) throw new RangeError(`region "${this.regions[i]}" is on both sides of the partition`);
    const r = this.regions.length;
    for (const i of ia) {
      for (const j of ib) {
        this.cut[i * r + j] = 1;
        this.cut[j * r + i] = 1;
      }
    }
    this.cuts++;
    const down: LinkEntry[] = [];
    for (const [id, entry] of this.open) {
      if (this.cut[entry.a.region * r + entry.b.region] === 1) {
        this.open.delete(id);
        down.push(entry);
      }
    }
    for (const entry of down) entry.onDown();
  }

  /** Removes every partition. */
  heal(): void {
    this.cut.fill(0);
    this.cuts = 0;
  }

  /** Messages in flight (queued for delivery, not yet delivered or dropped). */
  get inFlight(): number {
    return this.queue.length;
  }

  /** Whether a partition is in force. */
  get partitioned(): boolean {
    return this.cuts > 0;
  }

  /** Whether no partition separates the two nodes. @throws RangeError for an unknown node */
  reachable(a: string, b: string): boolean {
    return this.cut[this.node(a).region * this.regions.length + this.node(b).region] === 0;
  }

  /**
   * Registers a connection between two nodes, so that a partition separating them calls `onDown`
   * (once; the link is then forgotten). The transport calls `close` when the connection ends.
   * @returns the link, or undefined (and `onDown` is never called) when a partition separates them now
   * @throws RangeError for an unknown node
   */
  openLink(a: string, b: string, onDown: () => void): OpenLink | undefined {
    if (!this.reachable(a, b)) return undefined;
    const id = this.linkSeq++;
    this.open.set(id, { a: this.node(a), b: this.node(b), onDown });
    return { close: () => void this.open.delete(id) };
  }

  /** A node's counters (a copy). @throws RangeError for an unknown node */
  stats(address: string): NodeTraffic {
    return { ...this.node(address).traffic };
  }

  /** Every node's counters (copies), in the order the nodes were added. */
  traffic(): NodeTraffic[] {
    return this.order.map((n) => ({ ...n.traffic }));
  }

  // Fires every message due by now, in (time, sequence) order, then waits for the next one.
  private fire(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    this.firing = true;
    try {
      const now = this.clock.now();
      for (let m = this.queue.peek(); m !== undefined && m.at <= now; m = this.queue.peek()) {
        this.queue.pop();
        this.process(m, now);
      }
    } finally {
      this.firing = false;
      this.arm();
    }
  }

  private process(m: Flight<P>, now: number): void {
    if (m.phase === DOWNLINK) {
      // the downlink: entered in arrival order, able to take bytes from the first one's arrival
      const b = m.to;
      const downStart = Math.max(m.firstByte, b.downFreeAt);
      b.downFreeAt = Math.max(m.arrive, downStart + (m.bytes * 1000) / b.down);
      const end = Math.max(Math.ceil(b.downFreeAt), now, m.link.lastDeliverAt);
      m.link.lastDeliverAt = end;
      // queued again even when due now, behind any earlier message of its link already queued for now
      m.phase = DELIVER;
      m.at = end;
      m.seq = this.seq++;
      this.push(m);
      return;
    }
    if (this.cut[m.pair] === 1) {
      m.from.traffic.cut++;
      return;
    }
    m.to.traffic.bytesReceived += m.bytes;
    m.to.traffic.messagesReceived++;
    if (m.deliver) m.deliver();
    else this.handler!(m.to.address, m.from.address, m.payload as P);
  }

  // One clock timer, at the earliest message's time.
  private arm(): void {
    const top = this.queue.peek();
    if (this.firing || top === undefined || top.at >= this.armedAt) return;
    this.clock.clearTimeout(this.timer);
    this.armedAt = top.at;
    this.timer = this.clock.setTimeout(this.onTimer, top.at - this.clock.now());
  }

  private push(m: Flight<P>): void {
    this.queue.push(m);
    this.arm();
  }

  private node(address: string): NodeState {
    const n = this.nodes.get(address);
    if (n) return n;
    if (!this.autoAdd) throw new RangeError(`unknown node "${address}"`);
    this.addNode(address);
    return this.nodes.get(address)!;
  }

  private link(a: NodeState, to: number): LinkState {
    let link = a.links.get(to);
    if (!link) {
      link = { lastAt: -Infinity, lastDeliverAt: -Infinity, jitterMs: undefined, loss: undefined };
      a.links.set(to, link);
    }
    return link;
  }

  private regionIndex(name: string): number {
    const i = this.regions.indexOf(name);
    if (i < 0) throw new RangeError(`unknown region "${name}" (known: ${this.regions.join(", ")})`);
    return i;
  }
}

function checkTable(t: RegionTable): void {
  const r = t.regions.length;
  if (r === 0) throw new RangeError("a region table needs at least one region");
  if (new Set(t.regions).size !== r) throw new RangeError("region names must be distinct");
  if (t.rttMs.length !== r || t.rttMs.some((row) => row.length !== r)) throw new RangeError(`rttMs must be ${r} x ${r}`);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < r; j++) {
      const v = t.rttMs[i]![j]!;
      if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`rttMs[${i}][${j}] must be a finite ms >= 0, got ${v}`);
      if (v !== t.rttMs[j]![i]) throw new RangeError(`rttMs must be symmetric: ${t.regions[i]}-${t.regions[j]} ${v} ms, back ${t.rttMs[j]![i]} ms`);
    }
  }
}

function checkLoss(p: number): number {
  if (!(Number.isFinite(p) && p >= 0 && p < 1)) throw new RangeError(`loss must be a probability in [0, 1), got ${p}`);
  return p;
}

function checkRate(name: string, v: number): number {
  if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`${name} must be bytes/s > 0, got ${v}`);
  return v;
}
