// The simulator's clock skew at 50 nodes: every node's clock is offset by a seeded whole ms in
// [-2000, +2000] (the chain's max_future_drift_ms), every timer still on the one virtual clock.
// Every height is produced, safety holds, the primary's share is reported, and the offsets are
// the seed's (the same run twice gives the same offsets).
import { test } from "node:test";
import assert from "node:assert/strict";
import { runSimulation } from "../../../src/sim/driver.ts";
import { summarize } from "../../../src/sim/summarize.ts";
import { reportJson } from "../../../src/sim/report.ts";

/** A checkpoint every 4 heights (attestations as old as 4 blocks count), so a short run finalizes and safety is tested. */
const FAST_FINALITY = { checkpoint_interval: 4, attestation_max_age: 4 };
import { skewPlan } from "../../../src/sim/faults.ts";
import { deriveSeed } from "../../../src/sim/driver.ts";
import { seededRng } from "../../../src/util/clock.ts";

test("50 nodes with clocks skewed up to the allowed drift (2000 ms): every height is produced, safety holds, the primary share is reported", async () => {
  const run = await runSimulation({ nodes: 50, heights: 14, seed: 15, p2p: { maxPeers: 8 }, params: FAST_FINALITY, faults: { clockSkewMs: 2000 } });
  assert.ok(run.reached, "every node reached the height");
  const r = summarize(run);
  assert.equal(r.safety.violations, 0, JSON.stringify(r.safety));
  assert.ok(r.agreement.agreed && r.agreement.finalized_height_min > 0, JSON.stringify(r.agreement));
  assert.ok(r.heights.produced >= 14);
  const heights = new Set(run.events.flatMap((e) => (e.type === "produce" ? [e.height] : [])));
  for (let h = 1; h <= 14; h++) assert.ok(heights.has(h), `height ${h} produced`);
  assert.ok(r.slots.primary_share > 0 && r.slots.primary_share <= 1, `primary share ${r.slots.primary_share}`);
  const s = r.faults!.clock_skew!;
  assert.equal(s.max_ms, 2000);
  assert.deepEqual(s.offsets_ms, skewPlan(seededRng(deriveSeed(15, "clock-skew")), 50, 2000), "the seed's offsets");
  assert.ok(s.min_offset_ms < -1000 && s.max_offset_ms > 1000, `offsets spread over the bound: ${s.min_offset_ms}..${s.max_offset_ms}`);
  assert.doesNotThrow(() => reportJson(r));
});

test("a clock skew beyond max_future_drift_ms is refused unless allowed explicitly", async () => {
  await assert.rejects(runSimulation({ nodes: 3, heights: 1, seed: 1, faults: { clockSkewMs: 2001 } }), /clock skew 2001 ms is beyond the chain's max_future_drift_ms \(2000 ms\)/);
});
