// The simulator at 50 nodes with equivocating attesters (sim/equivocation.ts): 20% of 20 validators
// sign, for every FFG vote above genesis, a conflicting vote for the same target height (a fork's
// target hash) and send one to each half of their peers. Finality safety holds, and honest nodes
// that see both make a `votes` slashing item (docs/protocol.md §6.5) that a later block carries: every
// equivocator is slashed on the chain.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runSimulation } from "../../../src/sim/driver.ts";
import { summarize } from "../../../src/sim/summarize.ts";
import { finalHeadsAgree } from "../../helpers/simChecks.ts";
import { parseReport, reportJson } from "../../../src/sim/report.ts";
import { renderHtml } from "../../../src/sim/reportHtml.ts";

const HEIGHTS = 20;
const INTERVAL = 8; // the default checkpoint_interval: votes of interval 0 have genesis as target, no twin

test("50 nodes, 20% of 20 validators double-vote: safety holds and every equivocator is slashed after its first vote above genesis", async () => {
  const run = await runSimulation({ nodes: 50, validators: 20, heights: HEIGHTS, seed: 42, p2p: { maxPeers: 8 }, faults: { doubleVote: 0.2 } });
  assert.ok(run.reached, "every node reached the height");
  const r = summarize(run);
  assert.equal(r.safety.violations, 0, JSON.stringify(r.safety));
  assert.ok(r.agreement.agreed && r.agreement.finalized_height_min > 0, JSON.stringify(r.agreement));
  assert.deepEqual(finalHeadsAgree(run), []);

  const eq = run.equivocation!.find((e) => e.kind === "double-vote")!;
  const a = r.adversaries.find((x) => x.name === "double-vote")!;
  process.stdout.write(`# double-vote: ${eq.twinned} votes signed twice, slashed [node, height] ${JSON.stringify(eq.slashed.map((x) => [x.node, x.height]))}, share ${a.production_share}\n`);
  assert.equal(eq.members.length, 4);
  assert.ok(eq.members.every((m) => m >= 2 && m < 20));
  assert.ok(eq.twinned >= eq.members.length && eq.framesRewritten > 0, JSON.stringify({ ...eq, slashed: eq.slashed.length }));
  assert.deepEqual(eq.slashedAtHead, eq.members, "every equivocator is slashed at node 0's head");
  for (const s of eq.slashed) {
    assert.equal(s.kind, "votes");
    assert.ok(s.height > INTERVAL && s.height <= HEIGHTS, `slashed at ${s.height}`);
  }
  assert.deepEqual([...new Set(eq.slashed.map((s) => s.node))].sort((a, b) => a - b), eq.members, "one slashing item per equivocator on the canonical chain");
  // The report carries the slashings (JSON and HTML).
  const s = parseReport(JSON.parse(reportJson(r))).slashing?.find((x) => x.kind === "double-vote");
  assert.deepEqual(s && [s.members, s.twinned, s.slashed_at_head, s.slashed.map((x) => [x.node, x.height])], [eq.members, eq.twinned, eq.slashedAtHead, eq.slashed.map((x) => [x.node, x.height])]);
  assert.ok(renderHtml(r).includes(`${eq.members.length} of ${eq.members.length} · node ${eq.slashed[0]!.node} at height ${eq.slashed[0]!.height}`), "the HTML report names the slashings");
  assert.deepEqual([a.validators, a.validator_share], [4, 0.2]);
  assert.ok(a.production_share <= 2 * a.validator_share, `share ${a.production_share} against ${a.validator_share}`);
});
