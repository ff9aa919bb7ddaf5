// Selection v2 (docs/protocol.md §4, §5): the seed comes from the parent's RANDAO mix, the pool
// from the records after the parent and the liveness window of the epoch, over real LevelDB chains.
import { test } from "node:test";
import assert from "node:assert/strict";
import { attestOn, blockFor, extend, makeKeys, makeSpec, openTestChain, type TestKey } from "../../helpers/fixtures.ts";
import { bondTx, exitTx } from "../../helpers/validatorTxs.ts";
import type { Tx } from "../../../src/consensus/types.ts";
import { epochSalt, pickWinnerWithRerolls } from "../../../src/consensus/selection.ts";
import { seedFromMix } from "../../../src/consensus/randao.ts";
import { activeAt, epochAt, livenessWindow, poolForEpoch } from "../../../src/consensus/validators.ts";
import { toHex } from "../../../src/consensus/encoding.ts";

const keys = makeKeys(4);

test("the seed is seedFromMix(parent.mix, n, salt); the pool is poolForEpoch over the records, the liveness window and the finality floor", async () => {
  const spec = makeSpec(keys, { params: { block_time_ms: 2000, epoch_length: 3, pool_window: 4 } });
  const c = await openTestChain(spec);
  try {
    await extend(c.chain, keys, 12);
    const salt = epochSalt(spec.chain_id);
    for (let h = 0; h <= 12; h++) {
      const parent = (await c.chain.getCanonicalMeta(h))!;
      const n = h + 1;
      const s = await c.chain.scheduleFor(parent);
      const mix = (await c.chain.getBlock(parent.hash))!.header.mix;
      assert.equal(toHex(s.seed), toHex(seedFromMix(mix, n, salt)), `seed at ${n}`);
      const e = epochAt(n, spec.params.epoch_length);
      const w = livenessWindow(e, spec.params.epoch_length, spec.params.pool_window);
      const live = new Set<string>();
      for (let k = w.from; k <= w.to; k++) {
        const b = (await c.chain.getBlock((await c.chain.getCanonicalMeta(k))!.hash))!;
        live.add(b.header.producer);
        for (const a of b.attestations) live.add(a.ebid);
      }
      const records = (await c.chain.registryAfter(parent)).all();
      // Nothing is justified without attestations: the finality floor is the genesis validators.
      assert.equal((await c.chain.finalityOf(parent.hash))!.finalized.height, 0);
      const pool = poolForEpoch(e, records, live, new Set(spec.validators.map((v) => v.ebid)));
      assert.deepEqual(s.pool, pool, `pool at ${n}`);
      assert.deepEqual(s.winners, pickWinnerWithRerolls(s.seed, pool, spec.params.backup_slots));
      assert.equal(s.epoch, e);
      assert.deepEqual(s.active, records.map((r) => r.ebid));
    }
  } finally {
    await c.destroy();
  }
});

test("the next height's winners do not depend on the parent block's hash: two blocks at one height with the same reveal give one schedule", async () => {
  const spec = makeSpec(keys, { params: { block_time_ms: 2000, epoch_length: 3, pool_window: 4 } });
  const c = await openTestChain(spec);
  try {
    await extend(c.chain, keys, 4);
    const parent = c.chain.head;
    const a = await blockFor(c.chain, parent, keys, 0);
    const b = await blockFor(c.chain, parent, keys, 0, { timestamp: a.header.timestamp + 7 });
    assert.notEqual(a.hash, b.hash);
    await c.chain.importBlock(a);
    await c.chain.importBlock(b);
    const sa = await c.chain.scheduleFor((await c.chain.getMeta(a.hash))!);
    const sb = await c.chain.scheduleFor((await c.chain.getMeta(b.hash))!);
    assert.deepEqual(sa.winners, sb.winners);
    assert.equal(toHex(sa.seed), toHex(sb.seed));
  } finally {
    await c.destroy();
  }
});

