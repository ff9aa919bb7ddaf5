// The operator surface of finality (docs/protocol.md §5a, §7) through the real HTTP API on 127.0.0.1
// over a real chain on LevelDB, at a fork where the store's finalized checkpoint (the one fork choice
// never reverts: 4) is above the head branch's own (0): every surface reports the store's finalized
// checkpoint and its justified one (8), above the head branch's own (4) (test/helpers/finalityNode.ts builds the chain).
import { test } from "node:test";
import assert from "node:assert/strict";
import { WebSocket } from "ws";
import { call } from "../../helpers/openapi.ts";
import { finalityNode, I } from "../../helpers/finalityNode.ts";
import { txHash } from "../../../src/chain/tx.ts";

type Checkpoint = { height: number; hash: string };

test("finalized and justified (the store's, not the head branch's) in /api/chain/head, /api/status and the stream's views", async () => {
  const f = await finalityNode();
  try {
    const chain = f.node.chain;
    const cp1: Checkpoint = { height: I, hash: (await chain.getCanonicalMeta(I))!.hash };
    assert.equal(chain.head.height, 2 * I + 1);
    assert.notDeepEqual(chain.finalized, cp1, "the fixture: the head branch has not finalized cp(1)");
    const cp2: Checkpoint = { height: 2 * I, hash: (await chain.getCanonicalMeta(2 * I))!.hash };
    const expect = { finalized: cp1, justified: cp2 };
    assert.deepEqual(chain.justified, cp1, "the fixture: the head branch justified cp(1) only (its votes for cp(2) are on the other branch)");
    assert.deepEqual(chain.justifiedCheckpoint, cp2, "the fixture: the store justified cp(2)");

    const head = await call(f.api, "GET", "/api/chain/head", 200);
    assert.deepEqual({ finalized: head.finalized, justified: head.justified }, expect, "/api/chain/head");
    const status = await call(f.api, "GET", "/api/status", 200);
    assert.deepEqual({ finalized: status.finalized, justified: status.justified }, expect, "/api/status");
    const view = await call(f.api, "GET", "/api/mining/stream", 200);
    assert.deepEqual({ finalized: view.tip.finalized, justified: view.tip.justified }, expect, "the stream's view (plain GET)");
    const ws = new WebSocket(`${f.api.replace("http", "ws")}/api/mining/stream`);
    const views: { tip: { height: number; finalized: Checkpoint; justified: Checkpoint } }[] = [];
    ws.on("message", (d) => views.push(JSON.parse(String(d))));
    try {
      await waitUntil(() => views.length >= 1, "the first view");
      assert.deepEqual({ finalized: views[0]!.tip.finalized, justified: views[0]!.tip.justified }, expect, "the stream's first view");

      // The head branch catches up: it justifies cp(2) and finalizes cp(1) itself.
      const b = await f.voteOnHead();
      await waitUntil(() => views.some((v) => v.tip.height === b.header.height), "a view of the new head");
      const v = views.find((x) => x.tip.height === b.header.height)!;
      assert.deepEqual({ finalized: v.tip.finalized, justified: v.tip.justified }, { finalized: cp1, justified: cp2 }, "the new head's view");
      const again = await call(f.api, "GET", "/api/chain/head", 200);
      assert.deepEqual({ finalized: again.finalized, justified: again.justified }, { finalized: cp1, justified: cp2 });
      const s2 = await call(f.api, "GET", "/api/status", 200);
      assert.deepEqual({ finalized: s2.finalized, justified: s2.justified }, { finalized: cp1, justified: cp2 });
    } finally {
      ws.terminate();
    }
  } finally {
    await f.close();
  }
});

test("GET /api/blocks/finalized: the finalized checkpoint's block, as /api/blocks/{height_or_hash} answers it", async () => {
  const f = await finalityNode();
  try {
    const cp = f.node.chain.finalizedCheckpoint;
    assert.equal(cp.height, I, "the fixture: cp(1) is finalized on the other branch only");
    const block = await call(f.api, "GET", "/api/blocks/finalized", 200);
    assert.deepEqual(block, await call(f.api, "GET", `/api/blocks/${cp.hash}`, 200));
    assert.deepEqual([block.header.height, block.hash, block.is_canonical], [cp.height, cp.hash, true]);
    await call(f.api, "GET", "/api/blocks/finalized?limit=1", 400);
  } finally {
    await f.close();
  }
});

test("GET /api/tx/{hash}: finalized at or below the finalized checkpoint, included above it, with the same fields", async () => {
  const f = await finalityNode();
  try {
    const [low, high] = f.txs.map((t) => txHash(t)) as [string, string];
    const at = async (h: number) => (await f.node.chain.getCanonicalMeta(h))!.hash;
    assert.deepEqual(await call(f.api, "GET", `/api/tx/${low}`, 200), { hash: low, status: "finalized", height: 2, block_hash: await at(2) }, "height 2 <= the finalized checkpoint's 4");
    assert.deepEqual(await call(f.api, "GET", `/api/tx/${high}`, 200), { hash: high, status: "included", height: 6, block_hash: await at(6) }, "height 6 is above it");
  } finally {
    await f.close();
  }
});

async function waitUntil(fn: () => boolean, what: string, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
