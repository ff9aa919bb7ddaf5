/**
 * A Transport (transport.ts) inside one process, for simulations: the nodes of a `MemoryNetwork`
 * listen and dial on ws://<address>:<port> strings as over WebSockets, with no socket. Every frame
 * (and the connection attempt itself) travels through a `LinkScheduler`, which decides when it
 * arrives (a network model: latency, bandwidth; by default the next turn of the clock); each
 * direction of a connection carries sequence numbers, so frames are handed over in the order they
 * were sent whatever order the scheduler delivers them in, and a run on a VirtualClock with a
 * seeded scheduler replays the same events in the same order.
 *
 * Modelled after WebSockets (`ws`): an admission check before the connection opens (a refusal is
 * the dialler's `Unexpected server response: <status>`), ECONNREFUSED for an address nobody
 * listens on, the dial's handshake timeout, `bufferedAmount` (bytes sent and not yet delivered),
 * the closing handshake (close code and reason echoed), `terminate` (the other end sees 1006),
 * ping answered by pong, and a frame over the receiver's `maxPayloadBytes` closing it with 1009.
 */
import type { Clock, Timer } from "../util/clock.ts";
import type { Connection, ConnectionEvents, DialEvents, DialOptions, Listener, ListenOptions, Transport } from "./transport.ts";

/**
 * When a frame from one address to another arrives: call `deliver` then (once). `bytes` is the
 * frame's payload size (0 for the connection attempt and control frames).
 */
export interface LinkScheduler {
  send(from: string, to: string, bytes: number, deliver: () => void): void;
}

/** The default link: every frame arrives on the clock's next turn (`setTimeout(…, 0)`). */
export function nextTurnLinks(clock: Clock): LinkScheduler {
  return { send: (_from, _to, _bytes, deliver) => void clock.setTimeout(deliver, 0) };
}

/** The port a listener asking for port 0 gets first on its address (then the next free one). */
export const MEMORY_FIRST_PORT = 30333;

type Frame =
  | { kind: "open" }
  | { kind: "message"; text: string; bytes: number }
  | { kind: "ping" }
  | { kind: "pong" }
  | { kind: "close"; code: number; reason: string }
  /** the other end dropped the connection (terminate, a handshake timeout) */
  | { kind: "drop" };

interface Bound {
  o: ListenOptions;
}

/** The nodes of one process: their listeners by address and port, the clock and the links. */
export class MemoryNetwork {
  readonly clock: Clock;
  readonly links: LinkScheduler;
  private readonly listeners = new Map<string, Bound>();
  private readonly nextPort = new Map<string, number>();

  /** @param o.scheduler how frames travel; default {@link nextTurnLinks} on `o.clock` */
  constructor(o: { clock: Clock; scheduler?: LinkScheduler }) {
    this.clock = o.clock;
    this.links = o.scheduler ?? nextTurnLinks(o.clock);
  }

  /**
   * The transport of the node at `address` (an IP address as a string, e.g. "10.0.3.7"): it listens
   * there, and its dials come from there (the remote address the listener sees).
   */
  transport(address: string): MemoryTransport {
    if (!address || address.includes("/") || address.includes(" ")) throw new TypeError(`MemoryNetwork: not an address: ${JSON.stringify(address)}`);
    return new MemoryTransport(this, address);
  }

  /** Whether something listens at `url` (ws://host:port). */
  isListening(url: string): boolean {
    const t = target(url);
    return t !== undefined && this.listeners.has(key(t.host, t.port));
  }

  /** @internal */
  bind(address: string, port: number, o: ListenOptions): Listener {
    if (port === 0) {
      port = this.nextPort.get(address) ?? MEMORY_FIRST_PORT;
      while (this.listeners.has(key(address, port))) port++;
      this.nextPort.set(address, port + 1);
    }
    const k = key(address, port);
    if (this.listeners.has(k)) throw Object.assign(new Error(`listen EADDRINUSE: address already in use ${k}`), { code: "EADDRINUSE" });
    const bound: Bound = { o };
    this.listeners.set(k, bound);
    return {
      port,
      close: async () => {
        if (this.listeners.get(k) !== bound) return;
        this.listeners.delete(k);
        o.onClose();
      },
    };
  }

