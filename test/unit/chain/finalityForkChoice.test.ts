// Fork choice with finality (docs/protocol.md §7) over real LevelDB: the chain keeps its finalized
// checkpoint (the greatest-height `finalized` among stored blocks' finality states, kept across a
// restart) and refuses any block whose branch does not contain it (FINALITY_CONFLICT, before the
// costly checks); only blocks descending from its justified checkpoint may be the head, and when
// the justified checkpoint moves off the head's branch the head moves to the best tip under it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { attestOn, blockFor, makeKeys, makeSpec, openTestChain, tempDir, type TestKey } from "../../helpers/fixtures.ts";
import { BlockError } from "../../../src/chain/errors.ts";
import type { Chain } from "../../../src/chain/chain.ts";
import type { Block } from "../../../src/consensus/types.ts";
import type { BlockMeta } from "../../../src/storage/records.ts";

const keys = makeKeys(4);
const spec = makeSpec(keys);
const I = spec.params.checkpoint_interval;

async function rejects(p: Promise<unknown>, code: string, what: string) {
  await assert.rejects(p, (e: unknown) => e instanceof BlockError && e.code === code, `${what}: expected ${code}`);
}

// A block in `slot` on `parent` carrying every voter's honest attestation of `parent`.
async function childOf(chain: Chain, parent: BlockMeta, slot: number, voters: TestKey[] = keys): Promise<Block> {
  const attestations = parent.height === 0 ? [] : await Promise.all(voters.map((k) => attestOn(chain, k, parent.height, parent.hash)));
  return blockFor(chain, parent, keys, slot, { attestations });
}

// Imports `n` blocks on `tip` (slot `slot`, with `voters`' attestations); returns the last one's meta.
async function branch(chain: Chain, tip: BlockMeta, n: number, slot: number, voters: TestKey[] = keys): Promise<BlockMeta> {
  for (let i = 0; i < n; i++) {
    const b = await childOf(chain, tip, slot, voters);
    const out = await chain.importBlock(b);
    assert.equal(out.status, "imported");
    tip = (await chain.getMeta(b.hash))!;
  }
  return tip;
}

test("the justified checkpoint moving off a heavier head's branch moves the head (a reorg); blocks off the finalized checkpoint's branch are refused with FINALITY_CONFLICT, also after a restart", async () => {
  const t = tempDir();
  try {
    let c = await openTestChain(spec, t.dir);
    // Honest chain: cp(2) justified, cp(1) finalized at height 2I+1.
    const base = await branch(c.chain, c.chain.head, 2 * I - 2, 0);
    // C: a side branch forking below cp(2), stored while cp(1) is the finalized checkpoint.
    let sideC = await branch(c.chain, base, 5, 1, []);
    assert.ok(sideC.height > 2 * I);
    const head = await branch(c.chain, base, 5, 0);
    assert.equal(c.chain.head.hash, head.hash);
    assert.equal(c.chain.justified.height, 2 * I);
    assert.equal(c.chain.finalized.height, I);
    const fork = c.chain.head;
    // A: heavier (slot 0), no votes; B: lighter (slot 1) with every validator's votes.
    const tipA = await branch(c.chain, fork, I, 0, []);
    assert.equal(c.chain.head.hash, tipA.hash, "the heavier branch is the head while nothing is justified on B");
    let tipB = fork;
    while (c.chain.head.hash === tipA.hash && tipB.height < fork.height + 2 * I) tipB = await branch(c.chain, tipB, 1, 1);
    assert.equal(c.chain.head.hash, tipB.hash, "B justified cp(3): the head moved to B although A weighs more");
    assert.ok(BigInt(tipA.total_weight) > BigInt(tipB.total_weight));
    assert.equal(c.chain.justifiedCheckpoint.height, 3 * I);
    assert.equal(c.chain.finalizedCheckpoint.height, 2 * I);
    assert.equal((await c.chain.getMeta(tipA.hash))!.is_canonical, false);
    // A heavier block on A does not descend from the justified checkpoint: stored, never the head.
    const moreA = await c.chain.importBlock(await childOf(c.chain, tipA, 0, []));
    assert.equal(moreA.status, "imported");
    assert.equal(c.chain.head.hash, tipB.hash);
    // Below or beside the finalized checkpoint: refused before any costly check.
    const belowFinalized = await blockFor(c.chain, (await c.chain.getCanonicalMeta(2 * I - 1))!, keys, 1);
    await rejects(c.chain.importBlock(belowFinalized), "FINALITY_CONFLICT", "a block at the finalized height off its branch");
    await rejects(c.chain.importBlock(await childOf(c.chain, sideC, 0, [])), "FINALITY_CONFLICT", "a child of a branch forking below the finalized checkpoint");
    await c.close();
    c = await openTestChain(spec, t.dir);
    assert.equal(c.chain.head.hash, tipB.hash);
    assert.equal(c.chain.finalizedCheckpoint.height, 2 * I, "the finalized checkpoint survives a restart");
    assert.equal(c.chain.justifiedCheckpoint.height, 3 * I);
    sideC = (await c.chain.getMeta(sideC.hash))!;
    await rejects(c.chain.importBlock(await childOf(c.chain, sideC, 0, [])), "FINALITY_CONFLICT", "after a restart");
    await c.close();
  } finally {
    t.cleanup();
  }
});

