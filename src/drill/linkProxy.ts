/**
 * A user-space TCP proxy for one directed link between two local nodes, so a drill can partition
 * the network, or give it latency, without root, network namespaces, iptables or netem:
 * - `cut()` drops every connection through the link and refuses new ones (peers see the close);
 * - `blackhole()` keeps connections open but stops moving bytes, as a real partition does (TCP
 *   buffers and retransmits; nobody is told), so only silence reveals it;
 * - `heal()` lets traffic through again (held bytes flow on);
 * - with a delay, every byte waits that long (ms) in each direction before it is written on, in
 *   order: a link of one-way latency D has a round trip of 2·D plus what the sockets add. The
 *   delay may depend on the connecting client's address (a proxy standing for one node, dialled by
 *   every other: the delay of the pair), and the upstream connection may leave from an address
 *   chosen by the client's (so the node behind the proxy sees who dialled, as on a real network).
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

type Mode = "open" | "cut" | "blackhole";

/** Where a LinkProxy forwards to and how; every field optional. */
export interface LinkProxyOptions {
  /** address to forward to (default 127.0.0.1) */
  targetHost?: string;
  /** one-way delay in ms for a connection from `clientAddress`, applied in both directions (default 0: bytes are piped) */
  delayMs?: (clientAddress: string) => number;
  /** the local address the upstream connection leaves from, for a connection from `clientAddress` (default: the system's choice) */
  localAddress?: (clientAddress: string) => string | undefined;
}

/** Bytes a delayed direction holds (in its queue and the socket's write buffer) before it stops reading: 4 MiB. */
export const DELAY_HIGH_WATER_BYTES = 4 * 1024 * 1024;

/** Forwards <listen host>:<port> to <targetHost>:<targetPort>, with the options' delay. */
export class LinkProxy {
  private server?: Server;
  private readonly pairs = new Set<Pair>();
  private mode: Mode = "open";

  constructor(
    readonly targetPort: number,
    private readonly opts: LinkProxyOptions = {},
  ) {}

  /** Starts listening on `host` (default 127.0.0.1; port 0 picks a free one); resolves with the port. @throws (rejects) when it cannot bind */
  async listen(port = 0, host = "127.0.0.1"): Promise<number> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  /** Connections open through the proxy now. */
  get connections(): number {
    return this.pairs.size;
  }

  /** Drops every connection through the link and refuses new ones. */
  cut(): void {
    this.mode = "cut";
    for (const p of this.pairs) p.destroy();
    this.pairs.clear();
  }

  /** Stops forwarding without closing anything. */
  blackhole(): void {
    this.mode = "blackhole";
    for (const p of this.pairs) p.stop();
  }

  /** Lets traffic through again. */
  heal(): void {
    this.mode = "open";
    for (const p of this.pairs) p.flow();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private accept(client: Socket): void {
    if (this.mode === "cut") return void client.destroy();
    const from = client.remoteAddress ?? "";
    const delay = Math.max(0, this.opts.delayMs?.(from) ?? 0);
    const localAddress = this.opts.localAddress?.(from);
    const upstream = connect({ port: this.targetPort, host: this.opts.targetHost ?? "127.0.0.1", ...(localAddress ? { localAddress } : {}) });
    const pair = new Pair(client, upstream, delay, () => this.pairs.delete(pair));
    this.pairs.add(pair);
    if (this.mode === "open") pair.flow();
    else pair.stop();
  }
}

/** One connection through the proxy: two sockets, each direction piped or delayed. */
class Pair {
  private readonly ab?: Delayed;
  private readonly ba?: Delayed;
  private dropped = false;

  constructor(
    private readonly a: Socket,
    private readonly b: Socket,
    private readonly delayMs: number,
    private readonly onDrop: () => void,
  ) {
    if (delayMs > 0) {
      this.ab = new Delayed(a, b, delayMs);
      this.ba = new Delayed(b, a, delayMs);
    }
    const close = () => this.closeLater();
    a.on("error", () => this.destroy()).on("close", close);
    b.on("error", () => this.destroy()).on("close", close);
  }

  flow(): void {
    if (this.ab && this.ba) {
      this.ab.flow();
      this.ba.flow();
      return;
    }
    this.a.pipe(this.b);
    this.b.pipe(this.a);
  }

  stop(): void {
    if (this.ab && this.ba) {
      this.ab.stop();
      this.ba.stop();
      return;
    }
    this.a.unpipe(this.b);
    this.b.unpipe(this.a);
    this.a.pause();
    this.b.pause();
  }

