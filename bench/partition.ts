/**
 * Partition recovery: each round cuts one of 3 nodes off for 20 s (user-space link proxies that go
 * silent with sockets open, like a real partition), then
 * heals and measures reconnect, catch-up, eligibility and return to the pool. The baseline in the
 * same run is the eligibility hysteresis itself (eligible_streak_required one-second ticks): the
 * least any recovery can take once caught up.
 */
import { drillPartition } from "../src/drill/partition.ts";
import { median, fmt } from "./stats.ts";

export async function benchPartition(rounds = 3, seconds = 20, blockTimeMs = 2000): Promise<Record<string, number>> {
  const report = await drillPartition(
    { nodes: 3, rounds, seconds, blockTimeMs, mode: "blackhole", json: false, keep: false, logLevel: "info" },
    (l) => (l.startsWith("round") ? process.stdout.write(`  ${l.slice(0, 70)}...\r`) : undefined),
  );
  const pick = (k: "reconnect_ms" | "caught_up_ms" | "eligible_ms" | "back_in_pool_ms" | "eligible_after_catch_up_ms") => median(report.rounds.map((r) => r[k]));
  const r = {
    rounds: report.rounds.length,
    reconnect_ms: pick("reconnect_ms"),
    caught_up_ms: pick("caught_up_ms"),
    eligible_ms: pick("eligible_ms"),
    back_in_pool_ms: pick("back_in_pool_ms"),
    eligible_after_catch_up_ms: pick("eligible_after_catch_up_ms"),
  };
  const floor = 3000;
  console.log(`\npartition recovery, ${r.rounds} rounds of a ${seconds} s cut (3 nodes, block_time_ms ${blockTimeMs}, blackholed links), medians after the heal:`);
  console.log(`  reconnected ${r.reconnect_ms} ms, caught up ${r.caught_up_ms} ms, eligible ${r.eligible_ms} ms, back in the pool ${r.back_in_pool_ms} ms`);
  console.log(`  eligible after catching up: ${r.eligible_after_catch_up_ms} ms (goal <= 5000; hysteresis floor ${floor} ms, ratio ${fmt(r.eligible_after_catch_up_ms / floor)})`);
  console.log(`  blocks produced by the others while cut: ${report.rounds.map((x) => x.blocks_during_cut).join(", ")}; reorgs ${report.reorgs}; all nodes agree: ${report.agree}`);
  return r;
}
