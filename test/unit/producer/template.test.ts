// Block templates v2 (docs/protocol.md §3.2, §5, §6.4): the producer's reveal, the mix, the
// validators root, and only active validators' attestations; the chain-core API's template leaves
// the reveal to the miner. A real chain on LevelDB.
import { test } from "node:test";
import assert from "node:assert/strict";
import { attestOn, blockFor, extend, makeKeys, makeSpec, openTestChain, silentLog, type TestKey } from "../../helpers/fixtures.ts";
import { exitTx } from "../../helpers/validatorTxs.ts";
import { freshKey } from "../../helpers/junk.ts";
import { buildTemplate, powPlan } from "../../../src/producer/template.ts";
import { sealBlock } from "../../../src/producer/blockBuilder.ts";
import { AttestationPool } from "../../../src/chain/attestationPool.ts";
import { Mempool } from "../../../src/chain/mempool.ts";
import { blsVerify } from "../../../src/consensus/bls.ts";
import { nextMix, revealMessage } from "../../../src/consensus/randao.ts";
import { EvidencePool } from "../../../src/node/evidencePool.ts";
import { fakeHash, vote } from "../../helpers/slashing.ts";
import type { Chain } from "../../../src/chain/chain.ts";
import type { BlockMeta } from "../../../src/storage/records.ts";

const keys = makeKeys(3);
const spec = makeSpec(keys);

/** The slot-0 template on `parent` from `pool`, by that height's primary (with its BLS key). */
async function primaryTemplate(chain: Chain, parent: BlockMeta, pool: AttestationPool) {
  const s = await chain.scheduleFor(parent);
  const producer = keys.find((k) => k.ebid === s.winners[0])!;
  const m = { chain, attestations: pool, mempool: new Mempool(), log: silentLog };
  const t = await buildTemplate(m, parent, { producer: producer.ebid, slot: 0, timestamp: parent.timestamp + spec.params.block_time_ms, difficulty: 0 }, producer.blsSecretKey);
  return { t, producer, schedule: s };
}

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
    assert.equal((await c.chain.importBlock(sealBlock(t.header, t, producer.secretKey, c.chain.genesis.hash))).status, "imported");
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

test("an attestation whose height is not its block's (signed by an active validator) stays out of templates, so the producer's block still imports", async () => {
  const c = await openTestChain(spec);
  try {
    await extend(c.chain, keys, 3);
    const parent = c.chain.head;
    const grandparent = (await c.chain.getMeta(parent.parent_hash))!;
    const primary = (await c.chain.scheduleFor(parent)).winners[0];
    const [liar, honest] = keys.filter((k) => k.ebid !== primary) as [(typeof keys)[number], (typeof keys)[number]];
    const pool = new AttestationPool();
    // Validly signed, heights in range, but it names the grandparent's hash at the parent's height.
    pool.add(await attestOn(c.chain, liar, parent.height, grandparent.hash));
    pool.add(await attestOn(c.chain, honest, grandparent.height, grandparent.hash));
    const { t, producer } = await primaryTemplate(c.chain, parent, pool);
    assert.equal((await c.chain.importBlock(sealBlock(t.header, t, producer.secretKey, c.chain.genesis.hash))).status, "imported");
    assert.deepEqual(t.attestations.map((a) => a.ebid), [honest.ebid]);
  } finally {
    await c.destroy();
  }
});

test("the template picks attestations by the branch's own active set, not the pool's last-set one (a reorg, or a set not yet refreshed)", async () => {
  const c = await openTestChain(spec);
  try {
    await extend(c.chain, keys, 2);
    const parent = c.chain.head;
    const s = await c.chain.scheduleFor(parent);
    const other = keys.find((k) => k.ebid !== s.winners[0])!;
    const pool = new AttestationPool({ epochLength: spec.params.epoch_length });
    // The pool's set for the epoch came from another branch, on which `other` is not active.
    pool.setActive(s.epoch, []);
    pool.add(await attestOn(c.chain, other, parent.height, parent.hash));
    const { t } = await primaryTemplate(c.chain, parent, pool);
    assert.ok(s.active.includes(other.ebid));
    assert.deepEqual(t.attestations.map((a) => a.ebid), [other.ebid]);
  } finally {
    await c.destroy();
  }
});

