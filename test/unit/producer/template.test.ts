// Block templates v2 (docs/protocol.md §3.2, §5, §6.4): the producer's reveal, the mix, the
// validators root, and only active validators' attestations; the chain-core API's template leaves
// the reveal to the miner. A real chain on LevelDB.
import { test } from "node:test";
import assert from "node:assert/strict";
import { attestOn, extend, makeKeys, makeSpec, openTestChain, silentLog } from "../../helpers/fixtures.ts";
import { freshKey } from "../../helpers/junk.ts";
import { buildTemplate, powPlan } from "../../../src/producer/template.ts";
import { sealBlock } from "../../../src/producer/blockBuilder.ts";
import { AttestationPool } from "../../../src/chain/attestationPool.ts";
import { Mempool } from "../../../src/chain/mempool.ts";
import { blsVerify } from "../../../src/consensus/bls.ts";
import { nextMix, revealMessage } from "../../../src/consensus/randao.ts";

const keys = makeKeys(3);
const spec = makeSpec(keys);

test("a producer's template reveals, moves the mix, carries the validators root and only active validators' attestations, and imports", async () => {
  const c = await openTestChain(spec);
  try {
    await extend(c.chain, keys, 2);
    const parent = c.chain.head;
    const s = await c.chain.scheduleFor(parent);
    const producer = keys.find((k) => k.ebid === s.winners[0])!;
    const pool = new AttestationPool();
    const outsider = freshKey();
    pool.add(await attestOn(c.chain, outsider, parent.height, parent.hash));
    pool.add(await attestOn(c.chain, keys[1]!, parent.height, parent.hash));
    const m = { chain: c.chain, attestations: pool, mempool: new Mempool(), log: silentLog };
    const t = await buildTemplate(m, parent, { producer: producer.ebid, slot: 0, timestamp: parent.timestamp + spec.params.block_time_ms, difficulty: 0 }, producer.blsSecretKey);
    assert.ok(blsVerify(producer.blsPubkey, revealMessage(spec.chain_id, parent.height + 1), t.header.randao_reveal));
    assert.equal(t.header.mix, nextMix(parent.mix, t.header.randao_reveal));
    assert.equal(t.header.validators_root, c.chain.genesis.header.validators_root);
    assert.deepEqual(t.attestations.map((a) => a.ebid), [keys[1]!.ebid], "the outsider's attestation is left out");
    assert.equal((await c.chain.importBlock(sealBlock(t.header, t, producer.secretKey))).status, "imported");
    // the chain-core API's template: no key, so no reveal; the plan says one is required
    const api = await buildTemplate(m, c.chain.head, { producer: keys[2]!.ebid, slot: null, timestamp: c.chain.head.timestamp + 60_000, difficulty: 4 });
    assert.equal(api.header.randao_reveal, "");
    assert.equal(api.header.mix, c.chain.head.mix);
    assert.equal((await powPlan(c.chain, c.chain.head)).mustReveal, true);
  } finally {
    await c.destroy();
  }
});

test("on a chain with no validator the template carries no reveal even with a key, and the plan requires none", async () => {
  const c = await openTestChain(makeSpec([], { params: { block_time_ms: 2000, fallback_difficulty: 1 } }));
  try {
    const k = keys[0]!;
    const t = await buildTemplate({ chain: c.chain, attestations: new AttestationPool(), mempool: new Mempool(), log: silentLog }, c.chain.head, { producer: k.ebid, slot: null, timestamp: c.chain.head.timestamp + 60_000, difficulty: 1 }, k.blsSecretKey);
    assert.equal(t.header.randao_reveal, "");
    assert.equal((await powPlan(c.chain, c.chain.head)).mustReveal, false);
  } finally {
    await c.destroy();
  }
});