  /** @internal */
  listener(host: string, port: number): Bound | undefined {
    return this.listeners.get(key(host, port));
  }
}

/** One node's view of a MemoryNetwork (see {@link MemoryNetwork.transport}). */
export class MemoryTransport implements Transport {
  constructor(
    readonly network: MemoryNetwork,
    /** this node's address */
    readonly address: string,
  ) {}

  /**
   * Listens on this node's address: `host` may be a wildcard (0.0.0.0, ::), a loopback address or
   * this address itself (all mean this address). Port 0 picks the first free one from MEMORY_FIRST_PORT.
   * @throws (rejects) EADDRINUSE when the port is taken, EADDRNOTAVAIL for another host
   */
  async listen(o: ListenOptions): Promise<Listener> {
    const host = unbracket(o.host);
    if (!["0.0.0.0", "::", "", "127.0.0.1", "::1", "localhost", this.address].includes(host)) {
      throw Object.assign(new Error(`listen EADDRNOTAVAIL: ${o.host} is not this node's address (${this.address})`), { code: "EADDRNOTAVAIL" });
    }
    return this.network.bind(this.address, o.port, o);
  }

  /**
   * Dials `url`: the attempt travels to the listener, which admits or refuses it; an admitted
   * connection opens at the listener at once and at the dialler when its `open` frame arrives.
   * `lookup` is not used (names are looked up as they are written). A dial to the node's own
   * address fails (an error event, never a throw).
   */
  dial(url: string, o: DialOptions, events: DialEvents): void {
    const net = this.network;
    const clock = net.clock;
    const to = target(url);
    let settled = false;
    let timer: Timer | undefined;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      events.error(err);
    };
    if (!to) return void clock.setTimeout(() => fail(new Error(`Invalid URL: ${url}`)), 0);
    const from = this.address;
    // A peer may share our own address with us. Over TCP that dial connects and the handshake refuses
    // it (same EBID); here it fails at once, as the network has no link from a node to itself.
    if (to.host === from) return void clock.setTimeout(() => fail(new Error(`a dial to its own address ${url}`)), 0);
    const client = new Endpoint(net, from, to.host, o.maxPayloadBytes, to.host);
    client.onOpen = () => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      events.open(client);
    };
    timer = clock.setTimeout(() => {
      if (settled) return;
      client.abandon();
      fail(new Error("Opening handshake has timed out"));
    }, o.handshakeTimeoutMs);
    net.links.send(from, to.host, 0, () => {
      if (settled) return;
      const answer = (err: Error) => net.links.send(to.host, from, 0, () => fail(err));
      const bound = net.listener(to.host, to.port);
      if (!bound) return answer(Object.assign(new Error(`connect ECONNREFUSED ${to.host}:${to.port}`), { code: "ECONNREFUSED" }));
      const refusal = bound.o.admit(from);
      if (refusal) return answer(new Error(`Unexpected server response: ${refusal.status}`));
      const server = new Endpoint(net, to.host, from, bound.o.maxPayloadBytes, from);
      server.state = "open";
      server.peer = client;
      client.peer = server;
      server.transmit({ kind: "open" }, 0); // first on its direction: nothing the server sends overtakes it
      bound.o.onConnection(server);
    });
  }
}

/** One end of a memory connection. */
class Endpoint implements Connection {
  state: "connecting" | "open" | "closing" | "closed" = "connecting";
  peer?: Endpoint;
  /** the dialler's: called when the `open` frame arrives */
  onOpen?: () => void;
  private buffered = 0;
  private sendSeq = 0;
  private recvSeq = 0;
  // Frames that arrived ahead of an earlier one, by sequence number (looked up, never iterated).
  private readonly held = new Map<number, Frame>();
  private readonly handlers: { [E in keyof ConnectionEvents]: ConnectionEvents[E][] } = { message: [], pong: [], close: [], error: [] };

