// Checkpoint sync (docs/protocol.md §9.7) between two in-process VisionNodes over real WebSockets
// and LevelDB: node A holds a chain past a finalized checkpoint; node B starts on an empty data dir
// from that checkpoint, fetches `/data/state_at`, verifies it, reaches A's tip with the same state,
// and goes on importing blocks it builds itself across several epoch boundaries (every read of the
// blocks below the checkpoint stays within the window it fetched). Refusals: a state that does not
// match the header roots (a peer struck, another one used), a hash that is not the serving chain's
// checkpoint, a branch without the checkpoint (FINALITY_CONFLICT), ranges below the window, and the
// flag on a data dir that holds a chain.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { VisionNode } from "../../../src/node/node.ts";
import { attestOn, blockFor, makeKeys, makeSpec, openTestChain, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import type { Chain } from "../../../src/chain/chain.ts";
import type { Block } from "../../../src/consensus/types.ts";
import type { BlockMeta } from "../../../src/storage/records.ts";
import { BlockError } from "../../../src/chain/errors.ts";
import { CheckpointError, type StateAtPage } from "../../../src/chain/checkpoint.ts";
import { fetchCheckpointState, fetchStateAt, serveStateAt, StateAtRefused, type StateAtSource } from "../../../src/sync/stateAt.ts";
import { handleSyncRequest } from "../../../src/sync/protocol.ts";
import { verifyDataDir } from "../../../src/chain/verify.ts";

const keys = makeKeys(4);
const spec = makeSpec(keys);
const I = spec.params.checkpoint_interval;
const L = spec.params.epoch_length;
const dirs = [tempDir(), tempDir()];
let a: VisionNode;
let b: VisionNode;
let sibling: Block; // a block at the checkpoint's height on another branch
let startedFrom: { height: number; hash: string }; // the checkpoint b started from

function opts(dataDir: string, peers: string[] = [], extra: Record<string, unknown> = {}) {
  return { dataDir, spec, p2p: { host: "127.0.0.1", port: 0, peers }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false, ...extra };
}

// A slot-`slot` block on `parent` carrying every validator's honest attestation of `parent`.
async function childOf(chain: Chain, parent: BlockMeta, slot = 0): Promise<Block> {
  const attestations = parent.height === 0 ? [] : await Promise.all(keys.map((k) => attestOn(chain, k, parent.height, parent.hash)));
  return blockFor(chain, parent, keys, slot, { attestations });
}

async function grow(chain: Chain, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const out = await chain.importBlock(await childOf(chain, chain.head));
    assert.equal(out.status, "imported");
  }
}

before(async () => {
  const c = await openTestChain(spec, dirs[0]!.dir);
  // 5 epochs and a bit: the checkpoint's window (its epoch's anchor, liveness window and finality floor) starts above genesis.
  await grow(c.chain, 5 * L + 5);
  const cp = c.chain.finalizedCheckpoint;
  assert.ok(cp.height >= 2 * L, `finalized checkpoint ${cp.height} is past two epochs`);
  sibling = await childOf(c.chain, (await c.chain.getCanonicalMeta(cp.height - 1))!, 1);
  await c.close();
  a = await VisionNode.init(opts(dirs[0]!.dir), silentLog);
});

after(async () => {
  await b?.close();
  await a.close();
  for (const d of dirs) d.cleanup();
});

// `a`'s chain as a peer that answers state_at requests, with a hook to tamper with pages.
function servingPeer(chain: Chain, tamper?: (page: StateAtPage) => void): StateAtSource {
  return {
    async request(path, data) {
      const res = await handleSyncRequest(chain, path, data);
      if (res.ok && tamper) tamper(res.data as StateAtPage);
      return res;
    },
  };
}

