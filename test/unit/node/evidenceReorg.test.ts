// Slashing evidence survives a reorg (docs/protocol.md §6.5, node policy), through the real node on
// LevelDB: a block from elsewhere carrying a slashing item gives this node the item, and when that
// block leaves the canonical chain (a heavier sibling without the item), the offender is slashable
// again and the node's producer is offered the item again. Items leave the pool only once their
// offender is slashed at the finalized checkpoint, which no reorg undoes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { blockFor, extend, makeKeys, makeSpec } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import { loneNode } from "../../helpers/loneNode.ts";
import { doubleVote } from "../../helpers/slashing.ts";
import { slashingOffender } from "../../../src/consensus/slashing.ts";

const keys = makeKeys(3);
const spec = makeSpec(keys, { params: { checkpoint_interval: 8 } });

test("a slashing item in a block that a reorg drops is offered to the producer again", async () => {
  const lone = await loneNode(spec);
  const { node } = lone;
  try {
    await extend(node.chain, keys, 3);
    const parent = node.chain.head;
    const item = doubleVote(keys[2]!, 8, node.chain.genesis.hash);
    // a backup's block (weight 1) with the item, found by another node: this node never saw the votes
    const x = await blockFor(node.chain, parent, keys, 1, { slashings: [item] });
    assert.equal((await node.chain.importBlock(x)).status, "imported");
    assert.equal(node.chain.head.hash, x.hash);
    assert.equal((await node.chain.registryAfter(node.chain.head)).get(slashingOffender(item))?.slashed, true);
    await new Promise((r) => setTimeout(r, 300)); // the node's work on the new head (its registry refresh)
    // the primary's block at the same height (weight 2) without the item: a reorg of depth 1
    const y = await blockFor(node.chain, parent, keys, 0);
    const r = await node.chain.importBlock(y);
    assert.equal(r.status === "imported" && r.reorgDepth, 1);
    assert.equal((await node.chain.registryAfter(node.chain.head)).get(slashingOffender(item))?.slashed, false);
    await waitFor(
      async () => node.evidence.pending(await node.chain.registryAfter(node.chain.head)).length === 1,
      2000,
      "the dropped block's item offered again on the new head",
    );
  } finally {
    await lone.close();
  }
});