  constructor(
    private readonly net: MemoryNetwork,
    private readonly local: string,
    private readonly remote: string,
    private readonly maxPayloadBytes: number,
    readonly remoteAddress: string,
  ) {}

  get isOpen(): boolean {
    return this.state === "open";
  }

  get bufferedAmount(): number {
    return this.buffered;
  }

  send(text: string): void {
    if (this.state !== "open") return;
    const bytes = Buffer.byteLength(text);
    this.transmit({ kind: "message", text, bytes }, bytes);
  }

  ping(): void {
    if (this.state === "open") this.transmit({ kind: "ping" }, 0);
  }

  close(code: number, reason: string): void {
    if (this.state !== "open") return;
    this.state = "closing";
    this.transmit({ kind: "close", code, reason }, 0);
  }

  terminate(): void {
    if (this.state === "closed") return;
    this.abandon();
    // Like a destroyed socket: the close event comes on a later turn, not inside the call.
    this.net.clock.setTimeout(() => this.emit("close", 1006, ""), 0);
  }

  on<E extends keyof ConnectionEvents>(event: E, fn: ConnectionEvents[E]): void {
    this.handlers[event].push(fn);
  }

  /** Closed here without a close event; the other end (if any) learns it was dropped. */
  abandon(): void {
    const wasLive = this.state !== "closed" && this.peer !== undefined;
    this.state = "closed";
    if (wasLive) this.transmit({ kind: "drop" }, 0);
  }

  /** Sends a frame to the other end, numbered on this direction. */
  transmit(frame: Frame, bytes: number): void {
    const peer = this.peer;
    if (!peer) return;
    const seq = this.sendSeq++;
    this.buffered += bytes;
    this.net.links.send(this.local, this.remote, bytes, () => {
      this.buffered -= bytes;
      peer.receive(seq, frame);
    });
  }

  private receive(seq: number, frame: Frame): void {
    this.held.set(seq, frame);
    for (let f = this.held.get(this.recvSeq); f !== undefined; f = this.held.get(this.recvSeq)) {
      this.held.delete(this.recvSeq++);
      this.handle(f);
    }
  }

  private handle(f: Frame): void {
    if (this.state === "closed") return;
    switch (f.kind) {
      case "open":
        this.state = "open";
        return this.onOpen?.();
      case "message":
        if (f.bytes > this.maxPayloadBytes) {
          this.emit("error", new RangeError("Max payload size exceeded"));
          return this.close(1009, "");
        }
        return this.emit("message", Buffer.from(f.text));
      case "ping":
        if (this.state === "open") this.transmit({ kind: "pong" }, 0);
        return;
      case "pong":
        return this.emit("pong");
      case "close":
        // The other end started the closing handshake: echo it; or this is the echo of ours.
        if (this.state === "open") this.transmit({ kind: "close", code: f.code, reason: f.reason }, 0);
        this.state = "closed";
        return this.emit("close", f.code, f.reason);
      case "drop":
        this.state = "closed";
        return this.emit("close", 1006, "");
    }
  }

  private emit<E extends keyof ConnectionEvents>(event: E, ...args: Parameters<ConnectionEvents[E]>): void {
    for (const fn of this.handlers[event]) (fn as (...a: unknown[]) => void)(...args);
  }
}

function key(host: string, port: number): string {
  return `${host}:${port}`;
}

function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

// The host and port of a ws:// or wss:// URL (default ports 80 and 443); undefined for anything else.
function target(url: string): { host: string; port: number } | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (u.protocol !== "ws:" && u.protocol !== "wss:") return undefined;
  return { host: unbracket(u.hostname), port: u.port ? Number(u.port) : u.protocol === "ws:" ? 80 : 443 };
}
