import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  calculateJitter, epochSalt, seedFromMix, pickWinner, pickWinnerWithRerolls, normalizePool, H, utf8,
} from "../../../src/consensus/index.ts";

const salt = epochSalt("vision-testnet-1");
const ebid = (i: number) => H(utf8(`node-${i}`)).reduce((s, b) => s + b.toString(16).padStart(2, "0"), "");
const pools = [0, 1, 2, 3, 6, 7, 8, 20, 100].map((n) => Array.from({ length: n }, (_, i) => ebid(i)));

test("winners: distinct, min(7, len(pool)) of them, all from the pool", () => {
  for (const pool of pools) {
    for (let h = 1; h <= 50; h++) {
      const w = pickWinnerWithRerolls(seedFromMix(ebid(h), h, salt), pool, 6);
      assert.equal(w.length, Math.min(7, pool.length), `pool ${pool.length}`);
      assert.equal(new Set(w).size, w.length, "backups are distinct nodes");
      for (const x of w) assert.ok(pool.includes(x));
    }
  }
});

test("pools smaller than 7 put every member in a slot", () => {
  for (const pool of pools.filter((p) => p.length > 0 && p.length < 7)) {
    const w = pickWinnerWithRerolls(seedFromMix(ebid(9), 9, salt), pool, 6);
    assert.deepEqual([...w].sort(), [...pool].sort());
  }
});

test("the empty pool has no winners and pickWinner refuses it", () => {
  assert.deepEqual(pickWinnerWithRerolls(seedFromMix(ebid(1), 1, salt), [], 6), []);
  assert.throws(() => pickWinner(new Uint8Array(32), []), RangeError);
});

test("backup_slots 0 gives the primary only; the primary is pick(seed)", () => {
  const pool = pools[5]!;
  const seed = seedFromMix(ebid(3), 3, salt);
  assert.deepEqual(pickWinnerWithRerolls(seed, pool, 0), [pickWinner(seed, normalizePool(pool))]);
});

test("jitter stays in [50, 400) and is a pure function of seed and EBID", () => {
  for (let h = 0; h < 2000; h++) {
    const seed = seedFromMix(ebid(h), h, salt);
    const j = calculateJitter(seed, ebid(h % 7), 50, 400);
    assert.ok(j >= 50 && j < 400, `jitter ${j}`);
    assert.equal(calculateJitter(seed, ebid(h % 7), 50, 400), j);
  }
  assert.equal(calculateJitter(new Uint8Array(32), ebid(1), 100, 100), 100);
});

test("property: winners do not depend on pool order or duplicates", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 0, max: 500 }), { minLength: 0, maxLength: 30 }),
      fc.integer({ min: 1, max: 1_000_000 }),
      fc.integer(),
      (ids, height, shuffleSeed) => {
        const pool = ids.map(ebid);
        const shuffled = [...pool, ...pool.slice(0, 3)].sort((a, b) => ((a + shuffleSeed).localeCompare(b + shuffleSeed)));
        const seed = seedFromMix(ebid(height), height, salt);
        assert.deepEqual(pickWinnerWithRerolls(seed, shuffled, 6), pickWinnerWithRerolls(seed, pool, 6));
      },
    ),
    { numRuns: 300 },
  );
});

test("the seed changes with parent, height and chain", () => {
  const a = seedFromMix(ebid(1), 5, salt);
  assert.notDeepEqual(a, seedFromMix(ebid(2), 5, salt));
  assert.notDeepEqual(a, seedFromMix(ebid(1), 6, salt));
  assert.notDeepEqual(a, seedFromMix(ebid(1), 5, epochSalt("other-chain")));
});
