// PoW chains (docs/protocol.md §8) through the real chain: expected difficulty from the chain,
// retargets, and refusal of blocks below it or without the work.
import { test } from "node:test";
import assert from "node:assert/strict";
import { makeKeys, makeSpec, openTestChain, previewRoots } from "../../helpers/fixtures.ts";
import { draftHeader, sealBlock } from "../../../src/producer/blockBuilder.ts";
import { expectedDifficulty, headerMeetsPow } from "../../../src/consensus/index.ts";
import { BlockError } from "../../../src/chain/errors.ts";
import type { Header } from "../../../src/consensus/types.ts";

const keys = makeKeys(1);
const params = { block_time_ms: 1000, genesis_difficulty: 1, difficulty_adjustment_interval: 2, max_difficulty_change: 2, min_difficulty: 1, max_difficulty: 3, target_block_time_ms: 1000 };
const spec = makeSpec(keys, { consensus: "pow", validators: [], params });

function mine(h: Header): Header {
  for (let nonce = 0; ; nonce++) {
    const x = { ...h, nonce };
    if (headerMeetsPow(x)) return x;
  }
}

test("expected difficulty follows the retarget rule along the chain; easier or unmined blocks are refused", async () => {
  const c = await openTestChain(spec);
  try {
    const spacing = [100, 100, 100, 100, 5000, 5000, 5000, 5000, 1000, 1000];
    const ts: number[] = [spec.genesis_timestamp];
    for (const gap of spacing) {
      const parent = c.chain.head;
      const expected = await c.chain.expectedDifficultyFor(parent);
      assert.equal(expected, expectedDifficulty(parent.height + 1, (h) => ts[h]!, params), `height ${parent.height + 1}`);
      const { stateRoot, validatorsRoot, finalityRoot } = await previewRoots(c.chain, parent, keys[0]!.ebid, []);
      const base = draftHeader({ parent, producer: keys[0]!.ebid, slot: null, timestamp: parent.timestamp + gap, attestations: [], difficulty: expected, stateRoot, validatorsRoot, finalityRoot });
      if (expected > 1) {
        const easier = mine({ ...base, difficulty: expected - 1 });
        await assert.rejects(c.chain.importBlock(sealBlock(easier, { attestations: [] }, keys[0]!.secretKey, c.chain.genesis.hash)), (e) => e instanceof BlockError && e.code === "BAD_DIFFICULTY");
      }
      const unmined = { ...base, nonce: 0 };
      if (!headerMeetsPow(unmined)) {
        await assert.rejects(c.chain.importBlock(sealBlock(unmined, { attestations: [] }, keys[0]!.secretKey, c.chain.genesis.hash)), (e) => e instanceof BlockError && e.code === "BAD_POW");
      }
      const r = await c.chain.importBlock(sealBlock(mine(base), { attestations: [] }, keys[0]!.secretKey, c.chain.genesis.hash));
      assert.equal(r.status, "imported");
      ts.push(parent.timestamp + gap);
    }
    const seen = ts.slice(1).map((_, i) => expectedDifficulty(i + 1, (h) => ts[h]!, params));
    assert.ok(seen.includes(3) && seen.includes(1), `difficulty rose and fell: ${seen}`);
    // pow weight is work: 16^difficulty per block
    assert.ok(BigInt(c.chain.head.total_weight) > 16n * BigInt(spacing.length));
    // a slot block is not a pow block
    const parent = c.chain.head;
    const { stateRoot, validatorsRoot, finalityRoot } = await previewRoots(c.chain, parent, keys[0]!.ebid, []);
    const slotted = mine({ ...draftHeader({ parent, producer: keys[0]!.ebid, slot: 0, timestamp: parent.timestamp + 10, attestations: [], difficulty: 3, stateRoot, validatorsRoot, finalityRoot }) });
    await assert.rejects(c.chain.importBlock(sealBlock(slotted, { attestations: [] }, keys[0]!.secretKey, c.chain.genesis.hash)), (e) => e instanceof BlockError && e.code === "WRONG_PRODUCER");
  } finally {
    await c.destroy();
  }
});
