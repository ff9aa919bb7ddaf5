// Finality on the chain (docs/protocol.md §5a, §5, §6.4) over real LevelDB: every imported block's
// finality state is computed, committed by finality_root, stored with the block and kept across a
// restart; attestations' FFG votes are checked in blocks; justification and finalization advance
// with honest votes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { attest, attestOn, blockFor, makeKeys, makeSpec, openTestChain, tempDir, type TestKey } from "../../helpers/fixtures.ts";
import { BlockError } from "../../../src/chain/errors.ts";
import { sealBlock } from "../../../src/producer/blockBuilder.ts";
import { finalityRoot, genesisFinality } from "../../../src/consensus/finality.ts";
import type { Chain } from "../../../src/chain/chain.ts";
import type { Block } from "../../../src/consensus/types.ts";

const keys = makeKeys(3);
const spec = makeSpec(keys);
const I = spec.params.checkpoint_interval;

async function rejects(p: Promise<unknown>, code: string, what: string) {
  await assert.rejects(p, (e: unknown) => e instanceof BlockError && e.code === code, `${what}: expected ${code}`);
}

// A primary block on the head carrying every validator's honest attestation of the head.
async function next(chain: Chain, voters: TestKey[] = keys): Promise<Block> {
  const head = chain.head;
  const attestations = head.height === 0 ? [] : await Promise.all(voters.map((k) => attestOn(chain, k, head.height, head.hash)));
  return blockFor(chain, head, keys, 0, { attestations });
}

test("with 3 honest validators finality advances: cp(k) is justified in interval k and finalized in interval k+1; F is stored and survives a restart", async () => {
  const t = tempDir();
  try {
    const c = await openTestChain(spec, t.dir);
    assert.deepEqual(await c.chain.finalityOf(c.chain.genesis.hash), genesisFinality(c.chain.genesis.hash));
    const finalizedAt: number[] = [];
    for (let n = 1; n <= 4 * I + 2; n++) {
      const b = await next(c.chain);
      assert.equal((await c.chain.importBlock(b)).status, "imported");
      const f = (await c.db.getFinality(b.hash))!;
      assert.ok(f, `F(${n}) is stored with the block`);
      assert.equal(finalityRoot(f), b.header.finality_root);
      assert.deepEqual(c.chain.finalized, f.finalized);
      finalizedAt[n] = f.finalized.height;
    }
    // Votes for the head at k·I are carried by block k·I + 1: cp(k) is justified there, and cp(k-1) finalized.
    assert.equal(c.chain.justified.height, 4 * I);
    assert.equal(c.chain.finalized.height, 3 * I);
    assert.equal(finalizedAt[2 * I + 1], I, "cp(1) finalized once cp(2) is justified");
    assert.equal(finalizedAt[2 * I], 0, "not before");
    assert.equal(c.chain.finalized.hash, (await c.chain.getCanonicalMeta(3 * I))!.hash);
    const head = c.chain.head.hash;
    const before = c.chain.headFinalityState;
    await c.close();
    const again = await openTestChain(spec, t.dir);
    try {
      assert.equal(again.chain.head.hash, head);
      assert.deepEqual(again.chain.headFinalityState, before, "the head's F is read back at start");
    } finally {
      await again.close();
    }
  } finally {
    t.cleanup();
  }
});

test("two of three validators voting justify nothing; finality stays at genesis", async () => {
  const c = await openTestChain(spec);
  try {
    for (let n = 1; n <= 2 * I + 2; n++) await c.chain.importBlock(await next(c.chain, keys.slice(0, 2)));
    assert.equal(c.chain.justified.height, 0);
    assert.equal(c.chain.finalized.height, 0);
    assert.ok(c.chain.headFinalityState.votes.length > 0, "their votes are tallied");
  } finally {
    await c.destroy();
  }
});

test("a block is refused for a wrong finality_root or slashings_root, or an attestation whose target or source is not the branch's", async () => {
  const c = await openTestChain(spec);
  try {
    for (let n = 1; n <= I + 2; n++) await c.chain.importBlock(await next(c.chain));
    const head = c.chain.head; // height I + 2: target cp(1), source genesis (cp(1) is justified at I + 1)
    const producerOf = (b: Block) => keys.find((k) => k.ebid === b.header.producer)!;
    const good = await next(c.chain);
    await rejects(c.chain.importBlock(sealBlock({ ...good.header, finality_root: "ab".repeat(32) }, good, producerOf(good).secretKey, c.chain.genesis.hash)), "BAD_ROOT", "finality_root");
    await rejects(c.chain.importBlock(sealBlock({ ...good.header, slashings_root: "ab".repeat(32) }, good, producerOf(good).secretKey, c.chain.genesis.hash)), "BAD_ROOT", "slashings_root");
    const honest = await attestOn(c.chain, keys[1]!, head.height, head.hash);
    const target = { height: honest.target_height, hash: honest.target_hash };
    const genesis = { height: 0, hash: c.chain.genesis.hash };
    const cases: [string, Block["attestations"][number]][] = [
      ["a target at another height", attest(keys[1]!, head.height, head.hash, { source: genesis, target: { height: head.height, hash: head.hash } }, c.chain.genesis.hash)],
      ["a target off the branch", attest(keys[1]!, head.height, head.hash, { source: genesis, target: { height: I, hash: "cd".repeat(32) } }, c.chain.genesis.hash)],
      ["a source that is not justified", attest(keys[1]!, head.height, head.hash, { source: { height: 1, hash: (await c.chain.getCanonicalMeta(1))!.hash }, target }, c.chain.genesis.hash)],
      ["a source at the target", attest(keys[1]!, head.height, head.hash, { source: target, target }, c.chain.genesis.hash)],
      ["an interval-0 vote past interval 0", attest(keys[1]!, head.height, head.hash, genesis.hash)],
    ];
    for (const [what, a] of cases) {
      await rejects(c.chain.importBlock(await blockFor(c.chain, head, keys, 0, { attestations: [a] })), "BAD_ATTESTATION", what);
    }
    assert.equal((await c.chain.importBlock(await blockFor(c.chain, head, keys, 0, { attestations: [honest] }))).status, "imported");
  } finally {
    await c.destroy();
  }
});
