/**
 * A transport whose connections the simulator watches and filters: `onFrame` sees every incoming
 * frame before the P2P layer's handler (the driver's record of block deliveries), `allow` decides
 * whether an outgoing frame is sent at all (a withholding coalition's filter, sim/adversary.ts),
 * `rewrite` may replace an outgoing frame's text (a liar's heights, sim/liars.ts; an equivocator's
 * twin block or vote, sim/equivocation.ts), `onClose` sees
 * the node close a connection and why (a ban names itself in the reason).
 * Everything else passes through unchanged.
 */
import type { Connection, ConnectionEvents, Transport } from "../p2p/transport.ts";

/** What a hooked transport does with its connections' frames; both optional. */
export interface FrameHooks {
  /** called with every incoming frame, before the P2P layer's handler (`remote`: the connection's remote address) */
  onFrame?: (data: Buffer, remote: string | undefined) => void;
  /** an outgoing frame is sent only when this returns true (`remote`: the connection's remote address) */
  allow?: (remote: string | undefined, text: string) => boolean;
  /** after `allow`: the text actually sent in place of an outgoing frame's (return it unchanged to pass it) */
  rewrite?: (remote: string | undefined, text: string) => string;
  /** called when the node closes (or terminates: code 1006) a connection, before it closes */
  onClose?: (remote: string | undefined, code: number, reason: string) => void;
}

class HookedConnection implements Connection {
  constructor(
    private readonly conn: Connection,
    private readonly hooks: FrameHooks,
  ) {}
  get remoteAddress(): string | undefined {
    return this.conn.remoteAddress;
  }
  get isOpen(): boolean {
    return this.conn.isOpen;
  }
  get bufferedAmount(): number {
    return this.conn.bufferedAmount;
  }
  send(text: string): void {
    if (this.hooks.allow && !this.hooks.allow(this.conn.remoteAddress, text)) return;
    this.conn.send(this.hooks.rewrite ? this.hooks.rewrite(this.conn.remoteAddress, text) : text);
  }
  ping(): void {
    this.conn.ping();
  }
  close(code: number, reason: string): void {
    this.hooks.onClose?.(this.conn.remoteAddress, code, reason);
    this.conn.close(code, reason);
  }
  terminate(): void {
    this.hooks.onClose?.(this.conn.remoteAddress, 1006, "terminated");
    this.conn.terminate();
  }
  on<E extends keyof ConnectionEvents>(event: E, fn: ConnectionEvents[E]): void {
    const onFrame = this.hooks.onFrame;
    if (event !== "message" || !onFrame) return this.conn.on(event, fn);
    const handler = fn as ConnectionEvents["message"];
    this.conn.on("message", (data: Buffer) => {
      onFrame(data, this.conn.remoteAddress);
      handler(data);
    });
  }
}

/** `inner` with every connection it opens or accepts wrapped by `hooks` (see the module docs). */
export function hookTransport(inner: Transport, hooks: FrameHooks): Transport {
  return {
    listen: (o) => inner.listen({ ...o, onConnection: (conn) => o.onConnection(new HookedConnection(conn, hooks)) }),
    dial: (url, o, events) => inner.dial(url, o, { open: (conn) => events.open(new HookedConnection(conn, hooks)), error: (err) => events.error(err) }),
  };
}

/** `inner` with every connection's incoming frames shown to `onFrame` before the P2P layer's handler. */
export function tapTransport(inner: Transport, onFrame: (data: Buffer, remote: string | undefined) => void): Transport {
  return hookTransport(inner, { onFrame });
}

/** `inner` with every connection's outgoing frames passed through `allow(remoteAddress, text)` first. */
export function filterTransport(inner: Transport, allow: (remote: string | undefined, text: string) => boolean): Transport {
  return hookTransport(inner, { allow });
}

/** `inner` with every connection's outgoing frames replaced by `rewrite(remoteAddress, text)`. */
export function rewriteTransport(inner: Transport, rewrite: (remote: string | undefined, text: string) => string): Transport {
  return hookTransport(inner, { rewrite });
}
