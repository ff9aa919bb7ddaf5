// Multi-hop propagation through the mesh router (docs/protocol.md §9.5) against today's flood, on
// an in-memory network of 200 nodes: each dials 8 others (at most 50 peers), links of 20-300 ms,
// 10 ms to validate before relaying. The benchmark `gossip` runs the same at 1,000 nodes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { simulate, type SimOptions } from "../../helpers/gossipSim.ts";

const base: SimOptions = { nodes: 200, outbound: 8, maxPeers: 50, minDelayMs: 20, maxDelayMs: 300, processMs: 10, mode: "mesh", seed: 11, warmupMs: 5000, messages: 5, spacingMs: 2000 };
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** ms until the message reached 95% of the nodes */
const t95 = (arrivals: number[], n: number) => arrivals[Math.ceil(0.95 * n) - 1] ?? Infinity;

test("the mesh reaches every node with a bounded number of duplicates per node, far fewer than the flood, within a bounded time", () => {
  const flood = simulate({ ...base, mode: "flood" });
  const mesh = simulate(base);
  for (const [name, run] of [["flood", flood], ["mesh", mesh]] as const) {
    for (const m of run.messages) assert.equal(m.reached, base.nodes, `${name}: every node got every message`);
  }
  const floodDup = mean(flood.messages.flatMap((m) => m.duplicates));
  const meshDup = mean(mesh.messages.flatMap((m) => m.duplicates));
  assert.ok(meshDup <= 6, `mesh: ${meshDup.toFixed(2)} duplicates per node per message (at most 6)`);
  assert.ok(meshDup < floodDup / 2, `mesh ${meshDup.toFixed(2)} against flood ${floodDup.toFixed(2)} duplicates per node`);
  assert.ok(Math.max(...mesh.meshSizes) <= 7, "meshes pruned to d_high");
  // a node's full copies are bounded by its mesh (d_high) plus fetches, whatever its degree
  assert.ok(Math.max(...mesh.messages.flatMap((m) => m.duplicates)) < mesh.maxDegree, "no node gets a copy from every peer");
  for (const m of mesh.messages) {
    assert.ok(t95(m.arrivalsMs, base.nodes) < 2000, `95% reached in ${t95(m.arrivalsMs, base.nodes).toFixed(0)} ms`);
    assert.ok(Math.max(...m.hops) < 20, "hops bounded");
  }
});

test("a fifth of the nodes hostile (in the mesh, announcing everything, relaying and serving nothing): every honest node still gets every message", () => {
  const run = simulate({ ...base, silentShare: 0.2, messages: 3 });
  assert.ok(run.honest < base.nodes, "some nodes are hostile");
  for (const m of run.messages) assert.equal(m.reachedHonest, run.honest);
  assert.ok(run.fetches > 0, "repaired by iwant");
});

test("a network where a third of the nodes do not support the mesh still reaches every node (they are flooded)", () => {
  const run = simulate({ ...base, legacyShare: 1 / 3, messages: 3 });
  for (const m of run.messages) assert.equal(m.reached, base.nodes);
});

test("a 3-node network behaves as today's flood: each node gets each message once from each other node at most", () => {
  const run = simulate({ ...base, nodes: 3, outbound: 2, messages: 3 });
  for (const m of run.messages) {
    assert.equal(m.reached, 3);
    assert.equal(m.announces, 0, "no ihave in a network below d_high");
    assert.ok(Math.max(...m.duplicates) <= 1);
  }
});
