// Block validity v2 (docs/protocol.md §6.4): the RANDAO reveal and mix, attestations only from
// active validators, fallback blocks only from active validators when any exists. Real LevelDB chains.
import { genesisBlock } from "../../../src/chain/spec.ts";
import { test } from "node:test";
import assert from "node:assert/strict";
import { attestOn, blockFor, extend, makeKeys, makeSpec, openTestChain, previewRoots, revealFor, testKey, type TestKey } from "../../helpers/fixtures.ts";
import { BlockError } from "../../../src/chain/errors.ts";
import { draftHeader, sealBlock } from "../../../src/producer/blockBuilder.ts";
import { blsSignHex } from "../../../src/consensus/bls.ts";
import { revealMessage } from "../../../src/consensus/randao.ts";
import { headerMeetsPow } from "../../../src/consensus/hashing.ts";
import { slotOpensAt } from "../../../src/consensus/timing.ts";
import type { Block, Header } from "../../../src/consensus/types.ts";
import type { Chain } from "../../../src/chain/chain.ts";
import type { BlockMeta } from "../../../src/storage/records.ts";
import { randomBytes } from "node:crypto";

const keys = makeKeys(4);
const spec = makeSpec(keys, { params: { block_time_ms: 2000, fallback_difficulty: 1 } });

async function rejects(p: Promise<unknown>, code: string, what: string) {
  await assert.rejects(p, (e: unknown) => e instanceof BlockError && e.code === code, `${what}: expected ${code}`);
}

function resign(b: Block, header: Header, signer: TestKey): Block {
  return sealBlock(header, b, signer.secretKey, genesisBlock(spec).hash);
}

/** A fallback block (slot null, mined) by `key` on `parent`, as soon as the fallback opens. */
async function fallbackBlock(chain: Chain, parent: BlockMeta, key: TestKey, reveal?: string): Promise<Block> {
  const s = await chain.scheduleFor(parent);
  const { stateRoot, validatorsRoot, finalityRoot } = await previewRoots(chain, parent, key.ebid, []);
  let h = draftHeader({
    parent, producer: key.ebid, slot: null, timestamp: slotOpensAt(parent.timestamp, s.winners.length, chain.spec.params), attestations: [],
    difficulty: chain.spec.params.fallback_difficulty, stateRoot, validatorsRoot, finalityRoot, randaoReveal: reveal ?? revealFor(chain, s, key),
  });
  while (!headerMeetsPow(h)) h = { ...h, nonce: h.nonce + 1 };
  return sealBlock(h, { attestations: [] }, key.secretKey, chain.genesis.hash);
}

test("reveal and mix: each wrong reveal or mix is refused with its code, and the good block imports", async () => {
  const c = await openTestChain(spec);
  try {
    await extend(c.chain, keys, 2);
    const parent = c.chain.head;
    const good = await blockFor(c.chain, parent, keys, 0);
    const producer = keys.find((k) => k.ebid === good.header.producer)!;
    const other = keys.find((k) => k.ebid !== producer.ebid)!;
    assert.match(good.header.randao_reveal, /^[0-9a-f]{192}$/, "an active validator reveals");
    const n = good.header.height;
    const withReveal = (reveal: string) => blockFor(c.chain, parent, keys, 0, { randaoReveal: reveal });
    await rejects(c.chain.importBlock(await withReveal("")), "BAD_REVEAL", "no reveal where one is required");
    await rejects(c.chain.importBlock(await withReveal(blsSignHex(other.blsSecretKey, revealMessage(spec.chain_id, n)))), "BAD_REVEAL", "another key's reveal");
    await rejects(c.chain.importBlock(await withReveal(blsSignHex(producer.blsSecretKey, revealMessage(spec.chain_id, n + 1)))), "BAD_REVEAL", "a reveal for another height");
    await rejects(c.chain.importBlock(await withReveal(blsSignHex(producer.blsSecretKey, revealMessage("another-chain", n)))), "BAD_REVEAL", "a reveal for another chain");
    await rejects(c.chain.importBlock(await withReveal("ab".repeat(96))), "BAD_REVEAL", "a reveal that is no signature");
    // a wrong mix (checked before the BLS verify: a garbage reveal with a wrong mix is BAD_MIX)
    await rejects(c.chain.importBlock(resign(good, { ...good.header, mix: randomBytes(32).toString("hex") }, producer)), "BAD_MIX", "a wrong mix");
    await rejects(c.chain.importBlock(resign(good, { ...good.header, mix: parent.mix }, producer)), "BAD_MIX", "the parent's mix kept although a reveal is given");
    const garbage = await withReveal("cd".repeat(96));
    await rejects(c.chain.importBlock(resign(garbage, { ...garbage.header, mix: good.header.mix }, producer)), "BAD_MIX", "mix before reveal");
    // a wrong validators_root
    await rejects(c.chain.importBlock(resign(good, { ...good.header, validators_root: "00".repeat(32) }, producer)), "BAD_ROOT", "a wrong validators_root");
    assert.equal(c.chain.head.hash, parent.hash, "nothing invalid moved the head");
    assert.equal((await c.chain.importBlock(good)).status, "imported");
  } finally {
    await c.destroy();
  }
});