test("the template carries the evidence pool's items while their offender is slashable; the block imports and slashes it", async () => {
  const c = await openTestChain(spec);
  try {
    await extend(c.chain, keys, 2);
    const evidence = new EvidencePool(c.chain.domains);
    const offender = keys[1]!;
    assert.equal(evidence.noteVote(vote(offender, 0, 8, { genesis: c.chain.genesis.hash })), undefined);
    const item = evidence.noteVote(vote(offender, 0, 8, { targetHash: fakeHash(99), genesis: c.chain.genesis.hash }));
    assert.ok(item, "the double vote makes an item");
    const m = { chain: c.chain, attestations: new AttestationPool(), mempool: new Mempool(), log: silentLog, evidence };
    const parent = c.chain.head;
    const s = await c.chain.scheduleFor(parent);
    const producer = keys.find((k) => k.ebid === s.winners[0])!;
    const t = await buildTemplate(m, parent, { producer: producer.ebid, slot: 0, timestamp: parent.timestamp + spec.params.block_time_ms, difficulty: 0 }, producer.blsSecretKey);
    assert.deepEqual(t.slashings, [item]);
    assert.equal((await c.chain.importBlock(sealBlock(t.header, t, producer.secretKey, c.chain.genesis.hash))).status, "imported");
    assert.equal((await c.chain.registryAfter(c.chain.head)).get(offender.ebid)!.slashed, true);
    // slashed on this branch: the next template leaves it out
    const { t: next } = await primaryTemplate(c.chain, c.chain.head, new AttestationPool());
    const again = await buildTemplate(m, c.chain.head, { producer: next.header.producer, slot: 0, timestamp: next.header.timestamp, difficulty: 0 });
    assert.deepEqual(again.slashings, []);
  } finally {
    await c.destroy();
  }
});

test("the template leaves out the evidence against a validator withdrawing in the same block, and keeps the rest", async () => {
  const [k0, k1, k2] = keys as [TestKey, TestKey, TestKey];
  const s = makeSpec(keys, { alloc: { [k1.ebid]: "500" }, params: { block_time_ms: 2000, epoch_length: 2, unbonding_epochs: 1 } });
  const c = await openTestChain(s);
  try {
    const unbond = exitTx("unbond", k1, s.chain_id, 0);
    // the others attest genesis in block 1, so they are live in the pools while k1 leaves
    const attestations = await Promise.all([k0, k2].map((k) => attestOn(c.chain, k, 0, c.chain.genesis.hash)));
    assert.equal((await c.chain.importBlock(await blockFor(c.chain, c.chain.head, keys, 0, { txs: [unbond], attestations }))).status, "imported");
    const exit = (await c.chain.registryAfter(c.chain.head)).get(k1.ebid)!.exit_epoch!;
    // every slot's winner in turn, so all stay live (in the pool) while k1 leaves
    for (let i = 0; c.chain.head.height < (exit + s.params.unbonding_epochs) * s.params.epoch_length - 1; i++) {
      const winners = (await c.chain.scheduleFor(c.chain.head)).winners.length;
      assert.equal((await c.chain.importBlock(await blockFor(c.chain, c.chain.head, keys, i % winners))).status, "imported");
    }
    const mempool = new Mempool();
    const withdraw = exitTx("withdraw", k1, s.chain_id, 1);
    assert.equal(mempool.admit(withdraw, s.chain_id, await c.chain.headState([k1.ebid]), c.chain.txRules).status, "added");
    const evidence = new EvidencePool(c.chain.domains);
    for (const k of [k1, k2]) {
      evidence.noteVote(vote(k, 0, 8, { genesis: c.chain.genesis.hash }));
      assert.ok(evidence.noteVote(vote(k, 0, 8, { targetHash: fakeHash(99), genesis: c.chain.genesis.hash })));
    }
    const parent = c.chain.head;
    const schedule = await c.chain.scheduleFor(parent);
    const producer = keys.find((k) => k.ebid === schedule.winners[0])!;
    const m = { chain: c.chain, attestations: new AttestationPool(), mempool, log: silentLog, evidence };
    const t = await buildTemplate(m, parent, { producer: producer.ebid, slot: 0, timestamp: parent.timestamp + s.params.block_time_ms, difficulty: 0 }, producer.blsSecretKey);
    assert.deepEqual(t.txs, [withdraw]);
    assert.deepEqual(t.slashings.map((i) => (i.kind === "votes" ? i.a.ebid : "")), [k2.ebid], "only the offender that stays slashable");
    assert.equal((await c.chain.importBlock(sealBlock(t.header, t, producer.secretKey, c.chain.genesis.hash))).status, "imported");
    const after = await c.chain.registryAfter(c.chain.head);
    assert.equal(after.get(k1.ebid), undefined, "withdrawn");
    assert.equal(after.get(k2.ebid)!.slashed, true);
  } finally {
    await c.destroy();
  }
});
