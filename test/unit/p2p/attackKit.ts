// What the attack tests share: a hostile peer that can connect from another local address (so the
// node sees a remote peer, e.g. 192.0.2.2 on this machine's eth0), complete the signed handshake
// with any key, and send any well-formed line.
import { randomBytes } from "node:crypto";
import { networkInterfaces } from "node:os";
import WebSocket from "ws";
import { Domain, sign } from "../../../src/consensus/signatures.ts";
import { PeerManager, type P2PHandlers } from "../../../src/p2p/peerManager.ts";
import { defaultP2POptions, type P2POptions } from "../../../src/p2p/options.ts";
import type { Peer } from "../../../src/p2p/peer.ts";
import { PROTOCOL_VERSION } from "../../../src/p2p/messages.ts";
import { pino, type Logger } from "pino";
import { silentLog, testKey, type TestKey } from "../../helpers/fixtures.ts";
import { settle, type VirtualClock } from "../../../src/util/clock.ts";
import { rawClient, waitFor } from "../../helpers/net.ts";

/** A new identity: EBIDs cost a stranger nothing. */
export function freshKey(): TestKey {
  return testKey(new Uint8Array(randomBytes(32)));
}

/** The chain every attack test runs on. */
export const GENESIS = "11".repeat(32);
export const CHAIN_ID = "c1";
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A non-loopback address of this machine, IPv4 first (connections from it look remote), if any. */
export function nonLoopback(family: "IPv4" | "IPv6" = "IPv4", privateOnly = false): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal || a.family !== family || a.address.startsWith("fe80")) continue;
      if (privateOnly && !/^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|f[cd])/i.test(a.address)) continue;
      if (!privateOnly && /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|f[cd])/i.test(a.address)) continue;
      return a.address;
    }
  }
  return undefined;
}

/** A node's P2P service on 127.0.0.1 with quick backoff. */
export function manager(key: TestKey, over: Partial<P2POptions> = {}, onReady: (p: Peer) => void = () => undefined, log: Logger = silentLog): PeerManager {
  const handlers: P2PHandlers = {
    status: () => ({ height: 3, tip_hash: "22".repeat(32) }),
    onPeerReady: onReady,
    onMessage: () => undefined,
    onRequest: async () => ({ ok: false }),
  };
  return new PeerManager(
    { ...defaultP2POptions, host: "127.0.0.1", port: 0, backoffBaseMs: 50, backoffCapMs: 200, ...over },
    { chainId: CHAIN_ID, genesisHash: GENESIS, ebid: key.ebid, secretKey: key.secretKey },
    handlers,
    log,
  );
}

/** A debug-level logger that keeps every entry as an object, to see what the node did (e.g. its dials). */
export function recordingLog(): { log: Logger; entries: Record<string, unknown>[] } {
  const entries: Record<string, unknown>[] = [];
  const log = pino({ level: "debug" }, { write: (line: string) => void entries.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, entries };
}

/** A raw hostile connection: every line it receives, its close, and a `send` of any object. */
export interface Hostile {
  ws: WebSocket;
  lines: string[];
  closed: Promise<{ code: number; reason: string }>;
  send(msg: object): void;
}

/** Opens a raw connection, from `localAddress` when given. */
export async function connect(url: string, localAddress?: string): Promise<Hostile> {
  const c = await rawClient(url, localAddress);
  return { ...c, send: (msg) => c.ws.send(JSON.stringify(msg) + "\n") };
}

/**
 * A hostile peer that completes the handshake as `key` (any key works: identities are free), with
 * extra hello fields (`advertise_url`, `agent`, `listen_port`...). Resolves once the node's ack came
 * and ours is sent.
 */
export async function handshake(url: string, key: TestKey, nodeEbid: string, opts: { localAddress?: string; hello?: Record<string, unknown>; chainId?: string; genesis?: string } = {}): Promise<Hostile> {
  const c = await connect(url, opts.localAddress);
  const nonce = randomBytes(32).toString("hex");
  const chain_id = opts.chainId ?? CHAIN_ID;
  const genesis_hash = opts.genesis ?? GENESIS;
  c.send({ type: "hello", version: PROTOCOL_VERSION, chain_id, genesis_hash, ebid: key.ebid, nonce, listen_port: 0, height: 0, tip_hash: genesis_hash, ...opts.hello });
  await waitFor(() => c.lines.some((l) => l.includes('"hello_ack"')), 5000, "the node's hello and ack");
  const theirs = JSON.parse(c.lines.find((l) => l.includes('"hello"'))!) as { nonce: string };
  c.send({ type: "hello_ack", sig: sign(Domain.hello, { chain_id, genesis_hash, ebid: key.ebid, peer_ebid: nodeEbid, nonce, peer_nonce: theirs.nonce }, key.secretKey) });
  return c;
}

/**
 * A plain TCP listener that counts the connections it is sent (a victim service); with `hold`, it
 * keeps them open without a word (a stranger's listener that stalls every dial).
 */
export async function victim(host: string, hold = false): Promise<{ port: number; hits: () => number; close: () => Promise<void> }> {
  const { createServer } = await import("node:net");
  let hits = 0;
  const held: import("node:net").Socket[] = [];
  const s = createServer((sock) => {
    hits++;
    if (hold) held.push(sock.on("error", () => undefined));
    else sock.destroy();
  });
  s.on("close", () => held.forEach((x) => x.destroy()));
  await new Promise<void>((resolve, reject) => {
    s.once("error", reject);
    s.listen(0, host, resolve);
  });
  return { port: (s.address() as { port: number }).port, hits: () => hits, close: () => new Promise((r) => {
    for (const x of held) x.destroy();
    s.close(() => r());
  }) };
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Fires every timer due within the next `ms` of `clock`, one at a time, letting promise work run between them; then sets its time to now + ms. */
export async function runFor(clock: VirtualClock, ms: number): Promise<void> {
  const end = clock.now() + ms;
  for (let at = clock.nextAt(); at !== undefined && at <= end; at = clock.nextAt()) {
    clock.next();
    await settle();
  }
  clock.advance(end - clock.now());
}
