/**
 * What the P2P layer needs from a network (docs/protocol.md §9.1): listen for connections, dial a
 * `ws://host:port` address, and per connection send text frames, see what is still buffered,
 * close, ping for liveness. `WsTransport` is the production one (WebSockets over TCP, the `ws`
 * package); `MemoryTransport` (memoryTransport.ts) joins the nodes of one process on a virtual
 * clock for simulations.
 */
import { WebSocketServer, WebSocket } from "ws";
import type { AddressInfo, LookupFunction } from "node:net";

/** What a connection reports. `message` carries one frame's bytes; `close` a close code and reason. */
export interface ConnectionEvents {
  message: (data: Buffer) => void;
  /** the answer to our `ping` (liveness) */
  pong: () => void;
  close: (code: number, reason: string) => void;
  error: (err: Error) => void;
}

/** One open connection to a remote node. */
export interface Connection {
  /**
   * The remote IP address: an inbound connection's source, or the address that answered our dial
   * (what a name resolved to); undefined when the socket does not say.
   */
  readonly remoteAddress: string | undefined;
  /** open for sending (not closing or closed) */
  readonly isOpen: boolean;
  /** bytes handed to `send` and not yet written to the network (or, in memory, not yet delivered) */
  readonly bufferedAmount: number;
  /** Sends one text frame. Ignored once the connection is no longer open. */
  send(text: string): void;
  /** Asks the remote for a `pong` (keepalive). */
  ping(): void;
  /** Starts the closing handshake: `code` a WebSocket close code, `reason` at most 123 bytes. */
  close(code: number, reason: string): void;
  /** Drops the connection at once (no closing handshake). */
  terminate(): void;
  on<E extends keyof ConnectionEvents>(event: E, fn: ConnectionEvents[E]): void;
}

/** A listener's refusal of a connection before it opens: an HTTP status (403, 429) and why. */
export interface Refusal {
  status: number;
  reason: string;
}

/** How to listen. */
export interface ListenOptions {
  host: string;
  /** 0 picks a free one */
  port: number;
  /** the largest frame accepted, in bytes */
  maxPayloadBytes: number;
  /** asked before a connection from `remoteAddress` opens (the cheapest point to say no); a Refusal refuses it */
  admit(remoteAddress: string): Refusal | undefined;
  /** a connection that was admitted and is open */
  onConnection(conn: Connection): void;
  /** an error of the listener after it is bound */
  onError(err: Error): void;
  /** the listener stopped (by `close` or otherwise) */
  onClose(): void;
}

/** A bound listener. */
export interface Listener {
  /** the bound port */
  readonly port: number;
  /** Stops accepting; open connections stay until closed. */
  close(): Promise<void>;
}

/** How to dial. */
export interface DialOptions {
  /** the largest frame accepted, in bytes */
  maxPayloadBytes: number;
  /** ms the connection has to open */
  handshakeTimeoutMs: number;
  /** resolves the host name (WebSockets only; see learn.ts guardedLookup) */
  lookup?: LookupFunction;
  /** local IP address the connection leaves from (WebSockets only; `--p2p-dial-from`) */
  localAddress?: string;
}

/** Where a dial ends: `open` once with the connection, or `error` once when it could not open. */
export interface DialEvents {
  open(conn: Connection): void;
  error(err: Error): void;
}

/**
 * A network the P2P layer listens and dials on. Events are delivered synchronously through the
 * callbacks (a connection's handlers are attached inside `onConnection`/`open`, before any of its
 * messages can arrive).
 */
export interface Transport {
  /** @throws (rejects) when the address cannot be bound */
  listen(o: ListenOptions): Promise<Listener>;
  /** Dials `url` (ws://host:port); reports through `events`. */
  dial(url: string, o: DialOptions, events: DialEvents): void;
}

/** A `ws` WebSocket as a Connection. */
class WsConnection implements Connection {
  constructor(
    private readonly ws: WebSocket,
    readonly remoteAddress: string | undefined,
  ) {}
  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }
  send(text: string): void {
    this.ws.send(text);
  }
  ping(): void {
    this.ws.ping();
  }
  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }
  terminate(): void {
    this.ws.terminate();
  }
  on<E extends keyof ConnectionEvents>(event: E, fn: ConnectionEvents[E]): void {
    const f = fn as (...a: unknown[]) => void;
    if (event === "message") this.ws.on("message", (data: Buffer | ArrayBuffer | Buffer[]) => f(Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)));
    else if (event === "close") this.ws.on("close", (code, reason) => f(code, reason.toString()));
    else this.ws.on(event, f);
  }
}

/**
 * WebSockets over TCP (the `ws` package): no compression, frames up to `maxPayloadBytes`, the
 * admission check before the upgrade (refused with its HTTP status), dials with a handshake timeout
 * and an optional name lookup.
 */
export class WsTransport implements Transport {
  async listen(o: ListenOptions): Promise<Listener> {
    const server = new WebSocketServer({
      host: o.host,
      port: o.port,
      perMessageDeflate: false,
      maxPayload: o.maxPayloadBytes,
      verifyClient: (info, done) => {
        const refusal = o.admit(info.req.socket.remoteAddress ?? "unknown");
        if (refusal) return done(false, refusal.status, refusal.reason);
        done(true);
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", reject);
    });
    server.on("error", (err) => o.onError(err));
    server.on("close", () => o.onClose());
    server.on("connection", (ws, req) => o.onConnection(new WsConnection(ws, req.socket.remoteAddress)));
    const port = (server.address() as AddressInfo).port;
    return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  dial(url: string, o: DialOptions, events: DialEvents): void {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: o.maxPayloadBytes, handshakeTimeout: o.handshakeTimeoutMs, ...(o.lookup ? { lookup: o.lookup } : {}), ...(o.localAddress ? { localAddress: o.localAddress } : {}) });
    let opened = false;
    // Which address answered: a peer dialled by name is judged by it (its scope and group).
    let answeredFrom: string | undefined;
    ws.once("upgrade", (res) => (answeredFrom = res.socket.remoteAddress));
    ws.once("open", () => {
      opened = true;
      events.open(new WsConnection(ws, answeredFrom));
    });
    ws.once("error", (err) => {
      if (!opened) events.error(err);
    });
  }
}
