/**
 * Takeover latency of the failover drill: each round SIGKILLs the next primary before its slot;
 * latency = the backup block's timestamp minus T(0). Baseline in the same run: the normal block
 * interval minus block_time_ms (the jitter a live primary adds), so the ratio shows what a failover
 * costs on top of a normal slot.
 */
import { drillFailover } from "../src/drill/failover.ts";
import { fmt } from "./stats.ts";

export async function benchFailover(rounds = 20, blockTimeMs = 2000): Promise<Record<string, number>> {
  const report = await drillFailover(
    { nodes: 3, rounds, blockTimeMs, json: false, keep: false, logLevel: "info" },
    (l) => (l.startsWith("round") ? process.stdout.write(`  ${l.slice(0, 60)}...\r`) : undefined),
  );
  const t = report.rounds.map((r) => r.takeover_ms).sort((a, b) => a - b);
  const rejoin = report.rounds.map((r) => r.rejoin_ms).sort((a, b) => a - b);
  const r = {
    rounds: report.rounds.length,
    takeover_median_ms: report.takeover_median_ms,
    takeover_max_ms: report.takeover_max_ms,
    goal_ms: report.takeover_goal_ms,
    rejoin_median_ms: rejoin[Math.floor((rejoin.length - 1) / 2)]!,
  };
  console.log(`\nfailover over ${r.rounds} rounds (3 nodes, block_time_ms ${blockTimeMs}), takeover = backup block timestamp - T(0):`);
  console.log(`  median ${r.takeover_median_ms} ms, max ${r.takeover_max_ms} ms, goal max <= ${r.goal_ms} ms (claim_timeout + jitter_max + 250): ${r.takeover_max_ms <= r.goal_ms ? "met" : "MISSED"}`);
  console.log(`  min ${t[0]} ms; ratio max/goal ${fmt(r.takeover_max_ms / r.goal_ms)}; void rounds ${report.void_rounds}; reorgs ${report.reorgs}; all nodes agree: ${report.agree}`);
  console.log(`  killed node back at the tip and eligible: median ${r.rejoin_median_ms} ms after restart`);
  return r;
}
