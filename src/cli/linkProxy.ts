/**
 * A user-space TCP proxy for one directed link between two local nodes, so a drill can cut and
 * heal the network without root, network namespaces or iptables: `cut()` drops every connection
 * through it and refuses new ones; `heal()` lets them through again.
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

/** Forwards 127.0.0.1:<port> to 127.0.0.1:<targetPort>. */
export class LinkProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private isCut = false;

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
    this.isCut = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** Lets connections through again. */
  heal(): void {
    this.isCut = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private accept(client: Socket): void {
    if (this.isCut) return void client.destroy();
    const upstream = connect(this.targetPort, "127.0.0.1");
    this.sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
