// Junk blocks for memory and liveness tests and benchmarks: hostile peers with fresh keys sending
// valid-looking blocks on unknown parents and a validator's valid fallback side blocks on old parents.
import { randomBytes } from "node:crypto";
import type { Chain } from "../../src/chain/chain.ts";
import type { ChainSpec } from "../../src/chain/spec.ts";
import { draftHeader, sealBlock } from "../../src/producer/blockBuilder.ts";
import { headerMeetsPow } from "../../src/consensus/hashing.ts";
import { slotOpensAt } from "../../src/consensus/timing.ts";
import { signTransfer } from "../../src/chain/tx.ts";
import type { Block, Header, Tx } from "../../src/consensus/types.ts";
import type { BlockMeta } from "../../src/storage/records.ts";
import { handshakeClient, waitFor } from "./net.ts";
import { getJson, startMesh, type NodeProc } from "./nodeProcess.ts";
import { previewRoots, revealFor, testKey, type TestKey } from "./fixtures.ts";

/** What every empty block by one producer on one parent shares, whatever its timestamp: its roots and RANDAO reveal. */
type Roots = Awaited<ReturnType<typeof previewRoots>> & { randaoReveal: string };
import { median } from "../../bench/stats.ts";

export function freshKey(): TestKey {
  return testKey(new Uint8Array(randomBytes(32)));
}

/**
 * A hostile peer with a fresh key. It reports the node's own head in `status` every 500 ms, like an
 * honest peer at the tip, so what is measured is the blocks it sends, not a lie about its height.
 */
export async function junkPeer(node: NodeProc, spec: ChainSpec, genesisHash: string) {
  const key = freshKey();
  const c = await handshakeClient(`ws://127.0.0.1:${node.p2pPort}`, key, spec.chain_id, genesisHash, node.ebid);
  await waitFor(() => c.lines.filter((l) => l.includes('"status"')).length > 0, 5000, "the node's status");
  const status = async () => {
    const h = await getJson(`${node.api}/api/chain/head`).catch(() => undefined);
    if (h && c.ws.readyState === c.ws.OPEN) c.ws.send(JSON.stringify({ type: "status", height: h.height, tip_hash: h.hash }) + "\n");
  };
  await status();
  const timer = setInterval(() => void status(), 500);
  timer.unref();
  return {
    key,
    send: (block: Block) => c.ws.send(JSON.stringify({ type: "block", block }) + "\n"),
    close: () => {
      clearInterval(timer);
      c.ws.close();
    },
  };
}

/** `n` signed transfers from a fresh key (valid in form; the sender has no funds). */
export function transfers(spec: ChainSpec, n: number): Tx[] {
  const payer = freshKey();
  return Array.from({ length: n }, (_, i) => signTransfer(payer, { chain_id: spec.chain_id, to: payer.ebid, amount: "1", fee: "0", nonce: i }));
}

/** A slot block at `height` on a parent nobody has, signed for the chain of `genesisHash`: passes every check that needs no parent. */
export function junkOrphan(key: TestKey, txs: Tx[], height: number, genesisHash: string): Block {
  const h = draftHeader({ parent: { hash: randomBytes(32).toString("hex"), mix: randomBytes(32).toString("hex"), height: height - 1 }, producer: key.ebid, slot: 0, timestamp: Date.now(), attestations: [], txs, stateRoot: "00".repeat(32), validatorsRoot: "00".repeat(32), finalityRoot: "00".repeat(32) });
  return sealBlock(h, { txs, attestations: [] }, key.secretKey, genesisHash);
}

/**
 * A valid fallback block on `parent` (stored in `chain`), as early as the fallback opens, by
 * `producer`, an active validator (since protocol version 2 only one may make a fallback block
 * while validators are active: an outsider's is refused at once), with its RANDAO reveal;
 * `variant` ms later than that, so one parent yields many blocks; `roots` caches roots and reveal by
 * parent (a BLS signature each: signing it once per parent, not once per block, keeps 1,000 side
 * blocks quick to build).
 */
export async function junkSideBlock(chain: Chain, parent: BlockMeta, producer: TestKey, variant = 0, roots = new Map<string, Roots>()): Promise<Block> {
  const schedule = await chain.scheduleFor(parent);
  const timestamp = slotOpensAt(parent.timestamp, schedule.winners.length, chain.spec.params) + variant;
  // An empty block by one producer on one parent has the same roots and reveal whatever its timestamp.
  let r = roots.get(parent.hash);
  if (!r) roots.set(parent.hash, (r = { ...(await previewRoots(chain, parent, producer.ebid, [])), randaoReveal: revealFor(chain, schedule, producer) }));
  const { stateRoot, validatorsRoot, finalityRoot, randaoReveal } = r;
  let h: Header = draftHeader({ parent, producer: producer.ebid, slot: null, timestamp, attestations: [], difficulty: chain.spec.params.fallback_difficulty, stateRoot, validatorsRoot, finalityRoot, randaoReveal });
  while (!headerMeetsPow(h)) h = { ...h, nonce: h.nonce + 1 };
  return sealBlock(h, { attestations: [] }, producer.secretKey, chain.genesis.hash);
}

