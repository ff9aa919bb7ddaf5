// Selection v2 (docs/protocol.md §4, §5): the seed comes from the parent's RANDAO mix, the pool
// from the records after the parent and the liveness window of the epoch, over real LevelDB chains.
import { test } from "node:test";
import assert from "node:assert/strict";
import { attestOn, blockFor, extend, makeKeys, makeSpec, openTestChain } from "../../helpers/fixtures.ts";
import { epochSalt, pickWinnerWithRerolls } from "../../../src/consensus/selection.ts";
import { seedFromMix } from "../../../src/consensus/randao.ts";
import { epochAt, livenessWindow, poolForEpoch } from "../../../src/consensus/validators.ts";
import { toHex } from "../../../src/consensus/encoding.ts";

const keys = makeKeys(4);

test("the seed is seedFromMix(parent.mix, n, salt); the pool is poolForEpoch over the records and the liveness window", async () => {
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
      const pool = poolForEpoch(e, records, live);
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

test("leaving the pool: a genesis validator that stops producing and attesting leaves it once the liveness window no longer holds its blocks", async () => {
  const L = 3;
  const W = 4;
  const spec = makeSpec(keys, { params: { block_time_ms: 2000, epoch_length: L, pool_window: W } });
  const c = await openTestChain(spec);
  const silent = keys[3]!;
  const lastSeen = 5; // it attests in every block up to 5, then falls silent
  try {
    let leftAt: number | undefined;
    for (let n = 1; n <= 20; n++) {
      const parent = c.chain.head;
      const s = await c.chain.scheduleFor(parent);
      if (leftAt === undefined && !s.pool.includes(silent.ebid)) leftAt = s.epoch;
      if (leftAt !== undefined) assert.ok(!s.pool.includes(silent.ebid), `it stays out (height ${n})`);
      // after lastSeen it never produces: the first slot held by someone else produces
      const slot = n <= lastSeen ? 0 : s.winners.findIndex((w) => w !== silent.ebid);
      const attestations = n <= lastSeen ? [await attestOn(c.chain, silent, n - 1, parent.hash)] : [];
      const b = await blockFor(c.chain, parent, keys, slot, { attestations });
      assert.equal((await c.chain.importBlock(b)).status, "imported");
    }
    // The rule: out from the first epoch e >= 2 whose window [max(1, (e-1)L - W), (e-1)L - 1] starts
    // above its last trace: e - 1 > (lastSeen + W) / L.
    assert.equal(leftAt, Math.floor((lastSeen + W) / L) + 2);
    // a producer of the window stays
    const last = await c.chain.scheduleFor(c.chain.head);
    const w = livenessWindow(last.epoch, L, W);
    assert.ok(last.pool.includes((await c.chain.getCanonicalMeta(w.to))!.producer));
  } finally {
    await c.destroy();
  }
});
