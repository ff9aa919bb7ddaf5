// Signatures bind the chain (docs/protocol.md §3.3, protocol version 3): block and attestation
// signatures cover the genesis hash, so slashing evidence made on one chain (a key shared with a
// private test chain, say) is no evidence on another. Through the real chain on LevelDB: two chains
// with the same validators and different genesis hashes; a block on chain B carrying chain A's
// double vote or chain A's two equivocating headers is refused BAD_SLASHING, while the same
// evidence signed for chain B imports and slashes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { blockFor, makeKeys, makeSpec, openTestChain, type TestKey } from "../../helpers/fixtures.ts";
import { blocksItem, doubleVote } from "../../helpers/slashing.ts";
import { BlockError } from "../../../src/chain/errors.ts";

const keys = makeKeys(3);
const [k0, k1] = keys as [TestKey, TestKey, TestKey];
const params = { block_time_ms: 2000, epoch_length: 4 };
const specA = makeSpec(keys, { chain_id: "vision-test-a", params });
const specB = makeSpec(keys, { chain_id: "vision-test-b", params });

async function rejects(p: Promise<unknown>, code: string, what: string) {
  await assert.rejects(p, (e: unknown) => e instanceof BlockError && e.code === code, `${what}: expected ${code}`);
}

test("evidence signed on chain A is refused BAD_SLASHING on chain B (votes and blocks); chain B's own evidence slashes", async () => {
  const a = await openTestChain(specA);
  const b = await openTestChain(specB);
  try {
    assert.notEqual(a.chain.genesis.hash, b.chain.genesis.hash, "two chains");
    const gA = a.chain.genesis.hash;
    const gB = b.chain.genesis.hash;
    // chain A: two blocks by one producer at height 1 (an equivocation there)
    const x = await blockFor(a.chain, a.chain.head, keys, 0);
    const y = await blockFor(a.chain, a.chain.head, keys, 0, { timestamp: x.header.timestamp + 1 });
    assert.notEqual(x.hash, y.hash);
    const equivocationA = blocksItem(x, y);
    const producerA = x.header.producer;

    await rejects(b.chain.importBlock(await blockFor(b.chain, b.chain.head, keys, 0, { slashings: [doubleVote(k1, 8, gA)] })), "BAD_SLASHING", "chain A's double vote on chain B");
    await rejects(b.chain.importBlock(await blockFor(b.chain, b.chain.head, keys, 0, { slashings: [equivocationA] })), "BAD_SLASHING", "chain A's equivocation on chain B");
    for (const k of keys) assert.equal((await b.chain.registryAfter(b.chain.head)).get(k.ebid)!.slashed, false, "nobody is slashed on chain B");

    // the same kinds of evidence signed for chain B are evidence there
    const own = await blockFor(b.chain, b.chain.head, keys, 0, { slashings: [doubleVote(k1, 8, gB)] });
    assert.equal((await b.chain.importBlock(own)).status, "imported");
    assert.equal((await b.chain.registryAfter(b.chain.head)).get(k1.ebid)!.slashed, true, "chain B's own double vote slashes");
    assert.equal((await b.chain.registryAfter(b.chain.head)).get(k0.ebid === producerA ? keys[2]!.ebid : k0.ebid)!.slashed, false);
  } finally {
    await a.destroy();
    await b.destroy();
  }
});
