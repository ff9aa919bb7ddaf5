// Well-formed but hostile blocks sent to real nodes over P2P (real processes, raw WebSockets that
// complete the signed handshake with fresh keys): blocks from far in the future, unknown-parent
// blocks that are invalid or large, and cheap fallback side blocks on old parents. The attacker
// builds valid blocks with its own replica of the chain (same spec, real LevelDB).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeSpec, openTestChain, previewRoots, tempDir, testKey, type TestKey } from "../helpers/fixtures.ts";
import { getJson, startNode, type NodeProc } from "../helpers/nodeProcess.ts";
import { handshakeClient, waitFor } from "../helpers/net.ts";
import { draftHeader, sealBlock } from "../../src/producer/blockBuilder.ts";
import { headerMeetsPow } from "../../src/consensus/hashing.ts";
import { slotOpensAt } from "../../src/consensus/timing.ts";
import { signTransfer } from "../../src/chain/tx.ts";
import { MAX_PARKED_BYTES_PER_SOURCE } from "../../src/chain/chain.ts";
import type { Block, Header, Tx } from "../../src/consensus/types.ts";
import type { BlockMeta } from "../../src/storage/records.ts";

const DAY = 24 * 3600 * 1000;
const freshKey = (): TestKey => {
  return testKey(new Uint8Array(randomBytes(32)));
};
// An empty pool: a fallback block may follow any parent one block time later, so the attacker can
// make valid blocks on any parent with its own keys; difficulty 1 keeps the work to ~16 hashes.
const spec = makeSpec([], { genesis_timestamp: Date.now() - 3600_000, params: { block_time_ms: 1000, fallback_difficulty: 1 } });
const t = tempDir();
let replica: Awaited<ReturnType<typeof openTestChain>>;
let a: NodeProc;
let b: NodeProc;

function mine(h: Header): Header {
  for (let nonce = 0; ; nonce++) {
    const x = { ...h, nonce };
    if (headerMeetsPow(x)) return x;
  }
}

/** A valid fallback block by `key` on `parent` (stored in the replica), at `at` or once the fallback opens. */
async function fallback(parent: BlockMeta, key: TestKey, at?: number): Promise<Block> {
  const opens = slotOpensAt(parent.timestamp, (await replica.chain.scheduleFor(parent)).winners.length, spec.params);
  const timestamp = Math.max(at ?? 0, opens);
  const { stateRoot, validatorsRoot, finalityRoot } = await previewRoots(replica.chain, parent, key.ebid, []);
  const h = mine(draftHeader({ parent, producer: key.ebid, slot: null, timestamp, attestations: [], difficulty: 1, stateRoot, validatorsRoot, finalityRoot }));
  return sealBlock(h, { attestations: [] }, key.secretKey, replica.chain.genesis.hash);
}

/** A signed slot block on a parent nobody has, with `txs`. */
function orphan(key: TestKey, txs: Tx[], signed = true): Block {
  const h = draftHeader({ parent: { hash: randomBytes(32).toString("hex"), mix: randomBytes(32).toString("hex"), height: 5000 }, producer: key.ebid, slot: 0, timestamp: Date.now(), attestations: [], txs, stateRoot: "00".repeat(32), validatorsRoot: "00".repeat(32), finalityRoot: "00".repeat(32) });
  const block = sealBlock(h, { txs, attestations: [] }, key.secretKey, replica.chain.genesis.hash);
  return signed ? block : { ...block, signature: sealBlock(h, { txs, attestations: [] }, freshKey().secretKey, replica.chain.genesis.hash).signature };
}

async function attacker(node: NodeProc, key = freshKey()) {
  const url = `ws://127.0.0.1:${node.p2pPort}`;
  const c = await handshakeClient(url, key, spec.chain_id, replica.chain.genesis.hash, node.ebid);
  await waitFor(async () => (await peers(node)).some((p) => p.ebid === key.ebid), 5000, "the attacker's handshake");
  return { key, send: (block: Block) => c.ws.send(JSON.stringify({ type: "block", block }) + "\n"), close: () => c.ws.close() };
}

async function peers(node: NodeProc): Promise<{ ebid: string; strikes: number }[]> {
  return (await getJson(`${node.api}/api/peers`)).peers;
}
const strikesOf = async (node: NodeProc, ebid: string) => (await peers(node)).find((p) => p.ebid === ebid)?.strikes ?? -1;
const stored = async (node: NodeProc, hash: string) => (await fetch(`${node.api}/api/blocks/${hash}`)).status === 200;
const health = (node: NodeProc) => getJson(`${node.api}/api/health`);

before(async () => {
  replica = await openTestChain(spec);
  replica.clock.now = Date.now() + 3650 * DAY; // the replica never holds what it builds
  const specFile = join(t.dir, "chain.json");
  writeFileSync(specFile, JSON.stringify(spec));
  const extra = ["--no-produce", "--mining-workers", "1"];
  a = await startNode({ dataDir: join(t.dir, "a"), chain: specFile, extra });
  b = await startNode({ dataDir: join(t.dir, "b"), chain: specFile, peers: [`ws://127.0.0.1:${a.p2pPort}`], extra });
  await waitFor(async () => (await peers(a)).some((p) => p.ebid === b.ebid), 10_000, "b connected to a");
});

after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await replica?.close();
  t.cleanup();
});