test("state_at serves the finalized checkpoint in pages that verify against its header roots; a state with one account changed does not, and its peer is struck while another serves", async () => {
  const cp = a.chain.finalizedCheckpoint;
  const v = await fetchStateAt(spec, cp, servingPeer(a.chain));
  assert.equal(v.blocks[v.blocks.length - 1]!.block.hash, cp.hash);
  assert.ok(v.window_from <= cp.height - 2 * L + 1, "the window reaches the next epoch's anchor and its liveness window");
  assert.ok(v.window_from > 1, `the window (from ${v.window_from}) leaves genesis's neighbours out`);
  assert.ok(v.accounts.length > 0);
  assert.equal(v.validators.length, keys.length);
  const liar = servingPeer(a.chain, (page) => {
    if (page.accounts.length) page.accounts[0]![1] = (BigInt(page.accounts[0]![1]) + 1n).toString();
  });
  await assert.rejects(fetchStateAt(spec, cp, liar), (e: unknown) => e instanceof CheckpointError && /state_root/.test(e.message));
  const changesLiar = servingPeer(a.chain, (page) => {
    const item = page.blocks.find((x) => x.changes && x.changes.changes.length);
    if (item) item.changes!.changes[0]!.after[1] += 1;
  });
  await assert.rejects(fetchStateAt(spec, cp, changesLiar), CheckpointError);
  const struck: StateAtSource[] = [];
  const honest = servingPeer(a.chain);
  const got = await fetchCheckpointState(spec, cp, { peers: () => [liar, honest], penalize: (p) => struck.push(p), log: silentLog }, { timeoutMs: 5000 });
  assert.equal(got.checkpoint.hash, cp.hash);
  assert.deepEqual(struck, [liar], "the peer whose state did not verify was struck, the honest one was not");
});

test("state_at pages: blocks cut by bytes, accounts and records a few at a time, joined into the same verified state", async () => {
  const cp = a.chain.finalizedCheckpoint;
  const whole = await fetchStateAt(spec, cp, servingPeer(a.chain));
  const cursors: (string | null)[] = [];
  const paged = await fetchStateAt(spec, cp, {
    async request(_path, data) {
      cursors.push((data as { cursor: string | null }).cursor);
      return serveStateAt(a.chain, data, { blockBytes: 1, accounts: 1, records: 1 });
    },
  });
  assert.deepEqual(paged, whole);
  const n = whole.blocks.length + whole.accounts.length + whole.validators.length;
  assert.equal(cursors.length, n, "one block, account or record a page");
  assert.equal(cursors[0], null);
  assert.ok(cursors.includes("a") && cursors.includes("v"));
});

test("state_at refuses a hash that is not the serving chain's checkpoint, a height that is not finalized, and bad cursors", async () => {
  const cp = a.chain.finalizedCheckpoint;
  const wrong = { height: cp.height, hash: sibling.hash };
  await assert.rejects(fetchStateAt(spec, wrong, servingPeer(a.chain)), (e: unknown) => e instanceof StateAtRefused && /not the block at height/.test(e.message) && e.message.includes(cp.hash));
  const above = await serveStateAt(a.chain, { height: cp.height + I, hash: cp.hash });
  assert.equal(above.ok, false);
  assert.match(String((above.errors as string[])[0]), /not finalized here/);
  const bad = await serveStateAt(a.chain, { height: cp.height, hash: cp.hash, cursor: "x1" });
  assert.equal(bad.ok, false);
  await assert.rejects(
    fetchCheckpointState(spec, wrong, { peers: () => [servingPeer(a.chain)], penalize: () => assert.fail("a refusal is no strike"), log: silentLog }, { timeoutMs: 300, retryMs: 100 }),
    (e: unknown) => e instanceof CheckpointError && /no peer served/.test(e.message),
  );
});

test("a node started with --checkpoint reaches the tip with the same state, refuses a branch without the checkpoint, and keeps importing across epoch boundaries", async () => {
  const cp = a.chain.finalizedCheckpoint;
  startedFrom = cp;
  b = await VisionNode.init(opts(dirs[1]!.dir, [`ws://127.0.0.1:${a.p2p.port}`], { checkpoint: cp, checkpointTimeoutMs: 20_000 }), silentLog);
  assert.deepEqual(b.chain.base?.checkpoint, cp);
  assert.deepEqual(b.chain.finalizedCheckpoint, cp);
  await waitFor(() => b.chain.head.hash === a.chain.head.hash || undefined, 20_000, "b at a's tip");
  assert.equal(b.chain.head.state_root, a.chain.head.state_root);
  assert.equal(await b.chain.validatorsRootAfter(b.chain.head), await a.chain.validatorsRootAfter(a.chain.head));
  assert.equal(await b.chain.getCanonicalMeta(1), undefined, "nothing below the window is held");
  // Below the window: sync ranges get a clear error, never a short reply.
  const r = await handleSyncRequest(b.chain, "/data/miner_block/range", { from_index: 1, to_index: 5 });
  assert.equal(r.ok, false);
  assert.match(String((r.errors as string[])[0]), new RegExp(`pruned below checkpoint ${cp.height}`));
  // ... and the API answers 404 naming the checkpoint.
  const api = await fetch(`http://127.0.0.1:${b.apiPort}/api/blocks/1`);
  assert.equal(api.status, 404);
  assert.match(JSON.stringify(await api.json()), new RegExp(`pruned below checkpoint ${cp.height}`));
  // A branch without the checkpoint: its block at the checkpoint's height is refused.
  await assert.rejects(b.chain.importBlock(sibling, { source: "test" }), (e: unknown) => e instanceof BlockError && e.code === "FINALITY_CONFLICT");
  // Three more epochs built on b (pools, anchors, finality floors and attestation ancestors read
  // above and below the checkpoint), each block also imported by a: both agree at every height.
  const start = b.chain.head.height;
  while (b.chain.head.height < start + 3 * L) {
    const block = await childOf(b.chain, b.chain.head);
    assert.equal((await b.chain.importBlock(block)).status, "imported");
    assert.equal((await a.chain.importBlock(block)).status, "imported");
  }
  assert.equal(b.chain.head.hash, a.chain.head.hash);
  assert.ok(b.chain.finalizedCheckpoint.height > cp.height, "finality moved on past the checkpoint on b");
  assert.deepEqual(b.chain.finalizedCheckpoint, a.chain.finalizedCheckpoint);
});

