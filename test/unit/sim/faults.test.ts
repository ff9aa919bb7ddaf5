// The simulator at 50 nodes with faults: 10% of the nodes crash, or a 20%
// coalition withholds its blocks; finality safety holds (no height with two finalized blocks), every
// live node reaches the height, no stall passes the backup window, and the coalition's share of
// canonical blocks stays within twice its share of validators. maxPeers 8 keeps each run short.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runSimulation } from "../../../src/sim/driver.ts";
import { summarize } from "../../../src/sim/summarize.ts";

const NODES = 50;
const HEIGHTS = 14;
// Checkpoints every 4 heights (the least I allows), so 14 heights finalize some.
const params = { checkpoint_interval: 4, attestation_max_age: 4 };

test("50 nodes, 10% crash at random times: safety holds, every live node reaches the height, no stall beyond the backup window", async () => {
  const run = await runSimulation({ nodes: NODES, heights: HEIGHTS, seed: 10, p2p: { maxPeers: 8 }, params, faults: { crash: 0.1 } });
  assert.equal(run.crashed?.length, 5, "5 of 50 nodes crashed");
  assert.ok(run.crashed!.every((c) => c.node >= 2), "never a bootnode");
  assert.ok(run.reached, "every live node reached the height");
  const r = summarize(run);
  assert.equal(r.safety.violations, 0, JSON.stringify(r.safety));
  assert.ok(r.agreement.agreed && r.agreement.finalized_height_min > 0, JSON.stringify(r.agreement));
  assert.equal(r.stall.window_ms, 10_800);
  assert.equal(r.stall.over_window, 0, `longest stall ${r.stall.longest_ms} ms`);
  assert.equal(r.propagation.incomplete, 0, "every block reached every live node");
  const lastAt = new Map(run.crashed!.map((c) => [c.node, c.atMs]));
  assert.ok(run.events.every((e) => !(lastAt.get(e.node)! < e.atMs)), "nothing recorded of a node after its crash");
});

test("50 nodes, a 20% withholding coalition: honest nodes see its blocks only on release; safety holds; its share stays within 2x its validator share", async () => {
  const releaseMs = 2000;
  const run = await runSimulation({ nodes: NODES, heights: HEIGHTS, seed: 20, p2p: { maxPeers: 8 }, params, faults: { withhold: 0.2, withholdReleaseMs: releaseMs } });
  assert.ok(run.reached, "every node reached the height");
  const members = new Set(run.validators.flatMap((v, i) => (v.adversary === "withhold" ? [i] : [])));
  assert.equal(members.size, 10);
  assert.ok(run.withholding!.released > 0 && run.withholding!.droppedFrames > 0, JSON.stringify(run.withholding));

  // No honest node got a coalition block before its release: a coalition child's production, or the deadline.
  const produced = run.events.flatMap((e) => (e.type === "produce" ? [e] : []));
  const childAt = new Map<string, number>();
  for (const p of produced) if (members.has(p.node)) childAt.set(p.parent, Math.min(childAt.get(p.parent) ?? Infinity, p.atMs));
  const releaseAt = new Map(produced.filter((p) => members.has(p.node)).map((p) => [p.hash, Math.min(p.atMs + releaseMs, childAt.get(p.hash) ?? Infinity)]));
  const early = run.events.filter((e) => e.type === "deliver" && !members.has(e.node) && e.atMs < (releaseAt.get(e.hash) ?? -Infinity));
  assert.deepEqual(early, [], "no honest delivery before release");

  const r = summarize(run);
  assert.equal(r.safety.violations, 0, JSON.stringify(r.safety));
  assert.ok(r.agreement.agreed, JSON.stringify(r.agreement));
  const w = r.adversaries.find((a) => a.name === "withhold")!;
  assert.deepEqual([w.validators, w.validator_share], [10, 0.2]);
  assert.ok(w.production_share <= 2 * w.validator_share, `coalition share ${w.production_share} against ${w.validator_share}`);
  assert.ok(w.blocks > 0, "the coalition's released blocks reached the canonical chain");
});
