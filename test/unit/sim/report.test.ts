// The simulator's report: figures summarized from a run's events (a small hand-built run whose
// figures follow from how it was built), the JSON and HTML byte-identical across renders, the
// schema's round trip and its one-line errors, and writeReport's two files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { parseReport, reportJson, SimReportError } from "../../../src/sim/report.ts";
import { cdf, nearestRank, summarize, type SimEvent, type SimRun } from "../../../src/sim/summarize.ts";
import { renderHtml, writeReport } from "../../../src/sim/reportHtml.ts";

const h = (c: string) => c.repeat(64);
const GENESIS = h("0");

/**
 * Four nodes, four validators (v3 is the adversary "withholder"), blocks every 1000 ms:
 * a1 (slot 0 by v0) at 1000, a2 (slot 0 by v1) at 2000, then a fork at height 3: b3 (slot 1 by v3)
 * at 3000 seen by node 3 only, and a3 (slot 0 by v2) at 3500 that every node takes (node 3 reorgs
 * one block), then a4 (slot 2 by v3) at 6000 (a 2500 ms stall). Each block reaches the other nodes
 * 100, 200 and 300 ms after it is produced (node i+1, i+2, i+3 from its producer), and every
 * non-producer node gets one extra copy of it. Nodes finalize a1 at 3000 and a2 at 6100, except
 * node 3, which finalizes b3 (a disagreement).
 */
function sampleRun(): SimRun {
  const events: SimEvent[] = [];
  const blocks = [
    { hash: h("1"), parent: GENESIS, height: 1, slot: 0, producer: "v0", node: 0, at: 1000 },
    { hash: h("2"), parent: h("1"), height: 2, slot: 0, producer: "v1", node: 1, at: 2000 },
    { hash: h("b"), parent: h("2"), height: 3, slot: 1, producer: "v3", node: 3, at: 3000, only: [3] },
    { hash: h("3"), parent: h("2"), height: 3, slot: 0, producer: "v2", node: 2, at: 3500 },
    { hash: h("4"), parent: h("3"), height: 4, slot: 2, producer: "v3", node: 3, at: 6000 },
  ];
  for (const b of blocks) {
    events.push({ type: "produce", atMs: b.at, node: b.node, hash: b.hash, parent: b.parent, height: b.height, slot: b.slot, producer: b.producer });
    if (b.only) continue;
    for (let k = 1; k <= 3; k++) {
      const to = (b.node + k) % 4;
      events.push({ type: "deliver", atMs: b.at + 100 * k, node: to, hash: b.hash });
      events.push({ type: "deliver", atMs: b.at + 100 * k + 50, node: to, hash: b.hash });
    }
  }
  for (let n = 0; n < 4; n++) {
    events.push({ type: "head", atMs: 1300, node: n, height: 1, hash: h("1"), reorgDepth: 0 });
    events.push({ type: "head", atMs: 2300, node: n, height: 2, hash: h("2"), reorgDepth: 0 });
    if (n === 3) events.push({ type: "head", atMs: 3000, node: 3, height: 3, hash: h("b"), reorgDepth: 0 });
    events.push({ type: "head", atMs: 3800, node: n, height: 3, hash: h("3"), reorgDepth: n === 3 ? 1 : 0 });
    events.push({ type: "head", atMs: 6300, node: n, height: 4, hash: h("4"), reorgDepth: 0 });
    events.push({ type: "finalize", atMs: 3000, node: n, height: 1, hash: h("1") });
    events.push({ type: "finalize", atMs: 6100, node: n, height: n === 3 ? 3 : 2, hash: n === 3 ? h("b") : h("2") });
  }
  events.sort((a, b) => a.atMs - b.atMs);
  return {
    nodes: 4,
    heights: 4,
    seed: 7,
    startMs: 0,
    endMs: 10_000,
    validators: [{ id: "v0" }, { id: "v1" }, { id: "v2" }, { id: "v3", adversary: "withholder" }],
    traffic: [0, 1, 2, 3].map((n) => ({ bytesSent: 1000 * (n + 1), bytesReceived: 500 * (n + 1) })),
    events,
  };
}