test("above the justified checkpoint fork choice is the weight rule: a heavier branch forking there wins", async () => {
  const c = await openTestChain(spec);
  try {
    await branch(c.chain, c.chain.head, 2 * I + 3, 0);
    assert.equal(c.chain.justified.height, 2 * I);
    // The honest chain goes on in backup slots (weight 1) with votes; a branch forking above cp(2)
    // with slot-0 blocks and no votes outweighs it and becomes the head.
    const fork = c.chain.head;
    const honest = await branch(c.chain, fork, 3, 1);
    assert.equal(c.chain.head.hash, honest.hash);
    const heavy = await branch(c.chain, fork, 2, 0, []);
    assert.equal(c.chain.head.hash, heavy.hash);
  } finally {
    await c.destroy();
  }
});

test("conflicting justifications: when the finalized checkpoint moves past the justified checkpoint of another branch, the justified checkpoint is found again under the new finalized one and the head follows", async () => {
  const c = await openTestChain(spec);
  try {
    const fork = await branch(c.chain, c.chain.head, 2 * I + 3, 0);
    // Y: slot 1 with every validator's votes, up to 4I (cp(3) justified, cp(2) finalized, cp(4) not yet justified).
    const tipY = await branch(c.chain, fork, 4 * I - fork.height, 1);
    const cp4Y = tipY;
    assert.equal(c.chain.finalizedCheckpoint.height, 2 * I);
    // X: slot 0, votes up to interval 2, none in interval 3 (so cp(3) is skipped there), its block at
    // 4I ground to hash below Y's; the block above carries votes for X's cp(4), from cp(2): justified,
    // nothing finalized. The justified checkpoint moves to X's cp(4) and the head with it.
    let tipX = fork;
    while (tipX.height < 4 * I - 1) tipX = await branch(c.chain, tipX, 1, 0, tipX.height < 3 * I ? keys : []);
    let cp4X: Block | undefined;
    for (let dt = 0; !cp4X || cp4X.hash > cp4Y.hash; dt++) {
      cp4X = await blockFor(c.chain, tipX, keys, 0, { timestamp: tipX.timestamp + spec.params.block_time_ms + dt });
    }
    assert.equal((await c.chain.importBlock(cp4X)).status, "imported");
    tipX = await branch(c.chain, (await c.chain.getMeta(cp4X.hash))!, 1, 0);
    assert.deepEqual(c.chain.justifiedCheckpoint, { height: 4 * I, hash: cp4X.hash });
    assert.equal(c.chain.head.hash, tipX.hash);
    // Y's next block justifies Y's cp(4) (a tie at 4I, which X's lower hash keeps) and finalizes Y's
    // cp(3), which X's cp(4) does not descend from: the justified checkpoint is Y's cp(4) again.
    const topY = await branch(c.chain, tipY, 1, 1);
    assert.equal(c.chain.finalizedCheckpoint.height, 3 * I);
    assert.deepEqual(c.chain.justifiedCheckpoint, { height: 4 * I, hash: cp4Y.hash });
    assert.equal(c.chain.head.hash, topY.hash);
    await rejects(c.chain.importBlock(await childOf(c.chain, tipX, 0, [])), "FINALITY_CONFLICT", "a child of X");
  } finally {
    await c.destroy();
  }
});

test("when a block moves the justified checkpoint off the head's branch, the head moves to the best tip under it, which need not be that block; state and finality follow", async () => {
  const t = tempDir();
  try {
    let c = await openTestChain(spec, t.dir);
    const fork = await branch(c.chain, c.chain.head, 2 * I + 3, 0);
    // A: the heaviest branch, no votes. B: slot 1 with votes up to cp(3); B2: forks at B's cp(3), slot 0, no votes.
    const tipA = await branch(c.chain, fork, 2 * I, 0, []);
    const cp3B = await branch(c.chain, fork, 3 * I - fork.height, 1);
    const tipB2 = await branch(c.chain, cp3B, 3, 0, []);
    assert.equal(c.chain.head.hash, tipA.hash);
    assert.equal(c.chain.justifiedCheckpoint.height, 2 * I);
    // B's next block carries the votes for cp(3): justified; the best tip under it is B2's, not B's new block.
    const b = await childOf(c.chain, cp3B, 1);
    const out = await c.chain.importBlock(b);
    assert.equal(out.status, "imported");
    assert.deepEqual(c.chain.justifiedCheckpoint, { height: 3 * I, hash: cp3B.hash });
    assert.equal(c.chain.head.hash, tipB2.hash, "the head is B2's tip");
    assert.equal(out.status === "imported" && out.newHead, false);
    const meta = (await c.chain.getMeta(b.hash))!;
    assert.equal(meta.is_canonical, false);
    assert.equal((await c.chain.getMeta(tipB2.hash))!.is_canonical, true);
    assert.equal((await c.chain.getMeta(tipA.hash))!.is_canonical, false);
    assert.equal((await c.chain.getCanonicalMeta(cp3B.height))!.hash, cp3B.hash);
    assert.deepEqual(c.chain.headFinalityState, await c.chain.finalityOf(tipB2.hash));
    // The head's state is B2's: a child of the head builds and imports.
    const next = await childOf(c.chain, c.chain.head, 0, []);
    assert.equal((await c.chain.importBlock(next)).status, "imported");
    assert.equal(c.chain.head.hash, next.hash);
    await c.close();
    c = await openTestChain(spec, t.dir);
    assert.equal(c.chain.head.hash, next.hash);
    assert.deepEqual(c.chain.justifiedCheckpoint, { height: 3 * I, hash: cp3B.hash });
    await c.close();
  } finally {
    t.cleanup();
  }
});
