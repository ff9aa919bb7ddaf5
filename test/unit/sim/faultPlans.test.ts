// The fault plans and flag parsers of sim/faults.ts: seeded, within their bounds, clear errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseMsRange, parsePartition, restartPlan, skewPlan, checkPartition } from "../../../src/sim/faults.ts";
import { DEFAULT_REGIONS } from "../../../src/sim/network.ts";
import { seededRng } from "../../../src/util/clock.ts";

const REGIONS = DEFAULT_REGIONS.regions;

test("restartPlan: k nodes, never a bootnode nor an excluded node, times and downtimes in their windows, one seed one plan", () => {
  const plan = restartPlan(seededRng(7), 50, 0.2, 1000, 5000, 2000, 4000, [3, 4, 5]);
  assert.equal(plan.length, 10);
  for (const r of plan) {
    assert.ok(r.node >= 2 && ![3, 4, 5].includes(r.node), `node ${r.node}`);
    assert.ok(r.crashAtMs >= 1000 && r.crashAtMs < 5000 && Number.isInteger(r.crashAtMs));
    assert.ok(r.downMs >= 2000 && r.downMs <= 4000 && Number.isInteger(r.downMs));
  }
  assert.deepEqual(plan.map((r) => r.node), [...plan.map((r) => r.node)].sort((a, b) => a - b));
  assert.deepEqual(restartPlan(seededRng(7), 50, 0.2, 1000, 5000, 2000, 4000, [3, 4, 5]), plan);
  assert.throws(() => restartPlan(seededRng(7), 4, 0.9, 0, 1, 0, 1), /restart 0.9 of 4 nodes needs 4, only 2/);
  assert.throws(() => restartPlan(seededRng(7), 10, 0.1, 0, 1, 5, 4), /downtime 5-4 ms is empty/);
});

test("skewPlan: whole ms in [-max, +max], all 0 for 0, one seed one plan", () => {
  const s = skewPlan(seededRng(3), 200, 500);
  assert.ok(s.every((x) => Number.isInteger(x) && x >= -500 && x <= 500));
  assert.ok(Math.min(...s) < -400 && Math.max(...s) > 400);
  assert.deepEqual(skewPlan(seededRng(3), 200, 500), s);
  assert.deepEqual(skewPlan(seededRng(3), 3, 0), [0, 0, 0]);
  assert.throws(() => skewPlan(seededRng(3), 3, -1), /whole number of ms >= 0/);
});

test("parsePartition: sides, 'rest', window; clear errors", () => {
  assert.deepEqual(parsePartition("us-east,us-west/rest@6000-20000", REGIONS), {
    sides: [["us-east", "us-west"], ["eu-west", "eu-central", "ap-northeast", "ap-southeast"]],
    fromMs: 6000,
    toMs: 20000,
  });
  assert.deepEqual(parsePartition("eu-west/ap-northeast@0-1", REGIONS).sides, [["eu-west"], ["ap-northeast"]]);
  assert.throws(() => parsePartition("us-east/rest", REGIONS), /expected <regionsA>\/<regionsB>@<fromMs>-<toMs>/);
  assert.throws(() => parsePartition("us-east/mars@1-2", REGIONS), /unknown region "mars"/);
  assert.throws(() => parsePartition("us-east/us-east@1-2", REGIONS), /"us-east" is on both sides/);
  assert.throws(() => parsePartition("us-east/eu-west@5-5", REGIONS), /from < to/);
  assert.throws(() => checkPartition({ sides: [[], ["eu-west"]], fromMs: 0, toMs: 1 }, REGIONS), /regions on both sides/);
  assert.deepEqual(parseMsRange("4000-10000"), [4000, 10000]);
  assert.throws(() => parseMsRange("10-4"), /min <= max/);
});