test("nearestRank and cdf: nearest-rank percentiles of a sorted sample, a quantile grid from min to max", () => {
  const xs = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(nearestRank(xs, 50), 5);
  assert.equal(nearestRank(xs, 95), 10);
  assert.equal(nearestRank(xs, 0), 1);
  assert.equal(nearestRank(new Float64Array(0), 50), null);
  const c = cdf([5, 1, 3], 3);
  assert.deepEqual(c, [{ q: 0, ms: 1 }, { q: 0.5, ms: 3 }, { q: 1, ms: 5 }]);
});

test("summarize: the figures of a hand-built run follow from how it was built", () => {
  const r = summarize(sampleRun());
  assert.equal(r.heights.produced, 4, "the canonical head every node holds");
  assert.equal(r.heights.blocks, 5);
  assert.equal(r.heights.orphaned, 1, "b3 lost its height");
  assert.equal(r.agreement.agreed, false);
  assert.deepEqual(r.agreement.disagreeing_nodes, [3], "node 3 finalized b3, off the canonical chain");
  assert.deepEqual([r.agreement.finalized_height_min, r.agreement.finalized_height_max], [2, 3]);
  assert.deepEqual(r.reorgs, { count: 1, deepest: 1, nodes: 1 });
  assert.deepEqual(r.slots.by_slot.map((s) => [s.slot, s.blocks]), [[0, 3], [2, 1]], "canonical blocks only");
  assert.equal(r.slots.primary_share, 0.75);
  // Propagation: 4 nodes; 50% = 2 nodes (the producer and the first at +100), 95% and 100% = all 4 (+300).
  assert.equal(r.propagation.to_50.p50, 100);
  assert.equal(r.propagation.to_100.max, 300);
  assert.equal(r.propagation.incomplete, 1, "b3 never left node 3");
  assert.equal(r.propagation.per_block.length, 5);
  assert.equal(r.propagation.per_block.find((b) => b.hash === h("b"))!.to_100_ms, null);
  assert.equal(r.propagation.cdf.arrival_ms.at(-1), 300);
  // Duplicates: one extra copy per non-producer node of each propagated block, none for the producer.
  assert.equal(r.duplicates.per_node_per_block.max, 1);
  assert.equal(r.duplicates.per_node_per_block.mean, 0.7059, "12 extra copies over 17 (node, block) pairs");
  // Bandwidth over the 10 s run.
  assert.equal(r.bandwidth.sent_bytes_per_s.max, 400);
  assert.equal(r.bandwidth.received_bytes_per_s.min, 50);
  assert.equal(r.bandwidth.per_node.length, 4);
  // Canonical intervals: a2-a1 1000, a3-a2 1500, a4-a3 2500.
  assert.deepEqual(r.block_intervals.by_height, [{ height: 2, ms: 1000 }, { height: 3, ms: 1500 }, { height: 4, ms: 2500 }]);
  assert.deepEqual(r.stall, { longest_ms: 2500, at_height: 4, window_ms: null, over_window: 0 }, "no stall bound given");
  // Safety: node 3's b3 extends a2, which the others finalized: no height with two finalized blocks.
  assert.deepEqual(r.safety, { violations: 0, finalized_blocks: 3, examples: [] });
  assert.deepEqual(r.run.crashed, []);
  // Finality lag at each canonical block's production, against the median node's finalized height.
  assert.deepEqual(r.finality_lag.by_height.map((x) => [x.height, x.lag]), [[1, 1], [2, 2], [3, 2], [4, 3]]);
  assert.equal(r.finality_lag.stats.max, 3);
  assert.deepEqual(r.adversaries, [{ name: "withholder", validators: 1, validator_share: 0.25, blocks: 1, production_share: 0.25 }]);
});

