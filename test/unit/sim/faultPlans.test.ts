// The fault plans and flag parsers of sim/faults.ts (seeded, within their bounds, clear errors) and
// the report's faults section from synthetic events (JSON schema and HTML rows).
import { test } from "node:test";
import assert from "node:assert/strict";
import { faultReport, parseMsRange, parsePartition, restartPlan, skewPlan, checkPartition, type FaultRun } from "../../../src/sim/faults.ts";
import { summarize } from "../../../src/sim/summarize.ts";
import { parseReport, reportJson } from "../../../src/sim/report.ts";
import { renderHtml } from "../../../src/sim/reportHtml.ts";
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

test("faultReport: a partition's side stalls, divergence, reorg at the heal and convergence from the events; restarts' catch-up; in the JSON and HTML report", () => {
  const h = (c: string) => c.repeat(64);
  const [g, a1, b2, c2, c3] = [h("0"), h("a"), h("b"), h("c"), h("d")];
  const produce = (atMs: number, node: number, hash: string, parent: string, height: number) => ({ type: "produce" as const, atMs, node, hash, parent, height, slot: 0, producer: `p${node}` });
  const head = (atMs: number, node: number, hash: string, height: number, reorgDepth = 0) => ({ type: "head" as const, atMs, node, hash, height, reorgDepth });
  const events = [
    produce(500, 0, a1, g, 1), head(500, 0, a1, 1), head(520, 1, a1, 1), head(540, 2, a1, 1), head(560, 3, a1, 1),
    produce(1500, 0, b2, a1, 2), head(1500, 0, b2, 2), head(1520, 1, b2, 2),
    produce(2000, 2, c2, a1, 2), head(2000, 2, c2, 2), head(2020, 3, c2, 2),
    produce(2500, 2, c3, c2, 3), head(2500, 2, c3, 3), head(2520, 3, c3, 3),
    head(3100, 0, c3, 3, 1), head(3200, 1, c3, 3, 1),
  ];
  const faults: FaultRun = {
    restarts: [{ node: 3, crashedAtMs: 2600, restartedAtMs: 2700, caughtUpAtMs: 2750 }],
    partition: { sides: [["us-east"], ["us-west"]], nodes: [[0, 1], [2, 3]], fromMs: 1000, toMs: 3000, healed: true },
  };
  const f = faultReport(faults, events, 0, new Set())!;
  assert.deepEqual(f.restarts, [{ node: 3, crashed_at_ms: 2600, restarted_at_ms: 2700, catch_up_ms: 50 }]);
  assert.equal(f.catch_up_max_ms, 50);
  assert.deepEqual(f.partition, {
    sides: [
      { regions: ["us-east"], nodes: 2, blocks_during: 1, longest_stall_ms: 1500, head_height_at_heal: 2 },
      { regions: ["us-west"], nodes: 2, blocks_during: 2, longest_stall_ms: 1000, head_height_at_heal: 3 },
    ],
    from_ms: 1000, to_ms: 3000, healed: true, diverged: true, longest_side_stall_ms: 1500, reorg_depth_at_heal: 1, reorged_nodes_at_heal: 2, converged_after_ms: 200,
  });
  assert.equal(f.clock_skew, null);
  assert.equal(faultReport(undefined, events, 0, new Set()), undefined);

  const report = summarize({ nodes: 4, heights: 3, seed: 1, startMs: 0, endMs: 4000, validators: [0, 1, 2, 3].map((i) => ({ id: `p${i}` })), traffic: [0, 1, 2, 3].map(() => ({ bytesSent: 0, bytesReceived: 0 })), events, faults });
  assert.deepEqual(parseReport(JSON.parse(reportJson(report))).faults, f);
  const html = renderHtml(report);
  assert.match(html, /partition heal<\/th><td>sides diverged · reorg depth 1 on 2 nodes · one head 200 ms after/);
  assert.match(html, /restarted nodes[^<]*<\/th><td>3: 2600 → 2700 ms, caught up in 50 ms/);
});