test("side blocks forking far below the head are refused and struck; side blocks that cannot become the head are stored but not relayed", async () => {
  // The attacker's chain of fallback blocks becomes both nodes' chain.
  const feeder = await attacker(a);
  const chain: Block[] = [];
  for (let i = 0; i < 45; i++) {
    const blk = await fallback(replica.chain.head, feeder.key);
    await replica.chain.importBlock(blk);
    chain.push(blk);
  }
  for (const blk of chain) feeder.send(blk);
  const top = chain[chain.length - 1]!;
  await waitFor(async () => (await health(b)).chain.tip_hash === top.hash, 20_000, "both nodes on the fed chain");
  const head = replica.chain.head;
  const at = async (h: number) => (await replica.chain.getCanonicalMeta(h))!;

  // A fallback block on a parent 40 blocks below the head: refused, the sender struck, stored nowhere.
  const deep = await fallback(await at(head.height - 40), feeder.key, Date.now() - 1000);
  feeder.send(deep);
  await waitFor(async () => (await strikesOf(a, feeder.key.ebid)) >= 1, 5000, "the deep fork struck");
  assert.equal(await stored(a, deep.hash), false, "a deep lighter fork is not stored");

  // On a parent 5 below the head: valid and stored, but 4 blocks lighter than the head: not relayed.
  const shallow = await fallback(await at(head.height - 5), feeder.key, Date.now() - 1000);
  // A sibling of the head (one block could lift it past the head): relayed, so b has it too.
  const rival = await fallback(await at(head.height - 1), freshKey(), Date.now() - 500);
  feeder.send(shallow);
  feeder.send(rival);
  await waitFor(() => stored(b, rival.hash), 10_000, "the rival tip relayed to b");
  assert.equal(await stored(a, shallow.hash), true, "the shallow side block is stored");
  assert.equal(await stored(b, shallow.hash), false, "the side block that cannot become the head is not relayed");
  assert.equal(await stored(b, deep.hash), false, "nor the deep one");
  feeder.close();
});

test("blocks 30 days ahead are refused at once and their senders struck; an honest early block is still held and imported", async () => {
  const head = replica.chain.head;
  const far = Date.now() + 30 * DAY;
  // 64 far-future blocks (the size of the held set), from 8 fresh identities.
  const senders = await Promise.all(Array.from({ length: 8 }, () => attacker(a)));
  for (const [i, s] of senders.entries()) {
    for (let j = 0; j < 8; j++) s.send(await fallback(head, s.key, far + i * 8 + j));
  }
  await waitFor(async () => (await strikesOf(a, senders[7]!.key.ebid)) >= 1, 5000, "the far-future blocks' sender struck");
  for (const s of senders) assert.ok((await strikesOf(a, s.key.ebid)) >= 1, "each sender of a far-future block is struck");
  assert.equal((await health(a)).pending.held, 0, "nothing from 30 days ahead is held");
  const holding = () => a.logs.filter((l) => l.msg === "Holding block from the future").length;
  assert.equal(holding(), 0, "no far-future block is held (or re-held in a loop)");

  // An honest block 1.5 s early (past the drift) is held, then imported as the head.
  const honest = await attacker(a);
  const early = await fallback(head, honest.key, Date.now() + spec.params.max_future_drift_ms + 1500);
  honest.send(early);
  await waitFor(async () => (await health(a)).chain.tip_hash === early.hash, 10_000, "the early block imported as the head");
  assert.equal(holding(), 1, "held once");
  assert.equal(await strikesOf(a, honest.key.ebid), 0, "the honest sender is not struck");
  for (const s of [...senders, honest]) s.close();
  await replica.chain.importBlock(early);
});

test("unknown-parent blocks are checked before parking (bad signature, too many txs: refused and struck) and parked bytes stay bounded", async () => {
  const bad = await attacker(a);
  const parked0 = (await health(a)).pending.parked as number;
  bad.send(orphan(bad.key, [], false));
  await waitFor(async () => (await strikesOf(a, bad.key.ebid)) >= 1, 5000, "the bad signature struck");
  const payer = freshKey();
  const txs = Array.from({ length: spec.params.max_block_txs + 1 }, (_, i) =>
    signTransfer(payer, { chain_id: spec.chain_id, to: payer.ebid, amount: "1", fee: "0", nonce: i }),
  );
  bad.send(orphan(bad.key, txs));
  await waitFor(async () => (await strikesOf(a, bad.key.ebid)) >= 2, 5000, "too many transfers struck");
  assert.equal((await health(a)).pending.parked, parked0, "neither was parked");
  // The same limits hold for POST /submit_block.
  const res = await fetch(`${a.api}/submit_block`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ block: orphan(bad.key, [], false) }) });
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error, "bad_signature");
  bad.close();

  // Valid-looking full blocks on unknown parents from one sender: parked up to its byte budget only.
  const big = await attacker(a);
  const full = txs.slice(0, spec.params.max_block_txs);
  const size = JSON.stringify(orphan(big.key, full)).length;
  const n = Math.ceil((1.5 * MAX_PARKED_BYTES_PER_SOURCE) / size);
  for (let i = 0; i < n; i++) big.send(orphan(big.key, full));
  // A last invalid one: once it is struck, every block before it was handled (imports are in order).
  big.send(orphan(big.key, [], false));
  await waitFor(async () => (await strikesOf(a, big.key.ebid)) >= 1, 30_000, "the whole batch handled");
  const parked = ((await health(a)).pending.parked as number) - parked0;
  assert.ok(parked > 0, "valid-looking unknown-parent blocks are parked");
  assert.ok(parked * size <= MAX_PARKED_BYTES_PER_SOURCE, `${parked} blocks of ${size} bytes parked from one sender, at most ${MAX_PARKED_BYTES_PER_SOURCE} bytes`);
  assert.equal(await strikesOf(a, big.key.ebid), 1, "valid-looking blocks are not a strike");
  big.close();
});