test("no active validator: the reveal must be empty, and anyone's fallback block imports", async () => {
  const open = makeSpec([], { params: { block_time_ms: 2000, fallback_difficulty: 1 } });
  const c = await openTestChain(open);
  try {
    const parent = c.chain.head;
    const outsider = testKey(randomBytes(32));
    const withReveal = await fallbackBlock(c.chain, parent, outsider, blsSignHex(outsider.blsSecretKey, revealMessage(open.chain_id, 1)));
    await rejects(c.chain.importBlock(withReveal), "BAD_REVEAL", "a reveal when none is allowed");
    const ok = await fallbackBlock(c.chain, parent, outsider);
    assert.equal(ok.header.randao_reveal, "");
    assert.equal(ok.header.mix, parent.mix, "the mix carries over");
    assert.equal((await c.chain.importBlock(ok)).status, "imported");
  } finally {
    await c.destroy();
  }
});

test("outsiders: a fallback block from a non-validator is refused WRONG_PRODUCER; an active validator's imports", async () => {
  const c = await openTestChain(spec);
  try {
    await extend(c.chain, keys, 1);
    const parent = c.chain.head;
    const outsider = testKey(randomBytes(32));
    await rejects(c.chain.importBlock(await fallbackBlock(c.chain, parent, outsider, "")), "WRONG_PRODUCER", "an outsider's fallback");
    await rejects(c.chain.importBlock(await fallbackBlock(c.chain, parent, outsider, blsSignHex(outsider.blsSecretKey, revealMessage(spec.chain_id, 2)))), "WRONG_PRODUCER", "an outsider's fallback with its own reveal");
    const validator = await fallbackBlock(c.chain, parent, keys[2]!);
    assert.equal((await c.chain.importBlock(validator)).status, "imported");
  } finally {
    await c.destroy();
  }
});

test("sybil: attestations from 200 fresh unbonded keys, validly signed, are refused BAD_ATTESTATION and the pool is unchanged", async () => {
  const c = await openTestChain(makeSpec(keys, { params: { block_time_ms: 2000, epoch_length: 2, pool_window: 4 } }));
  try {
    await extend(c.chain, keys, 3);
    const parent = c.chain.head;
    const before = await c.chain.scheduleFor(parent);
    const sybils = Array.from({ length: 200 }, () => testKey(randomBytes(32)));
    for (const group of [sybils.slice(0, 100), sybils.slice(100)]) {
      const attestations = await Promise.all(group.map((k) => attestOn(c.chain, k, parent.height, parent.hash)));
      await rejects(c.chain.importBlock(await blockFor(c.chain, parent, keys, 0, { attestations })), "BAD_ATTESTATION", "unbonded attesters");
    }
    // one bad attester among validators' attestations spoils the block too
    const mixed = [await attestOn(c.chain, keys[1]!, parent.height, parent.hash), await attestOn(c.chain, sybils[0]!, parent.height, parent.hash)];
    await rejects(c.chain.importBlock(await blockFor(c.chain, parent, keys, 0, { attestations: mixed })), "BAD_ATTESTATION", "one unbonded attester");
    assert.equal(c.chain.head.hash, parent.hash);
    // the chain grows on; no sybil ever enters any pool
    await extend(c.chain, keys, 6);
    const after = await c.chain.scheduleFor(c.chain.head);
    assert.deepEqual(before.pool.filter((e) => sybils.some((s) => s.ebid === e)), []);
    assert.deepEqual(after.pool.filter((e) => sybils.some((s) => s.ebid === e)), []);
    for (const e of after.pool) assert.ok(keys.some((k) => k.ebid === e));
  } finally {
    await c.destroy();
  }
});

test("a block whose parent is unknown is checked for version and the shapes of mix and reveal before it is parked", async () => {
  const c = await openTestChain(spec);
  try {
    const key = keys[0]!;
    const orphan = (over: Partial<Header>): Block => {
      const header = { ...draftHeader({ parent: { hash: randomBytes(32).toString("hex"), height: 7, mix: randomBytes(32).toString("hex") }, producer: key.ebid, slot: 0, timestamp: c.clock.now, attestations: [], stateRoot: "00".repeat(32), validatorsRoot: "00".repeat(32), finalityRoot: "00".repeat(32) }), ...over } as Header;
      return sealBlock(header, { attestations: [] }, key.secretKey, c.chain.genesis.hash);
    };
    await rejects(c.chain.importBlock(orphan({ version: 2 as unknown as 3 })), "MALFORMED", "a version 2 header");
    await rejects(c.chain.importBlock(orphan({ randao_reveal: "ab".repeat(40) })), "BAD_REVEAL", "a reveal of the wrong length");
    await rejects(c.chain.importBlock(orphan({ mix: "XY".repeat(32) })), "BAD_MIX", "a mix that is not hex");
    assert.equal((await c.chain.importBlock(orphan({ randao_reveal: "ab".repeat(96) }))).status, "unknown-parent", "a well-formed reveal is parked (its BLS verify needs the registry)");
  } finally {
    await c.destroy();
  }
});
