// Slashing items in blocks (docs/protocol.md §3.4, §6.4 rules 10 and 11, §6.5) through the real
// chain on LevelDB: the block schema takes exactly the two item kinds; a block carrying evidence
// imports and slashes its offender at the head; a block whose item is no evidence (BAD_SLASHING),
// whose offender is not slashable (NOT_SLASHABLE) or whose slashings_root lies (BAD_ROOT) is refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { blockFor, makeKeys, makeSpec, openTestChain, type TestKey } from "../../helpers/fixtures.ts";
import { doubleVote, fakeHash, vote } from "../../helpers/slashing.ts";
import { blockSchema } from "../../../src/consensus/wire.ts";
import { BlockError } from "../../../src/chain/errors.ts";
import { genesisBlock } from "../../../src/chain/spec.ts";
import { sealBlock } from "../../../src/producer/blockBuilder.ts";
import { merkleRootOfItems } from "../../../src/consensus/merkle.ts";
import { toHex } from "../../../src/consensus/encoding.ts";
import type { Block, SlashingItem } from "../../../src/consensus/types.ts";

const keys = makeKeys(4);
const [k0, k1, k2, outsider] = keys as [TestKey, TestKey, TestKey, TestKey];
const validators = [k0, k1, k2];
const spec = makeSpec(validators, { params: { block_time_ms: 2000, epoch_length: 4 } });
const GENESIS = genesisBlock(spec).hash;

async function rejects(p: Promise<unknown>, code: string, what: string) {
  await assert.rejects(p, (e: unknown) => e instanceof BlockError && e.code === code, `${what}: expected ${code}`);
}

/** `block` resealed carrying `slashings` (its other roots stay those computed without them). */
function withSlashings(block: Block, slashings: SlashingItem[]): Block {
  const key = validators.find((k) => k.ebid === block.header.producer)!;
  return sealBlock({ ...block.header, slashings_root: toHex(merkleRootOfItems(slashings)) }, { ...block, slashings }, key.secretKey, GENESIS);
}

test("the block schema takes exactly the slashing item kinds of §6.5, at most 8", () => {
  const shape = (slashings: unknown[]) => blockSchema.shape.slashings.safeParse(slashings).success;
  assert.ok(shape([doubleVote(k1)]), "a votes item is accepted");
  assert.equal(shape([{ kind: "votes" }]), false, "an item without its votes is refused");
  assert.equal(shape([{ kind: "votes", a: vote(k1, 0, 8), b: vote(k1, 0, 8), extra: 1 }]), false, "an extra field is refused");
  assert.equal(shape([{ kind: "other", a: 1, b: 2 }]), false, "an unknown kind is refused");
  assert.equal(shape(Array.from({ length: 9 }, (_, i) => doubleVote(k1, 8 * (i + 1)))), false, "9 items are refused");
});

test("a block carrying a double vote imports and slashes its offender; bad evidence, an unslashable offender and a wrong slashings_root are refused", async () => {
  const c = await openTestChain(spec);
  try {
    // bad evidence: a vote signed by another key
    const forged: SlashingItem = { kind: "votes", a: vote(k1, 0, 8, { genesis: GENESIS }), b: vote(k1, 0, 8, { targetHash: fakeHash(77), signer: k2, genesis: GENESIS }) };
    const plain = await blockFor(c.chain, c.chain.head, keys, 0);
    await rejects(c.chain.importBlock(withSlashings(plain, [forged])), "BAD_SLASHING", "forged vote");
    // an offender with no validator record
    await rejects(c.chain.importBlock(withSlashings(plain, [doubleVote(outsider, 8, GENESIS)])), "NOT_SLASHABLE", "no record");
    // a slashings_root that does not commit to the items
    const good = await blockFor(c.chain, c.chain.head, keys, 0, { slashings: [doubleVote(k1, 8, GENESIS)] });
    const lying: Block = sealBlock({ ...good.header, slashings_root: fakeHash(3) }, good, validators.find((k) => k.ebid === good.header.producer)!.secretKey, GENESIS);
    await rejects(c.chain.importBlock(lying), "BAD_ROOT", "slashings_root");

    assert.equal((await c.chain.importBlock(good)).status, "imported");
    assert.equal(c.chain.head.hash, good.hash);
    const r = (await c.chain.registryAfter(c.chain.head)).get(k1.ebid)!;
    assert.equal(r.slashed, true);
    assert.equal(r.bond, 0n);
    assert.equal((await c.chain.registryAfter(c.chain.head)).get(k0.ebid)!.slashed, false, "the honest validators are not slashed");
    // slashed already: the next block may not carry it again
    await rejects(c.chain.importBlock(withSlashings(await blockFor(c.chain, c.chain.head, keys, 0), [doubleVote(k1, 16, GENESIS)])), "NOT_SLASHABLE", "slashed twice");
  } finally {
    await c.destroy();
  }
});
