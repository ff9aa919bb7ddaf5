// The simulator at 50 nodes with equivocating producers (sim/equivocation.ts): 20% of 20 validators
// sign every block they produce twice (another timestamp) and send one to each half of their peers.
// Finality safety holds, every node converges on one of the two (fork choice by the lower hash,
// docs/protocol.md §7), and a later block carries the `blocks` slashing item (§6.4, §6.5): the
// producer is slashed on the chain every node holds.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runSimulation } from "../../../src/sim/driver.ts";
import { summarize } from "../../../src/sim/summarize.ts";
import { finalHeadsAgree } from "../../helpers/simChecks.ts";

const HEIGHTS = 20;

test("50 nodes, 20% of 20 validators double-block: safety holds, nodes converge, each equivocator that produced is slashed by a later block", async () => {
  const run = await runSimulation({ nodes: 50, validators: 20, heights: HEIGHTS, seed: 41, p2p: { maxPeers: 8 }, faults: { doubleBlock: 0.2 } });
  assert.ok(run.reached, "every node reached the height");
  const r = summarize(run);
  assert.equal(r.safety.violations, 0, JSON.stringify(r.safety));
  assert.ok(r.agreement.agreed && r.agreement.finalized_height_min > 0, JSON.stringify(r.agreement));
  assert.deepEqual(finalHeadsAgree(run), [], "no two nodes end on different heads at one height");

  const eq = run.equivocation!.find((e) => e.kind === "double-block")!;
  const a = r.adversaries.find((x) => x.name === "double-block")!;
  const producedAt = eq.members.map((m) => [m, run.events.flatMap((e) => (e.type === "produce" && e.node === m ? [e.height] : []))]);
  process.stdout.write(`# double-block: produced ${JSON.stringify(producedAt)}, slashed [node, height] ${JSON.stringify(eq.slashed.map((x) => [x.node, x.height]))}, share ${a.production_share}, reorgs ${r.reorgs.count} deepest ${r.reorgs.deepest}\n`);
  assert.equal(eq.members.length, 4);
  assert.ok(eq.members.every((m) => m >= 2 && m < 20), "validators, never a bootnode");
  assert.ok(eq.twinned > 0 && eq.framesRewritten > 0, JSON.stringify(eq));
  // Each member's first produced block below the last two heights: its slashing lands in a later canonical block.
  const ebids = run.validators.map((v) => v.id);
  for (const m of eq.members) {
    const first = run.events.find((e) => e.type === "produce" && e.node === m && e.height <= HEIGHTS - 2);
    if (!first || first.type !== "produce") continue;
    const s = eq.slashed.find((x) => x.node === m);
    assert.ok(s && s.kind === "blocks" && s.height > first.height, `member ${m} (${ebids[m]!.slice(0, 8)}) produced at ${first.height}, slashed: ${JSON.stringify(s)}`);
    assert.ok(eq.slashedAtHead.includes(m));
  }
  assert.ok(eq.slashed.length > 0, "at least one equivocator produced and was slashed");
  assert.deepEqual([a.validators, a.validator_share], [4, 0.2]);
  assert.ok(a.production_share <= 2 * a.validator_share, `share ${a.production_share} against ${a.validator_share}`);
});
