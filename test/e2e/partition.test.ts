// Partition end to end through `vision-node drill partition` (real processes, links cut by
// user-space proxies that go silent with sockets open): the cut-off node turns ineligible, then catches up, is eligible within 5 s
// of catching up and is back in the pool; everyone agrees afterwards.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCli } from "../helpers/nodeProcess.ts";
import type { PartitionReport } from "../../src/drill/partition.ts";

test("drill partition: a cut-off node drops out, then rejoins the chain and the pool", () => {
  const r = runCli(["drill", "partition", "--seconds", "10", "--block-time-ms", "1000", "--json"], 240_000);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const report = JSON.parse(r.stdout) as PartitionReport;
  const [round] = report.rounds;
  assert.ok(round, "one round");
  assert.ok(round.ineligible_after_cut_ms !== null && round.ineligible_after_cut_ms < 10_000, `ineligible after ${round.ineligible_after_cut_ms}`);
  assert.ok(round.blocks_during_cut >= 1, "the others kept producing");
  assert.ok(round.caught_up_ms >= round.reconnect_ms);
  assert.ok(round.eligible_after_catch_up_ms <= 5000, `eligible ${round.eligible_after_catch_up_ms} ms after catching up`);
  assert.ok(round.back_in_pool_ms >= 0);
  assert.equal(round.ok, true, round.problem ?? "");
  assert.equal(report.agree, true);
});
