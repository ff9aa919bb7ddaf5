// A pow chain (docs/protocol.md §8) mined by two real node processes: every block's pow_hash meets
// its difficulty, the difficulty is at least the expected one (recomputed here from the chain), a
// retarget raises it when blocks come faster than the target, and both miners converge.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeSpec, tempDir } from "../helpers/fixtures.ts";
import { getJson, runCli, startNode, type NodeProc } from "../helpers/nodeProcess.ts";
import { writeKeyFile } from "../../src/node/keyfile.ts";
import { waitFor } from "../helpers/net.ts";
import { H, u64le, hashJson, omit } from "../../src/consensus/encoding.ts";
import type { Block, Header } from "../../src/consensus/types.ts";

// Interval 4 from height 8; blocks take well under a second against a 60 s target, so r < 0.5 and
// each retarget adds max_difficulty_change (2) until max_difficulty (5).
const params = { genesis_difficulty: 2, difficulty_adjustment_interval: 4, target_block_time_ms: 60_000, max_difficulty_change: 2, max_difficulty: 5, min_difficulty: 1 };

// Section 8, written out again here rather than imported, so the test checks the node's rule.
function expected(chain: Header[], h: number): number {
  let d = params.genesis_difficulty;
  for (let r = 2 * params.difficulty_adjustment_interval; r <= h; r += params.difficulty_adjustment_interval) {
    const ratio = (chain[r - 1]!.timestamp - chain[r - 1 - params.difficulty_adjustment_interval]!.timestamp) / (params.difficulty_adjustment_interval * params.target_block_time_ms);
    if (ratio < 0.5) d += params.max_difficulty_change;
    else if (ratio < 0.75) d += 1;
    else if (ratio > 2) d -= params.max_difficulty_change;
    else if (ratio > 1.5) d -= 1;
    d = Math.min(params.max_difficulty, Math.max(params.min_difficulty, d));
  }
  return d;
}

function powHex(h: Header): string {
  const seal = hashJson(omit(h, "nonce"));
  return Buffer.from(H(H(seal, u64le(h.nonce)))).toString("hex");
}

test("two miners on a pow chain: valid PoW at >= the expected difficulty, a retarget, convergence", async () => {
  const t = tempDir();
  const spec = makeSpec([], { consensus: "pow", genesis_timestamp: Date.now() - 1000, params });
  const specFile = join(t.dir, "chain.json");
  writeFileSync(specFile, JSON.stringify(spec));
  const nodes: NodeProc[] = [];
  try {
    const extra = ["--mining-workers", "1", "--log-level", "info"];
    nodes.push(await startNode({ dataDir: join(t.dir, "a"), chain: specFile, extra }));
    nodes.push(await startNode({ dataDir: join(t.dir, "b"), chain: specFile, extra, peers: [`ws://127.0.0.1:${nodes[0]!.p2pPort}`] }));
    const target = 13;
    // Both miners' blocks in the chain: the first node mines alone until the second has started and
    // connected, so on a loaded machine the first heights may all be its own.
    const minersOf = async (upTo: number) => new Set((await getJson<{ blocks: Block[] }>(`${nodes[0]!.api}/api/blocks?from=1&limit=${Math.min(upTo, 100)}`)).blocks.map((b) => b.header.producer)).size;
    await waitFor(async () => {
      const heads = await Promise.all(nodes.map((n) => getJson(`${n.api}/api/chain/head`)));
      return heads.every((h) => h.height >= target) && (await minersOf(heads[0].height)) === 2;
    }, 150_000, `both at height ${target}, with blocks of both miners`);
    await waitFor(async () => {
      const [a, b] = await Promise.all(nodes.map((n) => getJson(`${n.api}/api/chain/head`)));
      return a.hash === b.hash;
    }, 30_000, "both miners on one tip");

    const blocks = (await getJson<{ blocks: Block[] }>(`${nodes[0]!.api}/api/blocks?from=0&limit=${target + 1}`)).blocks;
    const headers = blocks.map((b) => b.header);
    for (const b of blocks.slice(1)) {
      const h = b.header;
      assert.equal(h.slot, null);
      assert.ok(powHex(h).startsWith("0".repeat(h.difficulty)), `pow_hash of height ${h.height} meets difficulty ${h.difficulty}`);
      assert.ok(h.difficulty >= expected(headers, h.height), `height ${h.height}: difficulty ${h.difficulty} < expected ${expected(headers, h.height)}`);
      assert.ok(h.timestamp > headers[h.height - 1]!.timestamp);
    }
    assert.equal(expected(headers, 7), 2);
    assert.equal(expected(headers, 8), 4, "the retarget at height 8 raised the difficulty by max_difficulty_change");
    assert.equal(expected(headers, 12), 5, "clamped to max_difficulty at the next one");
    assert.ok(headers[8]!.difficulty >= 4 && headers[12]!.difficulty >= 5);
    assert.equal(await minersOf(100), 2, "both miners found blocks");
    const other = (await getJson<{ blocks: Block[] }>(`${nodes[1]!.api}/api/blocks?from=0&limit=${target + 1}`)).blocks;
    assert.deepEqual(other.map((b) => b.hash), blocks.map((b) => b.hash), "both nodes hold the same chain");
    const detailed = await getJson(`${nodes[0]!.api}/status/detailed`);
    assert.ok(detailed.mining_stats.total_hashes > 0);
    assert.equal(detailed.mining_stats.retries, 0);
    assert.equal(detailed.mining_stats.filled_height_starts, 0);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    t.cleanup();
  }
});

test("an external miner process mines blocks through /mine_block and /submit_block", async () => {
  const t = tempDir();
  const spec = makeSpec([], { consensus: "pow", genesis_timestamp: Date.now() - 1000, params: { ...params, min_ready_peers: 0 } });
  const specFile = join(t.dir, "chain.json");
  writeFileSync(specFile, JSON.stringify(spec));
  const keyFile = join(t.dir, "miner.key");
  const key = writeKeyFile(keyFile);
  const node = await startNode({ dataDir: join(t.dir, "node"), chain: specFile, extra: ["--no-mine", "--log-level", "info"] });
  try {
    const r = runCli(["mine", "--node", node.api, "--key", keyFile, "--workers", "1", "--blocks", "3"], 120_000);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /accepted 3, stale 0, refused 0/);
    const blocks = (await getJson<{ blocks: Block[] }>(`${node.api}/api/blocks?from=1&limit=3`)).blocks;
    assert.equal(blocks.length, 3);
    for (const b of blocks) {
      assert.equal(b.header.producer, key.ebid, "the key's EBID is the producer");
      assert.ok(powHex(b.header).startsWith("0".repeat(b.header.difficulty)));
    }
    const account = await getJson(`${node.api}/api/accounts/${key.ebid}`);
    assert.equal(account.blocks_produced, 3);
    const detailed = await getJson(`${node.api}/status/detailed`);
    assert.equal(detailed.mining_stats.enabled, false, "the node itself does not mine with --no-mine");
  } finally {
    await node.stop();
    t.cleanup();
  }
});