test("--checkpoint on a data dir that holds a chain is refused with one line; the checkpoint-started data dir reopens without it", async () => {
  const cp = a.chain.finalizedCheckpoint;
  await b.close();
  await assert.rejects(VisionNode.init(opts(dirs[1]!.dir, [], { checkpoint: cp }), silentLog), (e: unknown) => /--checkpoint needs an empty data dir/.test((e as Error).message) && !(e as Error).message.includes("\n"));
  // `db verify` replays from genesis: it says why it cannot check this data dir.
  const report = await verifyDataDir(dirs[1]!.dir, spec);
  assert.equal(report.ok, false);
  assert.match(report.problems[0]!, new RegExp(`started from checkpoint ${startedFrom.height}:`));
  b = await VisionNode.init(opts(dirs[1]!.dir), silentLog);
  assert.equal(b.chain.head.hash, a.chain.head.hash);
  assert.deepEqual(b.chain.base?.checkpoint, startedFrom);
  const block = await childOf(b.chain, b.chain.head);
  assert.equal((await b.chain.importBlock(block)).status, "imported");
});

test("a node started from a checkpoint does not sync from a peer whose longer chain forks below the checkpoint, and asks it for nothing below it", async () => {
  // c: a's blocks up to three below the checkpoint b started from, then a longer branch of its own.
  const forkAt = startedFrom.height - 3;
  const cdir = tempDir();
  const fork = await openTestChain(spec, cdir.dir);
  for (let h = 1; h <= forkAt; h++) await fork.chain.importBlock((await a.chain.getBlock((await a.chain.getCanonicalMeta(h))!.hash))!);
  while (fork.chain.head.height <= b.chain.head.height + 2) assert.equal((await fork.chain.importBlock(await blockFor(fork.chain, fork.chain.head, keys, 1))).status, "imported");
  await fork.close();
  const lines: string[] = [];
  const log = pino({ level: "info" }, { write: (l: string) => void lines.push(l) });
  await b.close();
  b = await VisionNode.init(opts(dirs[1]!.dir, [], {}), log);
  const head = b.chain.head.hash;
  const asked: { path: string; from?: number }[] = [];
  const c = await VisionNode.init(opts(cdir.dir, [`ws://127.0.0.1:${b.p2p.port}`]), silentLog);
  try {
    const served = c.p2p as unknown as { handlers: { onRequest: (p: unknown, path: string, data: unknown) => Promise<unknown> } };
    const onRequest = served.handlers.onRequest;
    served.handlers.onRequest = (p, path, data) => {
      asked.push({ path, from: (data as { from_index?: number } | null)?.from_index });
      return onRequest(p, path, data);
    };
    await waitFor(() => lines.some((l) => l.includes("does not contain our checkpoint")) || undefined, 10_000, "b refusing c's chain");
    assert.equal(b.chain.head.hash, head, "b kept its head");
    assert.ok(c.chain.head.height > b.chain.head.height);
    assert.deepEqual(asked.filter((x) => x.path !== "/data/find_ancestor" && x.path !== "/data/chain_info"), [], "b asked c for no blocks");
  } finally {
    await c.close();
    cdir.cleanup();
  }
});
