// Peers that lie about their height, through `vision-node drill liars` (real node processes): on a
// 3-node testnet, four connections report a height 1,000 above the first node's tip for 20 s,
// reconnecting with a fresh key every 5 s and never serving a block (two refuse every request, two
// never answer). The node must stay eligible and out of `Behind`, keep producing its slots, and the
// chain's median block interval must stay within its usual range, measured in the same run before
// the liars came (docs/protocol.md §6.1, §9.6: only backed heights count).
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCli } from "../helpers/nodeProcess.ts";
import type { LiarsReport } from "../../src/drill/liars.ts";

test("four peers claiming tip + 1000 for 20 s: the node stays eligible, produces its slots, the interval holds", () => {
  const args = ["drill", "liars", "--liars", "4", "--ahead", "1000", "--seconds", "20", "--baseline-seconds", "10", "--block-time-ms", "500", "--json"];
  const r = runCli(args, 240_000);
  assert.ok(r.stdout.trim().startsWith("{"), r.stderr + r.stdout);
  const report = JSON.parse(r.stdout) as LiarsReport;
  const w = report.with;
  const summary = JSON.stringify({ without: report.without, with: w, connections: report.liar_connections, statuses: report.liar_statuses, requests: report.liar_requests });
  console.log(`# ${summary}`);
  // 20 s with a fresh key every 5 s: about 4 connections per liar, each sending a status every 500 ms.
  assert.ok(report.liar_connections >= 4 * 3 && report.liar_statuses >= 4 * 20, `the liars ran: ${summary}`);
  // A short generous tolerance: a slot lost to the shared machine's scheduling may cost a sample.
  assert.ok(w.eligible_pct >= 90, `the node stays eligible: ${summary}`);
  assert.equal(w.behind_samples, 0, `never Behind: ${summary}`);
  assert.ok(w.worst_lag < 100, `the liars' heights never reach network_height: ${summary}`);
  assert.ok(w.blocks >= 20 / 2 / 0.5, `blocks kept coming (half the slots of 20 s at 500 ms): ${summary}`);
  assert.ok(w.produced >= w.blocks / 6, `the node kept producing its slots: ${summary}`);
  assert.ok(w.median_interval_ms <= Math.max(report.without.median_interval_ms * 1.3, 500 * 1.5), `the interval stays within its usual range: ${summary}`);
  assert.equal(report.agree, true);
  assert.equal(r.status, 0, r.stderr);
});
