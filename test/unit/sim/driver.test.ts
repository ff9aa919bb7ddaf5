// The simulation driver: real VisionNodes on one VirtualClock and a NetworkModel, no socket. Every
// node reaches the target height, the finalized chains agree, and one seed gives one report.
import { test } from "node:test";
import assert from "node:assert/strict";
import { blockFrameHash, runSimulation, type SimulationProgress, type SimulationRun } from "../../../src/sim/driver.ts";
import { summarize } from "../../../src/sim/summarize.ts";
import { reportJson } from "../../../src/sim/report.ts";

const tcpListeners = () => process.getActiveResourcesInfo().filter((r) => r === "TCPServerWrap").length;

function firstDifference(a: SimulationRun, b: SimulationRun): string {
  const n = Math.max(a.events.length, b.events.length);
  for (let i = 0; i < n; i++) {
    const x = JSON.stringify(a.events[i]);
    const y = JSON.stringify(b.events[i]);
    if (x !== y) return `event ${i}: ${x} vs ${y}`;
  }
  return "events equal";
}

test("6 nodes x 20 heights: every node reaches the height, finalized chains agree, one seed gives a byte-identical report", async () => {
  const listeners = tcpListeners();
  let most = listeners;
  const sampler = setInterval(() => (most = Math.max(most, tcpListeners())), 5); // real time: it runs between the driver's settle() turns
  const opts = { nodes: 6, heights: 20, seed: 7 };
  const a = await runSimulation(opts);
  clearInterval(sampler);
  assert.equal(most, listeners, "no node opened a TCP listener (API or P2P)");
  assert.ok(a.reached, "every node reached height 20");
  assert.ok(a.peers.slice(2).some((p) => p > 2), `peer exchange connected nodes beyond the bootnodes: ${a.peers.join(",")}`);
  const ra = summarize(a);
  assert.ok(ra.heights.produced >= 20);
  assert.ok(ra.agreement.agreed, `finalized chains agree: ${JSON.stringify(ra.agreement)}`);
  assert.ok(ra.agreement.finalized_height_min > 0, "something was finalized");
  assert.ok(ra.propagation.blocks >= 20 && ra.propagation.incomplete === 0);
  assert.ok(ra.duplicates.copies > 0, "gossip copies after the first are counted");
  assert.ok(ra.bandwidth.per_node.every((t) => t.bytes_sent > 0 && t.bytes_received > 0), "every node sent and received");
  assert.ok(new Set(ra.propagation.per_block.map((b) => b.producer)).size >= 3, "the validators took turns");

  const b = await runSimulation(opts);
  assert.equal(firstDifference(a, b), "events equal");
  assert.equal(reportJson(summarize(b)), reportJson(ra), "one seed, one report");

  const c = await runSimulation({ ...opts, seed: 8 });
  assert.ok(c.reached);
  assert.notEqual(reportJson(summarize(c)), reportJson(ra), "another seed, another report");
});

test("10 nodes with maxPeers 4: the bootnodes take every node and peer exchange does the rest; every node reaches the height", async () => {
  const run = await runSimulation({ nodes: 10, heights: 20, seed: 3, p2p: { maxPeers: 4 } });
  assert.ok(run.reached, `every node reached height 20 (peers ${run.peers.join(",")})`);
  assert.ok(run.peers.slice(2).every((p) => p >= 1 && p <= 4), `non-bootnodes within maxPeers: ${run.peers.join(",")}`);
  const r = summarize(run);
  assert.ok(r.agreement.agreed && r.agreement.finalized_height_min > 0, JSON.stringify(r.agreement));
  assert.equal(r.propagation.incomplete, 0);
});

test("blockFrameHash: a block gossip frame's hash (hash first, or any key order), nothing for other frames", () => {
  const hash = "ab".repeat(32);
  const block = { hash, header: { height: 3, parent_hash: "cd".repeat(32) }, signature: "", txs: [], attestations: [], slashings: [] };
  assert.equal(blockFrameHash(Buffer.from(JSON.stringify({ type: "block", block }) + "\n")), hash);
  const { hash: _, ...rest } = block;
  assert.equal(blockFrameHash(Buffer.from(JSON.stringify({ type: "block", block: { ...rest, hash } }))), hash);
  assert.equal(blockFrameHash(Buffer.from(JSON.stringify({ type: "status", height: 3, tip_hash: hash, pad: "x".repeat(100) }))), undefined);
  assert.equal(blockFrameHash(Buffer.from(`{"type":"block",${"x".repeat(100)}`)), undefined, "a broken frame");
});

test("onProgress reports start-up and then virtual time, the nodes still below the height and the timers; the report is the same without it", async () => {
  const opts = { nodes: 5, heights: 10, seed: 9 };
  const seen: SimulationProgress[] = [];
  const a = await runSimulation({ ...opts, onProgress: (p) => seen.push(p), progressEveryMs: 0 });
  const b = await runSimulation(opts);
  assert.equal(reportJson(summarize(a)), reportJson(summarize(b)), "progress calls change nothing");
  const starting = seen.filter((p) => p.started < 5);
  assert.deepEqual(starting.map((p) => p.started), [1, 2, 3, 4], "one call per node started");
  const running = seen.slice(starting.length);
  assert.ok(running.length > 1 && running.every((p) => p.started === 5), `${running.length} calls while running`);
  for (let i = 1; i < running.length; i++) {
    assert.ok(running[i]!.virtualMs >= running[i - 1]!.virtualMs && running[i]!.timers > running[i - 1]!.timers);
    assert.ok(running[i]!.below <= running[i - 1]!.below);
  }
  assert.ok(running.every((p) => p.timers % 1024 === 0 && p.below >= 0 && p.below <= 5));
});
