// Peers that lie about their height: each completes the signed handshake with a fresh key, reports a
// height far above the node's tip in hello and in a status every 500 ms, never serves a block (a
// request gets `ok: false` with no data, or no answer at all) and comes back with a new key whenever
// it is dropped, or on its own every `reconnectMs`.
import { randomBytes } from "node:crypto";
import { ebidOf } from "../../src/consensus/signatures.ts";
import { Domain, sign } from "../../src/consensus/signatures.ts";
import { rawClient } from "./net.ts";

/** What a liar needs to know of its target. */
export interface LiarTarget {
  /** ws://host:port of the node's P2P server */
  url: string;
  chainId: string;
  genesisHash: string;
  /** the node's EBID (the handshake signs it) */
  ebid: string;
  /** the node's tip height now (the liar claims this + `ahead`) */
  tipHeight(): number;
}

/** How the liars behave. */
export interface LiarOptions {
  /** how far above the tip they claim (default 1000) */
  ahead?: number;
  /** the odd-numbered liars never answer a request, the even ones refuse at once (default true) */
  mixSilent?: boolean;
  /** each liar drops its connection and comes back with a fresh key this often (ms; default never) */
  reconnectMs?: number;
}

/** Counters of a running band of liars. */
export interface LiarStats {
  connections: number;
  statuses: number;
  requests: number;
  /** close reasons the node gave, as received */
  closes: string[];
}

/**
 * Runs `count` liars against `target` until `stop()`: each claims `tipHeight() + ahead`. Resolves
 * `stop()` once every socket is closed.
 */
export function runLiars(target: LiarTarget, count: number, opts: LiarOptions = {}): { stats: LiarStats; stop(): Promise<void> } {
  const stats: LiarStats = { connections: 0, statuses: 0, requests: 0, closes: [] };
  let stopped = false;
  const loops = Array.from({ length: count }, async (_, i) => {
    const silent = (opts.mixSilent ?? true) && i % 2 === 1;
    while (!stopped) {
      await oneConnection(target, opts.ahead ?? 1000, silent, opts.reconnectMs, stats, () => stopped).catch(() => undefined);
      if (!stopped) await new Promise((r) => setTimeout(r, 100));
    }
  });
  return {
    stats,
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

async function oneConnection(t: LiarTarget, ahead: number, silent: boolean, reconnectMs: number | undefined, stats: LiarStats, stopped: () => boolean): Promise<void> {
  const secretKey = new Uint8Array(randomBytes(32));
  const ebid = ebidOf(secretKey);
  const c = await rawClient(t.url);
  stats.connections++;
  const send = (m: object): boolean => {
    if (c.ws.readyState !== c.ws.OPEN) return false;
    c.ws.send(JSON.stringify(m) + "\n");
    return true;
  };
  const nonce = randomBytes(32).toString("hex");
  const fakeTip = () => randomBytes(32).toString("hex");
  send({ type: "hello", version: 1, chain_id: t.chainId, genesis_hash: t.genesisHash, ebid, nonce, listen_port: 0, height: t.tipHeight() + ahead, tip_hash: fakeTip() });
  let acked = false;
  let seen = 0;
  const onLines = () => {
    for (; seen < c.lines.length; seen++) {
      let m: { type?: string; nonce?: string; id?: unknown };
      try {
        m = JSON.parse(c.lines[seen]!);
      } catch {
        continue;
      }
      if (m.type === "hello" && !acked) {
        acked = true;
        const obj = { chain_id: t.chainId, genesis_hash: t.genesisHash, ebid, peer_ebid: t.ebid, nonce, peer_nonce: m.nonce };
        send({ type: "hello_ack", sig: sign(Domain.hello, obj, secretKey) });
      } else if (m.type === "req") {
        stats.requests++;
        if (!silent) send({ type: "res", id: m.id, ok: false, data: null, errors: ["not now"] });
      }
    }
  };
  c.ws.on("message", () => setImmediate(onLines));
  const timer = setInterval(() => {
    if (stopped()) return c.ws.close();
    if (acked && send({ type: "status", height: t.tipHeight() + ahead, tip_hash: fakeTip() })) stats.statuses++;
  }, 500);
  const leave = reconnectMs === undefined ? undefined : setTimeout(() => c.ws.close(), reconnectMs);
  const closed = await c.closed;
  clearInterval(timer);
  clearTimeout(leave);
  if (closed.reason) stats.closes.push(closed.reason);
}
