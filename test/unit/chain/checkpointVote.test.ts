// The attester's rule for a new FFG target (docs/protocol.md §5, node policy): a checkpoint block is
// voted for once no sibling can take its height by fork choice alone (`checkpointVoteReady`), or at
// the interval's last head. On a real Chain over LevelDB: a backup's checkpoint block at the head is
// displaced by the primary's late block (so a vote cast for it then would have been spent); the
// primary's slot-0 block and a backup's block with a slot-0 child are not displaced by any single
// sibling.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkpointVoteReady } from "../../../src/consensus/forkChoice.ts";
import type { Chain } from "../../../src/chain/chain.ts";
import type { BlockMeta } from "../../../src/storage/records.ts";
import { blockFor, makeKeys, makeSpec, openTestChain } from "../../helpers/fixtures.ts";

const keys = makeKeys(4);
const spec = makeSpec(keys, { params: { block_time_ms: 2000, checkpoint_interval: 4, attestation_max_age: 4 } });
const I = spec.params.checkpoint_interval;

async function rule(chain: Chain, block: BlockMeta): Promise<boolean> {
  const parent = (await chain.getMeta(block.parent_hash))!;
  return checkpointVoteReady(block, BigInt(chain.head.total_weight) - BigInt(parent.total_weight), chain.head.height, I);
}

async function add(chain: Chain, parent: BlockMeta, slot: number): Promise<BlockMeta> {
  const b = await blockFor(chain, parent, keys, slot);
  assert.equal((await chain.importBlock(b)).status, "imported");
  return (await chain.getMeta(b.hash))!;
}

test("a backup's checkpoint block is voted for only once it has a child that outweighs any sibling; the primary's at once", async () => {
  const t = await openTestChain(spec);
  try {
    const { chain } = t;
    while (chain.head.height < I - 1) await add(chain, chain.head, 0);
    const before = chain.head;

    // A backup's block at the checkpoint height, the head: not yet (a late primary takes its height).
    const backup = await add(chain, before, 1);
    assert.equal(chain.head.hash, backup.hash);
    assert.equal(await rule(chain, backup), false);
    const late = await add(chain, before, 0);
    assert.equal(chain.head.hash, late.hash, "the primary's late block displaced the backup's: a vote for it would be spent");
    // The primary's slot-0 block at the head: at once.
    assert.equal(await rule(chain, late), true);

    // A backup's checkpoint block with a backup's child weighs 2, as the slot-0 sibling: not yet (the
    // lower height wins the tie); with a slot-0 child it weighs 3: no single sibling takes it.
    const t2 = await openTestChain(spec);
    try {
      const c2 = t2.chain;
      while (c2.head.height < I - 1) await add(c2, c2.head, 0);
      const base = c2.head;
      const cp = await add(c2, base, 1);
      const child = await add(c2, cp, 1);
      assert.equal(c2.head.hash, child.hash);
      assert.equal(await rule(c2, cp), false);
      const grandchild = await add(c2, child, 0);
      assert.equal(await rule(c2, cp), true);
      await add(c2, base, 0);
      assert.equal(c2.head.hash, grandchild.hash, "a single slot-0 sibling does not displace a branch the rule voted for");
    } finally {
      await t2.destroy();
    }
  } finally {
    await t.destroy();
  }
});

test("at the interval's last head a backup's checkpoint block is voted for whatever its weight (a short interval has no later head)", () => {
  const backup = { slot: 1, height: 8 };
  assert.equal(checkpointVoteReady(backup, 1n, 8, 4), false);
  assert.equal(checkpointVoteReady(backup, 2n, 10, 4), false);
  assert.equal(checkpointVoteReady(backup, 2n, 11, 4), true, "head 11 is interval [8, 12)'s last");
  for (const I of [1, 2]) assert.equal(checkpointVoteReady({ slot: 2, height: 8 }, 1n, 8 + I - 1, I), true, `I = ${I}`);
  assert.equal(checkpointVoteReady({ slot: null, height: 8 }, 3n, 10, 4), true, "a fallback block with weight past 2 above it");
});
