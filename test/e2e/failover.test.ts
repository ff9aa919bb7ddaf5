// Failover end to end through `vision-node drill failover` (real processes, SIGKILL): the primary
// is killed before its slot and the first live backup produces the height after T(1).
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCli } from "../helpers/nodeProcess.ts";
import type { FailoverReport } from "../../src/drill/failover.ts";

test("drill failover: the first live backup takes each height, survivors agree, the chain goes on", () => {
  const r = runCli(["drill", "failover", "--rounds", "2", "--block-time-ms", "1000", "--json"], 240_000);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const report = JSON.parse(r.stdout) as FailoverReport;
  assert.equal(report.rounds.length, 2);
  for (const round of report.rounds) {
    assert.equal(round.slot, 1, JSON.stringify(round));
    assert.equal(round.producer, round.first_live_backup);
    assert.notEqual(round.producer, round.killed);
    // timestamp >= T(1) = T(0) + claim_timeout_ms, and the block came (generous bound: all 7 slots)
    assert.ok(round.takeover_ms >= 1200, `takeover ${round.takeover_ms}`);
    assert.ok(round.takeover_ms < 1200 * 7, `takeover ${round.takeover_ms}`);
    assert.equal(round.ok, true);
  }
  assert.equal(report.agree, true);
  assert.ok(report.agree_heights > report.rounds[1]!.height, "the chain continued past the last takeover");
  // every drill reports finality lag and checks finalized agreement at every sample (drill/common.ts)
  const fin = report.finality;
  assert.ok(fin.samples >= 5, `${fin.samples} finality samples`);
  assert.ok(fin.lag_median !== null && fin.lag_max !== null && fin.lag_median >= 0 && fin.lag_max >= fin.lag_median, JSON.stringify(fin));
  assert.equal(fin.agree, true, fin.conflicts.join("; "));
});