/** Imports into `chain` the node's canonical blocks above `chain`'s head. */
export async function syncReplica(chain: Chain, node: NodeProc): Promise<void> {
  const top = (await getJson(`${node.api}/api/chain/head`)).height as number;
  for (let from = chain.head.height + 1; from <= top; from += 100) {
    const { blocks } = await getJson<{ blocks: (Block & Record<string, unknown>)[] }>(`${node.api}/api/blocks?from=${from}&limit=100`);
    for (const b of blocks) {
      if (b.header.height > top) break;
      await chain.importBlock({ hash: b.hash, header: b.header, signature: b.signature, txs: b.txs, attestations: b.attestations, slashings: b.slashings });
    }
  }
}

/** `nodejs_heap_size_used_bytes` of a node, from its `/metrics`. */
export async function heapUsed(node: NodeProc): Promise<number> {
  const text = await (await fetch(`${node.api}/metrics`)).text();
  const m = /^nodejs_heap_size_used_bytes\s+(\d+(?:\.\d+)?(?:e\+\d+)?)/m.exec(text);
  if (!m) throw new Error("no nodejs_heap_size_used_bytes in /metrics");
  return Number(m[1]);
}

/** The least of `samples` readings of `heapUsed`, 1 s apart: what stays live, less uncollected garbage. */
export async function heapSettled(node: NodeProc, samples = 5): Promise<number> {
  let least = Infinity;
  for (let i = 0; i < samples; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 1000));
    least = Math.min(least, await heapUsed(node));
  }
  return least;
}

/** Median ms between consecutive canonical blocks in heights [from, to], from header timestamps. */
export async function medianInterval(node: NodeProc, from: number, to: number): Promise<number> {
  const ts: number[] = [];
  for (let f = from; f <= to; f += 100) {
    const { blocks } = await getJson<{ blocks: { header: { timestamp: number } }[] }>(`${node.api}/api/blocks?from=${f}&limit=${Math.min(100, to - f + 1)}`);
    ts.push(...blocks.map((b) => b.header.timestamp));
  }
  return median(ts.slice(1).map((x, i) => x - ts[i]!));
}

/**
 * Starts a mesh of node processes (`startMesh`) whose V8 old space is capped at `oldSpaceMib`: a
 * node whose live heap passes it aborts, so a heap bound holds whatever the collector's timing.
 */
export async function startCappedMesh(dir: string, keys: TestKey[], spec: ChainSpec, oldSpaceMib: number): Promise<NodeProc[]> {
  const options = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${options ?? ""} --max-old-space-size=${oldSpaceMib}`.trim();
  try {
    return await startMesh(dir, keys, spec);
  } finally {
    if (options === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = options;
  }
}

/**
 * Sends `count` unknown-parent blocks of max_block_txs transfers, then (after bringing `replica` to
 * the node's tip) `count` fallback side blocks by `validator` (a hostile active validator: the
 * worst valid case) on parents 6..60 below the tip, to `target` from hostile peers with fresh keys
 * (a new one every 8 blocks: refused blocks are strikes).
 * @returns the transfers carried per junk block
 */
export async function sendJunk(target: NodeProc, spec: ChainSpec, replica: Chain, count: number, validator: TestKey): Promise<number> {
  const head = async () => (await getJson(`${target.api}/api/chain/head`)).height as number;
  const txs = transfers(spec, spec.params.max_block_txs);
  let peer = await junkPeer(target, spec, replica.genesis.hash);
  let sent = 0;
  const next = async () => {
    if (++sent % 8 === 0) {
      peer.close();
      peer = await junkPeer(target, spec, replica.genesis.hash);
    }
  };
  let height = 0;
  for (let i = 0; i < count; i++) {
    if (i % 50 === 0) height = await head();
    peer.send(junkOrphan(peer.key, txs, Math.max(1, height - 1), replica.genesis.hash));
    await next();
  }
  await syncReplica(replica, target);
  const tip = replica.head.height;
  const roots = new Map<string, Roots>();
  for (let i = 0; i < count; i++) {
    // Parents 6 to 60 blocks below the tip: those past the fork horizon are refused at once, the
    // others are stored but not relayed.
    const parent = (await replica.getCanonicalMeta(Math.max(1, tip - 6 - (i % 55))))!;
    peer.send(await junkSideBlock(replica, parent, validator, Math.floor(i / 55), roots));
    await next();
  }
  peer.close();
  return txs.length;
}