test("summarize: two blocks finalized at one height are a safety violation; crashed nodes leave the vote, propagation and lag; stalls over the window are counted", () => {
  const run = sampleRun();
  // Node 2 also finalizes a3 at 6200: a3 and node 3's b3 are both final at height 3.
  run.events.push({ type: "finalize", atMs: 6200, node: 2, height: 3, hash: h("3") });
  const r = summarize({ ...run, stallWindowMs: 2000 });
  assert.equal(r.safety.violations, 1);
  assert.deepEqual(r.safety.examples, [{ height: 3, blocks: [{ hash: h("3"), nodes: [2] }, { hash: h("b"), nodes: [3] }] }]);
  assert.equal(r.safety.finalized_blocks, 4);
  assert.deepEqual(r.stall, { longest_ms: 2500, at_height: 4, window_ms: 2000, over_window: 1 }, "a4 came 2500 ms after a3");

  // Node 3 crashed at 4000: nodes 0-2 are the population (50%: 2 nodes, 100%: 3).
  const c = summarize({ ...sampleRun(), crashed: [{ node: 3, atMs: 4000 }] });
  assert.deepEqual(c.run.crashed, [{ node: 3, at_ms: 4000 }]);
  assert.equal(c.propagation.incomplete, 1, "b3 never reached a live node but its crashed producer");
  const a4 = c.propagation.per_block.find((b) => b.hash === h("4"))!;
  assert.deepEqual([a4.to_50_ms, a4.to_100_ms], [200, 300], "a4 (produced by node 3) reached nodes 0, 1, 2 at +100, +200, +300");
  const a1 = c.propagation.per_block.find((b) => b.hash === h("1"))!;
  assert.deepEqual([a1.to_50_ms, a1.to_100_ms], [100, 200], "a1 from node 0: nodes 1 and 2 at +100, +200 (node 3 at +300 no longer counts)");
  assert.ok(c.finality_lag.by_height.every((x) => x.lag >= 0));
  assert.throws(() => summarize({ ...sampleRun(), crashed: [0, 1, 2, 3].map((node) => ({ node, atMs: 1 })) }), /every node of 4 crashed/);
});

test("summarize: a run whose events or counters do not fit its nodes is refused, naming what is wrong", () => {
  const run = sampleRun();
  assert.throws(() => summarize({ ...run, events: [...run.events, { type: "deliver", atMs: 9000, node: 9, hash: h("1") }] }), /deliver at 9000 ms names node 9 of 4/);
  assert.throws(() => summarize({ ...run, traffic: run.traffic.slice(1) }), /traffic counters for 3 nodes in a run of 4/);
  assert.throws(() => summarize({ ...run, endMs: -1 }), /ends \(-1 ms\) before it starts/);
});

test("summarize and render: the same run gives byte-identical JSON and HTML, and events in another order give the same report", () => {
  const run = sampleRun();
  const a = reportJson(summarize(run));
  const b = reportJson(summarize(sampleRun()));
  assert.equal(a, b);
  const shuffled = { ...run, events: [...run.events].reverse() };
  assert.equal(reportJson(summarize(shuffled)), a, "figures do not depend on the events' order within the run");
  const report = summarize(run);
  assert.equal(renderHtml(report), renderHtml(parseReport(JSON.parse(a))));
  const reversedKeys = Object.fromEntries(Object.entries(report).reverse()) as typeof report;
  assert.equal(reportJson(reversedKeys), a, "keys in the schema's order, however the object was built");
});

test("parseReport: a report survives JSON and back; a bad report is refused with a one-line error naming the field", () => {
  const report = summarize(sampleRun());
  const json = reportJson(report);
  assert.deepEqual(parseReport(JSON.parse(json)), report);
  assert.equal(reportJson(parseReport(JSON.parse(json))), json);
  const bad = JSON.parse(json);
  bad.slots.primary_share = 1.5;
  assert.throws(() => parseReport(bad), (e: Error) => e instanceof SimReportError && /slots\.primary_share/.test(e.message) && !e.message.includes("\n"));
  const extra = { ...JSON.parse(json), surprise: 1 };
  assert.throws(() => parseReport(extra), SimReportError);
  assert.throws(() => parseReport({ version: 1 }), /invalid simulator report/);
});

