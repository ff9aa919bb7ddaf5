// Crash safety through `vision-node drill crash` (real processes, SIGKILL at random moments): after
// every kill the data dir passes `db verify` (full replay), and nothing the node acknowledged is lost.
// The 50-cycle run is `vision-node drill crash` itself (see the README); this runs 4 cycles.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCli } from "../helpers/nodeProcess.ts";
import type { CrashReport } from "../../src/drill/crash.ts";

test("drill crash: 4 SIGKILL cycles, each data dir verifies, no acknowledged block or transfer lost", () => {
  const r = runCli(["drill", "crash", "--cycles", "4", "--block-time-ms", "1000", "--json"], 240_000);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const report = JSON.parse(r.stdout) as CrashReport;
  assert.equal(report.cycles.length, 4);
  for (const c of report.cycles) {
    assert.equal(c.verify_ok, true, JSON.stringify(c));
    assert.equal(c.tip_kept, true);
    assert.equal(c.lost_txs, 0);
    assert.ok(c.acked_txs > 0);
  }
  assert.equal(report.survived, 4);
  assert.equal(report.final_verify_ok, true);
  assert.equal(report.agree, true);
});