test("leaving the pool: a genesis validator that stops producing and attesting leaves it once neither the liveness window nor the finality floor holds its blocks", async () => {
  const L = 3;
  const W = 4;
  const spec = makeSpec(keys, { params: { block_time_ms: 2000, epoch_length: L, pool_window: W } });
  const c = await openTestChain(spec);
  const silent = keys[3]!;
  const lastSeen = 5; // it attests in every block up to 5, then falls silent; the other three attest throughout
  try {
    let leftAt: number | undefined;
    let floorPassedAt: number | undefined;
    for (let n = 1; n <= 40; n++) {
      const parent = c.chain.head;
      const s = await c.chain.scheduleFor(parent);
      if (leftAt === undefined && !s.pool.includes(silent.ebid)) leftAt = s.epoch;
      if (leftAt !== undefined) assert.ok(!s.pool.includes(silent.ebid), `it stays out (height ${n})`);
      // the finality floor of this epoch: the anchor's finalized height f; it holds heights f - W .. f
      const anchor = (await c.chain.getCanonicalMeta(Math.max(0, (s.epoch - 1) * L - 1)))!;
      const f = (await c.chain.finalityOf(anchor.hash))!.finalized.height;
      if (floorPassedAt === undefined && f > 0 && f - W > lastSeen) floorPassedAt = s.epoch;
      // after lastSeen it never produces: the first slot held by someone else produces
      const slot = n <= lastSeen ? 0 : s.winners.findIndex((w) => w !== silent.ebid);
      const voters = n === 1 ? [] : n <= lastSeen ? keys : keys.slice(0, 3);
      const attestations = await Promise.all(voters.map((k) => attestOn(c.chain, k, n - 1, parent.hash)));
      const b = await blockFor(c.chain, parent, keys, slot, { attestations });
      assert.equal((await c.chain.importBlock(b)).status, "imported");
    }
    assert.ok(floorPassedAt !== undefined, "finality moved past its last trace");
    // The rule: out from the first epoch e >= 2 whose window [max(1, (e-1)L - W), (e-1)L - 1] starts
    // above its last trace (e - 1 > (lastSeen + W) / L) and whose anchor's finalized checkpoint f
    // has f - W above it too.
    assert.equal(leftAt, Math.max(Math.floor((lastSeen + W) / L) + 2, floorPassedAt));
    // a producer of the window stays
    const last = await c.chain.scheduleFor(c.chain.head);
    const w = livenessWindow(last.epoch, L, W);
    assert.ok(last.pool.includes((await c.chain.getCanonicalMeta(w.to))!.producer));
  } finally {
    await c.destroy();
  }
});

test("the schedule reads the records at the epoch's anchor, and they agree with the records after the parent on who is active and their BLS keys, across bonds, unbonds, withdraws and re-bonds at epoch boundaries", async () => {
  const [k0, k1, k2, k3] = keys as [TestKey, TestKey, TestKey, TestKey];
  const CHAIN = "vision-test";
  const alloc = Object.fromEntries(keys.map((k) => [k.ebid, "100000"]));
  // epochs of 2 blocks: the anchor of epoch e is height 2e - 3; a bond at height h activates at floor(h/2) + 2
  const spec = makeSpec([k0, k1], { params: { block_time_ms: 2000, epoch_length: 2, unbonding_epochs: 1, min_tx_fee: 1, min_account_balance: 10 }, alloc });
  const c = await openTestChain(spec);
  // height -> transactions: k2 bonds in epoch 0; k3 bonds in the anchor block of epoch 3 (height 3);
  // k2 unbonds at height 4 (exit 4), withdraws at height 10 (epoch 5) and bonds again at height 11
  const plan: Record<number, Tx[]> = {
    1: [bondTx(k2, CHAIN, 0)],
    3: [bondTx(k3, CHAIN, 0)],
    4: [exitTx("unbond", k2, CHAIN, 1)],
    10: [exitTx("withdraw", k2, CHAIN, 2)],
    11: [bondTx(k2, CHAIN, 3)],
  };
  const activeSeen = new Map<string, number[]>();
  try {
    for (let n = 1; n <= 20; n++) {
      const parent = c.chain.head;
      const s = await c.chain.scheduleFor(parent);
      const afterParent = await c.chain.registryAfter(parent);
      assert.deepEqual(s.active, activeAt(afterParent, s.epoch), `active at height ${n}`);
      for (const ebid of s.active) {
        // the key agrees; exit_epoch may not (an unbond of the last two epochs is not in the anchor's records)
        assert.equal(s.registry.get(ebid)?.bls_pubkey, afterParent.get(ebid)?.bls_pubkey, `key of ${ebid.slice(0, 8)} at height ${n}`);
        activeSeen.set(ebid, [...(activeSeen.get(ebid) ?? []), n]);
      }
      const b = await blockFor(c.chain, parent, keys, 0, { txs: plan[n] ?? [] });
      assert.equal((await c.chain.importBlock(b)).status, "imported", `block ${n}`);
    }
    // k3 (bond at height 3, epoch 1) is active from epoch 3 = height 6; k2 from height 4 until its exit at epoch 4 (height 8),
    // then again from epoch 5 + 2 = 7 (height 14)
    assert.equal(activeSeen.get(k3.ebid)?.[0], 6);
    assert.deepEqual(activeSeen.get(k2.ebid), [4, 5, 6, 7, 14, 15, 16, 17, 18, 19, 20]);
  } finally {
    await c.destroy();
  }
});

test("the schedule of a new height reads a bounded number of ancestors, however long the epoch: the anchor of the parent's parent is reused", async () => {
  // a long epoch: epochs 0 and 1 span 2,000 heights, all anchored at genesis
  const spec = makeSpec(keys, { params: { block_time_ms: 2000, epoch_length: 1000 } });
  const c = await openTestChain(spec);
  try {
    await extend(c.chain, keys, 150);
    const chain = c.chain as unknown as { getMeta: (h: string) => Promise<unknown> };
    const original = chain.getMeta.bind(c.chain);
    let reads = 0;
    chain.getMeta = (h: string) => {
      reads++;
      return original(h);
    };
    const blocks = 20;
    await extend(c.chain, keys, blocks);
    // per block: its import (parent, attestation ancestors) and its schedule; never a walk to genesis
    assert.ok(reads / blocks < 40, `${reads / blocks} meta reads per block`);
  } finally {
    await c.destroy();
  }
});