test("writeReport: report.json and report.html in the directory, the same bytes as reportJson and renderHtml", () => {
  const dir = mkdtempSync(join(tmpdir(), "vision-report-"));
  try {
    const report = summarize(sampleRun());
    const files = writeReport(join(dir, "out"), report);
    assert.equal(readFileSync(files.json, "utf8"), reportJson(report));
    const html = readFileSync(files.html, "utf8");
    assert.equal(html, renderHtml(report));
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=/, "scripts and styles inline");
    assert.match(html, /withholder/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A random run: blocks on random parents, copies delivered after production, heads and finalized blocks among them. */
const arbRun = fc
  .record({
    nodes: fc.integer({ min: 1, max: 6 }),
    blocks: fc.array(fc.record({ parent: fc.nat(), slot: fc.integer({ min: 0, max: 3 }), node: fc.nat(), at: fc.integer({ min: 0, max: 20_000 }) }), { maxLength: 12 }),
    copies: fc.array(fc.record({ block: fc.nat(), node: fc.nat(), after: fc.integer({ min: 0, max: 900 }) }), { maxLength: 60 }),
    marks: fc.array(fc.record({ kind: fc.constantFrom("head" as const, "finalize" as const), block: fc.nat(), node: fc.nat(), at: fc.nat(30_000), depth: fc.nat(3) }), { maxLength: 30 }),
  })
  .map(({ nodes, blocks, copies, marks }): SimRun => {
    const made: { hash: string; height: number; at: number; node: number }[] = [];
    const events: SimEvent[] = [];
    blocks.forEach((b, i) => {
      const parent = i === 0 || b.parent % (i + 1) === 0 ? undefined : made[b.parent % i];
      const hash = (i + 1).toString(16).padStart(64, "0");
      const block = { hash, height: (parent?.height ?? 0) + 1, at: Math.max(b.at, parent?.at ?? 0), node: b.node % nodes };
      made.push(block);
      events.push({ type: "produce", atMs: block.at, node: block.node, hash, parent: parent?.hash ?? GENESIS, height: block.height, slot: b.slot, producer: `v${b.node % 4}` });
    });
    for (const c of made.length ? copies : []) {
      const b = made[c.block % made.length]!;
      events.push({ type: "deliver", atMs: b.at + c.after, node: c.node % nodes, hash: b.hash });
    }
    for (const m of made.length ? marks : []) {
      const b = made[m.block % made.length]!;
      const node = m.node % nodes;
      if (m.kind === "head") events.push({ type: "head", atMs: b.at + m.at, node, height: b.height, hash: b.hash, reorgDepth: m.depth });
      else events.push({ type: "finalize", atMs: b.at + m.at, node, height: b.height, hash: b.hash });
    }
    events.sort((a, b) => a.atMs - b.atMs);
    const traffic = Array.from({ length: nodes }, (_, i) => ({ bytesSent: i * 1000, bytesReceived: i * 700 }));
    return { nodes, heights: 12, seed: 0, startMs: 0, endMs: 60_000, validators: [{ id: "v0", adversary: "a" }, { id: "v1" }, { id: "v2", adversary: "b" }, { id: "v3" }], traffic, events };
  });

test("summarize (property): any run gives a report the schema accepts, the same bytes twice, and figures that agree with each other", () => {
  fc.assert(
    fc.property(arbRun, (run) => {
      const r = summarize(run);
      const json = reportJson(r);
      assert.equal(reportJson(summarize(run)), json);
      assert.equal(r.heights.blocks, r.propagation.per_block.length);
      assert.ok(r.heights.orphaned <= r.heights.blocks);
      assert.equal(r.agreement.agreed, r.agreement.disagreeing_nodes.length === 0);
      assert.ok(r.propagation.to_50.count >= r.propagation.to_95.count && r.propagation.to_95.count >= r.propagation.to_100.count);
      assert.equal(r.propagation.incomplete, r.heights.blocks - r.propagation.to_100.count);
      const canonical = r.heights.blocks - r.heights.orphaned;
      assert.equal(r.slots.by_slot.reduce((k, s) => k + s.blocks, 0), canonical);
      assert.equal(r.block_intervals.by_height.length, Math.max(0, canonical - 1));
      assert.equal(r.finality_lag.by_height.length, canonical);
    }),
    { numRuns: 200, seed: 15 },
  );
});
