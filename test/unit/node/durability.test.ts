// What a node acknowledges is on disk first, over a real node, HTTP and LevelDB: the LevelDB calls
// are watched (the node's own ClassicLevel, its batch and put wrapped to record their options and
// when they finished), so the test shows the order "write with sync: true finished, then the 2xx"
// for each of them. What it cannot show is the disk keeping its promise on power loss:
// that rests on LevelDB's sync (fsync/fdatasync of its log) and on the drive honouring flushes.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ClassicLevel } from "classic-level";
import { VisionNode } from "../../../src/node/node.ts";
import { blockFor, makeKeys, makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { signTransfer, txHash } from "../../../src/chain/tx.ts";

const keys = makeKeys(3);
const payer = makeKeys(5)[4]!;
const spec = makeSpec(keys, { alloc: { [payer.ebid]: "1000000" } });

interface Write {
  keys: string[];
  sync: boolean;
  doneAt: number;
}

/** Records every put and batch of the node's LevelDB: keys, sync option, completion time. */
function watchWrites(node: VisionNode): Write[] {
  const level = (node.db as unknown as { db: ClassicLevel<string, unknown> }).db;
  const writes: Write[] = [];
  const batch = level.batch.bind(level) as unknown as (ops: { key: string }[], o?: { sync?: boolean }) => Promise<void>;
  const put = level.put.bind(level) as unknown as (k: string, v: unknown, o?: { sync?: boolean }) => Promise<void>;
  Object.assign(level, {
    batch: async (ops: { key: string }[], o?: { sync?: boolean }) => {
      await batch(ops, o);
      writes.push({ keys: ops.map((op) => op.key), sync: o?.sync === true, doneAt: performance.now() });
    },
    put: async (k: string, v: unknown, o?: { sync?: boolean }) => {
      await put(k, v, o);
      writes.push({ keys: [k], sync: o?.sync === true, doneAt: performance.now() });
    },
  });
  return writes;
}

test("transfers submitted together are each fsynced to the journal before POST /api/tx answers 200", async () => {
  const t = tempDir();
  const node = await VisionNode.init({ dataDir: t.dir, spec, p2p: { host: "127.0.0.1", port: 0 }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false }, silentLog);
  try {
    const writes = watchWrites(node);
    const txs = Array.from({ length: 40 }, (_, nonce) => signTransfer(payer, { chain_id: spec.chain_id, to: keys[0]!.ebid, amount: "1000", fee: "10", nonce }));
    const acks = await Promise.all(
      txs.map(async (tx) => {
        const r = await fetch(`http://127.0.0.1:${node.apiPort}/api/tx`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(tx) });
        assert.equal(r.status, 200, await r.clone().text());
        await r.arrayBuffer();
        return performance.now();
      }),
    );
    txs.forEach((tx, i) => {
      const w = writes.find((x) => x.keys.includes(`p!${txHash(tx)}`));
      assert.ok(w, `transfer ${i} journaled`);
      assert.equal(w.sync, true, `transfer ${i} journaled with sync`);
      assert.ok(w.doneAt <= acks[i]!, `transfer ${i} on disk before its 200`);
    });
  } finally {
    await node.close();
    t.cleanup();
  }
});

test("a submitted block is written with sync before the node acknowledges it", async () => {
  const t = tempDir();
  const node = await VisionNode.init({ dataDir: t.dir, spec, p2p: { host: "127.0.0.1", port: 0 }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false }, silentLog);
  try {
    const writes = watchWrites(node);
    const block = await blockFor(node.chain, node.chain.head, keys, 0);
    const out = await node.submitMinedBlock(block);
    const ackAt = performance.now();
    assert.equal(out.status, "accepted");
    const w = writes.find((x) => x.keys.includes(`b!${block.hash}`));
    assert.ok(w, "the block written");
    assert.equal(w.sync, true, "the block's batch written with sync");
    assert.ok(w.keys.includes("head") && w.doneAt <= ackAt, "the block and the new head on disk before the answer");
  } finally {
    await node.close();
    t.cleanup();
  }
});
