// The miner race report's race on real processes through `vision-node drill miner-race`: two miners
// from one genesis, every height contested. Both the slowed-down form (mining_delay_ms) and
// full-speed workers must abort promptly, never mine a filled height, never retry a parent, and
// converge.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCli } from "../helpers/nodeProcess.ts";
import type { MinerRaceReport } from "../../src/drill/minerRace.ts";

for (const [delay, difficulty] of [[100, 1], [0, 5]] as const) {
  test(`drill miner-race (mining_delay_ms ${delay}, difficulty ${difficulty}): races aborted within 50 ms, no filled-height mining, no retry, convergence`, () => {
    const r = runCli(["drill", "miner-race", "--blocks", "6", "--delay-ms", String(delay), "--difficulty", String(difficulty), "--json"], 240_000);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const report = JSON.parse(r.stdout) as MinerRaceReport;
    assert.ok(report.races >= 1, "at least one race was provoked");
    assert.ok(report.abort_latency_max_ms !== null && report.abort_latency_max_ms < 50, `abort latency ${report.abort_latency_max_ms}`);
    for (const n of report.nodes) {
      assert.equal(n.filled_height_starts, 0, `${n.name} mined a filled height`);
      assert.equal(n.retries, 0, `${n.name} retried a parent`);
      assert.equal(n.failed, 0);
      assert.ok(n.wasted_hashes <= n.hashes);
    }
    assert.equal(report.agree, true);
    assert.ok(report.agree_heights >= 6);
  });
}
