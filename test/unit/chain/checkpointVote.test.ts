// The attester's rule for a new FFG target (docs/protocol.md §5 "Who attests", node policy), on a
// real Chain over LevelDB: a checkpoint block is voted for once no sibling can take its height by
// fork choice alone (`checkpointVoteReady`), or at the interval's last head. A backup's checkpoint
// block at the head is displaced by the primary's late block (a vote cast for it then would have
// been spent); the primary's slot-0 block, and a backup's block with a slot-0 child, are not.
// Played by an attacker, what the rule does and what it cannot do:
// - a producer that withholds every slot-0 block it could make at and after a checkpoint height
//   makes honest attesters skip at most the heads `t` and `t + 1` of the interval: three blocks
//   weigh at least 3, so the head `t + 2` is voted at whatever the slots (never all I >= 4 heads);
// - once the rule lets a vote through, no single block at the checkpoint height (slot 0, the
//   heaviest one alone) takes the height back;
// - a withheld slot-0 checkpoint block released with one child does take it back after the votes
//   were signed (the vote is spent: one per target height, §6.6), the child being any slot its
//   producer holds on the withheld block's branch, its hash ground against the honest child's when
//   the weights tie. In a pool of at most `1 + backup_slots` validators every validator holds a
//   slot at every height, so this costs the attacker no more than a slot-0 at a checkpoint height
//   (protocol.md "Known weaknesses": votes do not weigh in fork choice).
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkpointVoteReady } from "../../../src/consensus/forkChoice.ts";
import type { Chain } from "../../../src/chain/chain.ts";
import type { Block } from "../../../src/consensus/types.ts";
import type { BlockMeta } from "../../../src/storage/records.ts";
import { blockFor, makeKeys, makeSpec, openTestChain } from "../../helpers/fixtures.ts";

const keys = makeKeys(4);
const spec = makeSpec(keys, { params: { block_time_ms: 2000, checkpoint_interval: 4, attestation_max_age: 4 } });
const I = spec.params.checkpoint_interval;

/** The rule at the chain's head for the checkpoint block `cp` of its branch. */
async function rule(chain: Chain, cp: BlockMeta): Promise<boolean> {
  const parent = (await chain.getMeta(cp.parent_hash))!;
  return checkpointVoteReady(cp, BigInt(chain.head.total_weight) - BigInt(parent.total_weight), chain.head.height, I);
}

async function put(chain: Chain, b: Block): Promise<BlockMeta> {
  assert.equal((await chain.importBlock(b)).status, "imported");
  return (await chain.getMeta(b.hash))!;
}

const add = async (chain: Chain, parent: BlockMeta, slot: number) => put(chain, await blockFor(chain, parent, keys, slot));

/** Extends the canonical chain with slot-0 blocks up to the height before the next checkpoint. */
async function toCheckpointParent(chain: Chain): Promise<BlockMeta> {
  do await add(chain, chain.head, 0);
  while ((chain.head.height + 1) % I !== 0);
  return chain.head;
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

test("withholding every slot 0 at and after a checkpoint makes honest attesters skip two heads at most; then no single sibling takes the height", async () => {
  const t = await openTestChain(spec);
  try {
    const { chain } = t;
    const parent = await toCheckpointParent(chain);
    // Backups only (every slot-0 holder withholding): cp at t, then t + 1, t + 2.
    const cp = await add(chain, parent, 1);
    const skipped: number[] = [];
    let voted: BlockMeta | undefined;
    for (let h = cp.height; h < cp.height + I; h++) {
      if (h > cp.height) await add(chain, chain.head, 1);
      if (await rule(chain, cp)) {
        voted = chain.head;
        break;
      }
      skipped.push(h);
    }
    assert.deepEqual(skipped, [cp.height, cp.height + 1], "the heads t and t + 1 are skipped, no more");
    assert.equal(voted!.height, cp.height + 2);
    // The withheld primary's block at t, released now (the heaviest single sibling): the voted branch stays.
    await add(chain, parent, 0);
    assert.equal(chain.head.hash, voted!.hash, "a single slot-0 sibling does not take back a height the rule voted for");
  } finally {
    await t.destroy();
  }
});

test("a withheld slot-0 checkpoint block released with one child of its producer displaces the backup's block the rule voted for (known weakness)", async () => {
  const t = await openTestChain(spec);
  try {
    const { chain } = t;
    const params = chain.spec.params;
    for (let tries = 0; ; tries++) {
      assert.ok(tries < 40, "no interval where the attacker's roles line up");
      const parent = await toCheckpointParent(chain);
      const attacker = (await chain.scheduleFor(parent)).winners[0]!;
      // The attacker withholds its slot-0 block at t; the honest backup makes t, an honest primary t + 1.
      const honestCp = await blockFor(chain, parent, keys, 1);
      const withheld = await blockFor(chain, parent, keys, 0);
      const B = await put(chain, honestCp);
      if ((await chain.scheduleFor(B)).winners[0] === attacker) continue; // it would withhold t + 1 too: another interval
      const C = await add(chain, B, 0);
      assert.equal(chain.head.hash, C.hash);
      assert.equal(await rule(chain, B), true, "the honest attesters vote for the backup's checkpoint block at t + 1");

      // The attacker's child of its withheld block: the slot it holds there (every validator holds
      // one in a pool of at most 1 + backup_slots), its hash ground against C's when the weights tie.
      const A = await put(chain, withheld);
      assert.equal(chain.head.hash, C.hash, "the withheld block alone does not displace B + C");
      const k = (await chain.scheduleFor(A)).winners.indexOf(attacker);
      assert.ok(k >= 0, "the attacker holds a slot at t + 1 on its own branch");
      let A2 = await blockFor(chain, A, keys, k);
      while (k > 0 && A2.hash > C.hash) A2 = await blockFor(chain, A, keys, k, { timestamp: A2.header.timestamp + 1 });
      // In time: publishable (timestamp within the drift) before the honest t + 2 can exist.
      assert.ok(A2.header.timestamp - params.max_future_drift_ms <= C.timestamp + params.block_time_ms, `child at slot ${k} is out in time`);
      await put(chain, A2);
      assert.equal(chain.head.hash, A2.hash, `the withheld block and its child (slot ${k}) displace B + C`);
      const cpNow = (await chain.branchHashes(chain.head, parent.height + 1)).get(parent.height + 1);
      assert.equal(cpNow, A.hash, "the checkpoint at t is now the withheld block: the votes for B are spent");
      return;
    }
  } finally {
    await t.destroy();
  }
});
