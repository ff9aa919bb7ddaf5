/**
 * A user-space TCP proxy for one directed link between two local nodes, so a drill can partition
 * the network without root, network namespaces or iptables:
 * - `cut()` drops every connection through the link and refuses new ones (peers see the close);
 * - `blackhole()` keeps connections open but stops moving bytes, as a real partition does (TCP
 *   buffers and retransmits; nobody is told), so only silence reveals it;
 * - `heal()` lets traffic through again (held bytes flow on).
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

type Mode = "open" | "cut" | "blackhole";

/** Forwards 127.0.0.1:<port> to 127.0.0.1:<targetPort>. */
export class LinkProxy {
  private server?: Server;
  private readonly pairs = new Set<[Socket, Socket]>();
  private mode: Mode = "open";

  constructor(readonly targetPort: number) {}

  /** Starts listening (port 0 picks a free one); resolves with the port. */
  async listen(port = 0): Promise<number> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  /** Drops every connection through the link and refuses new ones. */
  cut(): void {
    this.mode = "cut";
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  /** Stops forwarding without closing anything. */
  blackhole(): void {
    this.mode = "blackhole";
    for (const pair of this.pairs) stop(pair);
  }

  /** Lets traffic through again. */
  heal(): void {
    this.mode = "open";
    for (const pair of this.pairs) flow(pair);
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private accept(client: Socket): void {
    if (this.mode === "cut") return void client.destroy();
    const upstream = connect(this.targetPort, "127.0.0.1");
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    if (this.mode === "open") flow(pair);
    else stop(pair);
  }
}

function flow([a, b]: [Socket, Socket]): void {
  a.pipe(b);
  b.pipe(a);
}

function stop([a, b]: [Socket, Socket]): void {
  a.unpipe(b);
  b.unpipe(a);
  a.pause();
  b.pause();
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
