import { test } from "node:test";
import assert from "node:assert/strict";
import {
  blockWeight, compareTips, defaultChainParams as p, medianHeight, nextSnapshot, proofOfSyncEligible,
  proposeAt, slotOpensAt, syncStateOf, meetsDifficulty, isRetargetHeight, retarget,
} from "../../../src/consensus/index.ts";

test("medianHeight: lower middle for even counts, null for none", () => {
  const cases: [number[], number | null][] = [
    [[], null], [[5], 5], [[5, 7], 5], [[9, 1, 5], 5], [[1, 2, 3, 4], 2], [[10, 10, 0, 0, 10], 10],
  ];
  for (const [hs, want] of cases) assert.equal(medianHeight(hs), want, JSON.stringify(hs));
});

test("syncStateOf: AtTip, CatchingUp, Behind, TooFarAhead", () => {
  const cases: [number, number, string][] = [
    [10, 10, "AtTip"], [9, 10, "CatchingUp"], [8, 10, "CatchingUp"], [7, 10, "Behind"],
    [12, 10, "AtTip"], [13, 10, "TooFarAhead"],
  ];
  for (const [local, net, want] of cases) assert.equal(syncStateOf(local, net, p), want, `${local} vs ${net}`);
});

test("eligibility needs AtTip, a peer and a streak of 3 ticks", () => {
  let s = nextSnapshot(0, 5, "h", [5, 5], p);
  assert.equal(s.eligible_streak, 1);
  assert.equal(proofOfSyncEligible(s, p), false);
  s = nextSnapshot(s.eligible_streak, 5, "h", [5, 6], p);
  s = nextSnapshot(s.eligible_streak, 5, "h", [5, 5], p);
  assert.equal(s.eligible_streak, 3);
  assert.equal(proofOfSyncEligible(s, p), true);
  const behind = nextSnapshot(s.eligible_streak, 5, "h", [9, 9], p);
  assert.equal(behind.sync_state, "Behind");
  assert.equal(behind.lag_blocks, 4);
  assert.equal(behind.eligible_streak, 0);
  assert.equal(proofOfSyncEligible(behind, p), false);
  const alone = nextSnapshot(10, 5, "h", [], p);
  assert.equal(alone.ready_peers, 0);
  assert.equal(alone.eligible_streak, 0, "no peers: no network view, streak resets");
  assert.equal(proofOfSyncEligible(alone, p), false);
});

test("fork choice: weight, then lower height, then lower hash", () => {
  const t = (w: number, height: number, hash: string) => ({ totalWeight: BigInt(w), height, hash });
  assert.ok(compareTips(t(10, 5, "b"), t(9, 4, "a")) < 0, "heavier wins");
  assert.ok(compareTips(t(10, 6, "a"), t(10, 5, "b")) > 0, "same weight: lower height wins");
  assert.ok(compareTips(t(10, 5, "a"), t(10, 5, "b")) < 0, "then lower hash");
  assert.equal(compareTips(t(10, 5, "a"), t(10, 5, "a")), 0);
  assert.equal(blockWeight(0, 0, 3, "proof-of-sync"), 2n);
  assert.equal(blockWeight(1, 0, 3, "proof-of-sync"), 1n);
  assert.equal(blockWeight(null, 4, 3, "proof-of-sync"), 1n);
  assert.equal(blockWeight(null, 3, 3, "pow"), 4096n);
  assert.equal(blockWeight(null, 0, 0, "proof-of-sync"), 0n);
});

test("slot timing is anchored to the parent; the primary keeps its head start after a stall", () => {
  assert.equal(slotOpensAt(1000, 0, p), 3000);
  assert.equal(slotOpensAt(1000, 2, p), 5400);
  assert.equal(proposeAt(1000, 1500, 1, 100, p), 4300);
  // every T(k) long past: slot k still waits k * claim_timeout after it saw the parent
  assert.equal(proposeAt(0, 1_000_000, 0, 77, p), 1_000_077);
  assert.equal(proposeAt(0, 1_000_000, 2, 77, p), 1_002_477);
});

test("difficulty helpers: zero-digit prefix and retarget bands", () => {
  assert.ok(meetsDifficulty(new Uint8Array([0, 0x0f, 0xff]), 3));
  assert.ok(!meetsDifficulty(new Uint8Array([0, 0x10, 0]), 3));
  assert.ok(meetsDifficulty(new Uint8Array([0xff]), 0));
  assert.ok(isRetargetHeight(20, p) && !isRetargetHeight(10, p) && !isRetargetHeight(25, p));
  const r = (ms: number) => retarget(5, ms, 0, p);
  assert.deepEqual([r(40_000), r(60_000), r(100_000), r(160_000), r(210_000)], [7, 6, 5, 4, 3]);
  assert.equal(retarget(12, 0, 0, p), 12, "clamped at max");
  assert.equal(retarget(1, 1e9, 0, p), 1, "clamped at min");
});