  destroy(): void {
    if (this.dropped) return;
    this.dropped = true;
    this.ab?.clear();
    this.ba?.clear();
    this.a.destroy();
    this.b.destroy();
    this.onDrop();
  }

  // A side closed: with a delay, what it sent before closing still arrives (the close travels the
  // link too), then both close.
  private closeLater(): void {
    if (this.dropped) return;
    if (this.delayMs === 0) return this.destroy();
    setTimeout(() => {
      this.a.end();
      this.b.end();
      setTimeout(() => this.destroy(), 1000).unref();
    }, this.delayMs + 1).unref();
  }
}

/** One delayed direction: chunks read from `src` are written to `dst` `delayMs` later, in order. */
class Delayed {
  private readonly queue: { due: number; chunk: Buffer }[] = [];
  private queued = 0;
  private timer?: NodeJS.Timeout;
  private flowing = false;

  constructor(
    private readonly src: Socket,
    private readonly dst: Socket,
    delayMs: number,
  ) {
    src.on("data", (chunk: Buffer) => {
      this.queue.push({ due: performance.now() + delayMs, chunk });
      this.queued += chunk.length;
      if (this.full()) src.pause();
      this.arm();
    });
    dst.on("drain", () => this.maybeResume());
    src.pause();
  }

  flow(): void {
    this.flowing = true;
    this.maybeResume();
    this.arm();
  }

  /** Stops reading and holds what is queued (a blackhole). */
  stop(): void {
    this.flowing = false;
    this.src.pause();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  clear(): void {
    this.stop();
    this.queue.length = 0;
    this.queued = 0;
  }

  private full(): boolean {
    return this.queued + this.dst.writableLength > DELAY_HIGH_WATER_BYTES;
  }

  private maybeResume(): void {
    if (this.flowing && !this.full()) this.src.resume();
  }

  private arm(): void {
    if (!this.flowing || this.timer || this.queue.length === 0) return;
    const wait = Math.max(0, this.queue[0]!.due - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.release();
    }, Math.ceil(wait));
  }

  private release(): void {
    if (!this.flowing) return;
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.due <= now + 0.5) {
      const { chunk } = this.queue.shift()!;
      this.queued -= chunk.length;
      if (!this.dst.destroyed) this.dst.write(chunk);
    }
    this.maybeResume();
    this.arm();
  }
}

/**
 * One LinkProxy per directed link between the nodes of a local testnet. Pass `peerUrl` to LocalNet
 * (with `--no-discovery`), then `listen(nodes)` once the nodes' ports are known; `links(n)` are the
 * proxies of every link to or from node `n`.
 */
export class ProxyMesh {
  private readonly proxies = new Map<string, LinkProxy>();
  private readonly ports = new Map<string, number>();

  /** The address `from` dials to reach `to`. */
  readonly peerUrl = (from: { name: string }, to: { name: string }): string => `ws://127.0.0.1:${this.ports.get(`${from.name}>${to.name}`)}`;

  /** Starts a proxy for every ordered pair of nodes. */
  async listen(nodes: readonly { name: string; p2pPort: number }[]): Promise<void> {
    for (const a of nodes) {
      for (const b of nodes) {
        if (a === b) continue;
        const proxy = new LinkProxy(b.p2pPort);
        this.ports.set(`${a.name}>${b.name}`, await proxy.listen());
        this.proxies.set(`${a.name}>${b.name}`, proxy);
      }
    }
  }

  /** Proxies of every link to or from `node`. */
  links(node: { name: string }): LinkProxy[] {
    return [...this.proxies.entries()].filter(([k]) => k.startsWith(`${node.name}>`) || k.endsWith(`>${node.name}`)).map(([, v]) => v);
  }

  /** Proxies of the links between any node of `a` and any node of `b` (both directions): a split of the network into these groups. */
  between(a: readonly { name: string }[], b: readonly { name: string }[]): LinkProxy[] {
    return a.flatMap((x) => b.flatMap((y) => [this.proxies.get(`${x.name}>${y.name}`), this.proxies.get(`${y.name}>${x.name}`)])).filter((p): p is LinkProxy => p !== undefined);
  }

  async close(): Promise<void> {
    await Promise.all([...this.proxies.values()].map((p) => p.close().catch(() => undefined)));
  }
}
