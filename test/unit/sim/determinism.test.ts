// The simulator at 50 nodes: two runs with one seed give byte-identical
// reports. maxPeers 8 and 14 heights keep the run short.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runSimulation } from "../../../src/sim/driver.ts";
import { summarize } from "../../../src/sim/summarize.ts";
import { reportJson } from "../../../src/sim/report.ts";

test("50 nodes x 14 heights, twice with one seed: byte-identical reports; every node reaches the height and safety holds", async () => {
  // Checkpoints every 4 heights (the least I allows), so 14 heights finalize some.
  const opts = { nodes: 50, heights: 14, seed: 50, p2p: { maxPeers: 8 }, params: { checkpoint_interval: 4, attestation_max_age: 4 } };
  const a = await runSimulation(opts);
  assert.ok(a.reached, "every node reached height 14");
  const ra = summarize(a);
  assert.equal(ra.safety.violations, 0, JSON.stringify(ra.safety));
  assert.ok(ra.agreement.agreed && ra.agreement.finalized_height_min > 0, JSON.stringify(ra.agreement));
  assert.equal(ra.propagation.incomplete, 0);
  const b = await runSimulation(opts);
  assert.equal(a.events.length, b.events.length);
  assert.equal(reportJson(summarize(b)), reportJson(ra), "one seed, one report");
});
