// The simulator's crash/restart fault at 50 nodes: 10% of the nodes crash and come back after a
// seeded downtime on their own in-memory data, rejoin through the bootnodes and sync. Each restarted
// node reaches the network's head (a catch-up time is reported), finality safety holds, every node
// reaches the height, and nothing is recorded of a node while it is down.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runSimulation } from "../../../src/sim/driver.ts";
import { summarize } from "../../../src/sim/summarize.ts";
import { reportJson } from "../../../src/sim/report.ts";

/** A checkpoint every 4 heights (attestations as old as 4 blocks count), so a short run finalizes and safety is tested. */
const FAST_FINALITY = { checkpoint_interval: 4, attestation_max_age: 4 };

test("50 nodes, 10% crash and restart on their own data: each catches up with the head; safety holds; every node reaches the height", async () => {
  const run = await runSimulation({ nodes: 50, heights: 14, seed: 15, p2p: { maxPeers: 8 }, params: FAST_FINALITY, faults: { restart: 0.1 } });
  assert.ok(run.reached, "every node, the restarted ones too, reached the height");
  assert.deepEqual(run.crashed, [], "no node crashed for good");
  const restarts = run.faults!.restarts;
  assert.equal(restarts.length, 5, "5 of 50 nodes restarted");
  for (const r of restarts) {
    assert.ok(r.node >= 2, "never a bootnode");
    assert.ok(r.restartedAtMs !== null && r.restartedAtMs > r.crashedAtMs, `node ${r.node} restarted`);
    assert.ok(r.caughtUpAtMs !== null && r.caughtUpAtMs >= r.restartedAtMs!, `node ${r.node} caught up`);
    const silent = run.events.filter((e) => e.node === r.node && e.atMs > r.crashedAtMs && e.atMs < r.restartedAtMs!);
    assert.deepEqual(silent, [], `nothing recorded of node ${r.node} while down`);
    const back = run.events.flatMap((e) => (e.node === r.node && e.type === "head" && e.atMs >= r.restartedAtMs! ? [e.height] : []));
    assert.ok(back.length > 0 && back.at(-1)! >= 14, `node ${r.node} imported blocks after its restart up to the height`);
  }
  const r = summarize(run);
  assert.equal(r.safety.violations, 0, JSON.stringify(r.safety));
  assert.ok(r.agreement.agreed && r.agreement.finalized_height_min > 0, JSON.stringify(r.agreement));
  const f = r.faults!;
  assert.equal(f.restarts.length, 5);
  assert.ok(f.restarts.every((x) => x.catch_up_ms !== null && x.restarted_at_ms! > x.crashed_at_ms), JSON.stringify(f.restarts));
  assert.equal(f.catch_up_max_ms, Math.max(...f.restarts.map((x) => x.catch_up_ms!)));
  assert.equal(f.partition, null);
  assert.equal(f.clock_skew, null);
  assert.doesNotThrow(() => reportJson(r), "the report with its faults section matches the schema");
});
