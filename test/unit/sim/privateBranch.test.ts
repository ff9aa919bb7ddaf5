// The simulator at 50 nodes with a private-branch coalition (sim/adversary.ts Withholding with a
// chain length): 20% of 20 validators withhold their blocks until their private chain is K = 3
// heights long, then release it at once, to reorg the honest blocks of those heights. No finalized
// block is ever reverted (docs/protocol.md §7), the deepest reorg stays within the branch, and the
// coalition's share of canonical blocks stays within twice its share of validators.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runSimulation } from "../../../src/sim/driver.ts";
import { summarize } from "../../../src/sim/summarize.ts";
import { chainsDisagree, finalizedReverted } from "../../helpers/simChecks.ts";

const K = 3;

test("50 nodes, a 20% private-branch coalition (K = 3): no finalized block reverted, reorgs within K, its share within 2x its validator share", async () => {
  const run = await runSimulation({ nodes: 50, validators: 20, heights: 20, seed: 43, p2p: { maxPeers: 8 }, faults: { privateBranch: 0.2, privateBranchHeights: K } });
  assert.ok(run.reached, "every node reached the height");
  const members = run.validators.flatMap((v, i) => (v.adversary === "private-branch" ? [i] : []));
  assert.equal(members.length, 4);
  assert.ok(run.withholding!.droppedFrames > 0, JSON.stringify(run.withholding));
  const r = summarize(run);
  const a = r.adversaries.find((x) => x.name === "private-branch")!;
  process.stdout.write(`# private-branch: share ${a.production_share} (validators ${a.validator_share}), reorgs ${r.reorgs.count} deepest ${r.reorgs.deepest}, ${JSON.stringify(run.withholding)}\n`);
  assert.equal(r.safety.violations, 0, JSON.stringify(r.safety));
  assert.ok(r.agreement.agreed && r.agreement.finalized_height_min > 0, JSON.stringify(r.agreement));
  assert.deepEqual(finalizedReverted(run), [], "no node's finalized checkpoint moved back or to another block");
  // the last K + 1 heights may still be settling when the run stops (a branch released at the end)
  assert.deepEqual(chainsDisagree(run, 20 - K - 1), [], "every node holds one chain below the last heights");
  assert.ok(r.reorgs.deepest <= K, `deepest reorg ${r.reorgs.deepest}`);
  assert.deepEqual([a.validators, a.validator_share], [4, 0.2]);
  assert.ok(a.production_share <= 2 * a.validator_share, `share ${a.production_share} against ${a.validator_share}`);
});
