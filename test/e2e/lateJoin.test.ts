// Late join end to end through `vision-node drill late-join`: a node started on an empty data dir
// after 150 blocks (7 consensus epochs, 3 range chunks; the drill's default is 300) reaches the tip,
// becomes eligible and returns to the pool.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCli } from "../helpers/nodeProcess.ts";
import type { LateJoinReport } from "../../src/drill/lateJoin.ts";

test("drill late-join: a node started after 150 blocks reaches the tip", () => {
  // A fast chain so 150 blocks take well under a minute: the late node is one of the three
  // validators, so a third of the slots are its and missed until it joins; a short claim timeout
  // lets the backup take them over at once (at the default 1200 ms they made the build ~80 s).
  const args = ["drill", "late-join", "--blocks", "150", "--block-time-ms", "100", "--param", "claim_timeout_ms=150", "--param", "mining_tick_ms=50", "--param", "jitter_min_ms=10", "--param", "jitter_max_ms=40", "--json"];
  const r = runCli(args, 300_000);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const report = JSON.parse(r.stdout) as LateJoinReport;
  assert.ok(report.height_at_join >= 150);
  assert.ok(report.synced_blocks >= report.height_at_join);
  assert.ok(report.eligible_ms >= report.caught_up_ms, "eligible only once at the tip");
  assert.ok(report.in_pool_ms > 0);
  assert.equal(report.agree, true);
  assert.ok(report.agree_heights >= 150);
});
