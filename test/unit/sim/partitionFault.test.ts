// The simulator's region partition at 50 nodes: three regions cut off the other three for 10 s
// (5 block times), then healed. Both sides keep producing (each holds about half the validators,
// so neither finalizes alone), their heads diverge; after the heal every node converges to one head
// through a reorg on the losing side; no height ever has two finalized blocks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runSimulation } from "../../../src/sim/driver.ts";
import { summarize } from "../../../src/sim/summarize.ts";
import { reportJson } from "../../../src/sim/report.ts";

/** A checkpoint every 4 heights (attestations as old as 4 blocks count), so a short run finalizes and safety is tested. */
const FAST_FINALITY = { checkpoint_interval: 4, attestation_max_age: 4 };

test("50 nodes, us-east,us-west,eu-west cut off the rest from 8 s to 18 s: the sides diverge, the heal converges them, safety holds", async () => {
  const partition = { sides: [["us-east", "us-west", "eu-west"], ["eu-central", "ap-northeast", "ap-southeast"]] as [string[], string[]], fromMs: 8000, toMs: 18_000 };
  const run = await runSimulation({ nodes: 50, heights: 18, seed: 15, p2p: { maxPeers: 8 }, params: FAST_FINALITY, faults: { partition } });
  assert.ok(run.reached, "every node reached the height");
  const r = summarize(run);
  assert.equal(r.safety.violations, 0, JSON.stringify(r.safety));
  assert.ok(r.agreement.agreed && r.agreement.finalized_height_min > 0, JSON.stringify(r.agreement));
  const p = r.faults!.partition!;
  assert.deepEqual(p.sides.map((s) => s.nodes), [26, 24], "nodes take the regions in turn");
  assert.ok(p.healed, "the run reached the heal");
  assert.ok(p.sides.every((s) => s.blocks_during > 0), `both sides produced during the cut: ${JSON.stringify(p.sides)}`);
  assert.ok(p.diverged, "the sides' heads differed at the heal");
  assert.ok(p.reorg_depth_at_heal >= 1 && p.reorged_nodes_at_heal > 0, `the losing side reorged: depth ${p.reorg_depth_at_heal} on ${p.reorged_nodes_at_heal} nodes`);
  assert.ok(p.converged_after_ms !== null, "every node held one head after the heal");
  assert.equal(p.longest_side_stall_ms, Math.max(...p.sides.map((s) => s.longest_stall_ms)));

  // Nothing crossed the cut: no node of one side got a block the other side produced during it, until the heal.
  const sideOf = new Map(run.faults!.partition!.nodes.flatMap((ns, s) => ns.map((i) => [i, s] as const)));
  const from = run.startMs + partition.fromMs;
  const to = run.startMs + partition.toMs;
  const producedOn = new Map(run.events.flatMap((e) => (e.type === "produce" && e.atMs >= from && e.atMs < to ? [[e.hash, sideOf.get(e.node)!] as const] : [])));
  const crossed = run.events.filter((e) => e.type === "deliver" && e.atMs < to && producedOn.has(e.hash) && producedOn.get(e.hash) !== sideOf.get(e.node));
  assert.deepEqual(crossed, [], "no block crossed the cut before the heal");
  assert.doesNotThrow(() => reportJson(r));
});
