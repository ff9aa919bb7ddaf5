/**
 * Finality after a stall (docs/protocol.md §5a, §6.6): 4 real validator processes (checkpoint_interval
 * I = 4, block_time_ms 500, as test/e2e/finalityLiveness.test.ts); each round kills two of them
 * (finality stalls for 2·I blocks while the other two produce), restarts them, and counts the
 * blocks until finality moves again (drill/finalityResume.ts), rotating which two go down. One
 * network for every round. Figures per round, in blocks:
 * - from the returned validators' first synced head: design at most 2·I + 1 (votes from the
 *   checkpoint after it, §6.6 rule 5; one interval to justify the next; one block to carry the votes),
 *   2·I + 3 when the checkpoint blocks are backups' (the attester waits up to two heads, §5);
 * - from the head at which they armed: design at most I + 1 (the floor every finalization has),
 *   I + 3 with backups' checkpoint blocks;
 * - from the moment the drill saw every node eligible at one tip (a block or two before the
 *   nodes' own synced flag, which waits for eligibility).
 * Ratios are against those design bounds; the acceptance line "within two checkpoint intervals"
 * is `2·I`.
 */
import { drillNet, settled } from "../src/drill/common.ts";
import { killTwoAndReturn, minOf, watchHeads, type ResumeRound } from "../src/drill/finalityResume.ts";
import { fmt, median } from "./stats.ts";

/** the six pairs of four validators, in the order the rounds take them */
const PAIRS: readonly (readonly [number, number])[] = [[0, 1], [2, 3], [0, 2], [1, 3], [0, 3], [1, 2]];
const PARAMS = { attestation_max_age: 4, checkpoint_interval: 4, epoch_length: 8, claim_timeout_ms: 300 };

export async function benchFinalityResume(rounds = 5): Promise<Record<string, number>> {
  const I = PARAMS.checkpoint_interval;
  const d = await drillNet({ nodes: 4, blockTimeMs: 500, param: PARAMS, keep: false, json: false, logLevel: "info" }, () => undefined);
  const { net } = d;
  const got: ResumeRound[] = [];
  try {
    net.startAll();
    await settled(net, 60_000);
    for (let i = 0; i < rounds; i++) {
      // finality running normally first: two checkpoints past the last round's
      const from = minOf(await watchHeads(net.nodes, 60_000, "heads", () => true), (x) => x.finalized.height);
      await watchHeads(net.nodes, 90_000, "finality to run again", (h) => minOf(h, (x) => x.finalized.height) >= from + 2 * I);
      const [x, y] = PAIRS[i % PAIRS.length]!;
      const pair = [net.nodes[x]!, net.nodes[y]!];
      const r = await killTwoAndReturn(net, pair, I, () => undefined);
      got.push(r);
      console.log(`  round ${i + 1}/${rounds} (${pair.map((n) => n.name).join(" + ")} down): resumed ${r.resumedAt - r.firstSyncedHead} blocks after their first synced head, ${r.resumedAt - r.armedFrom} after arming, ${r.resumedAt - r.syncedAt} after the drill saw all in sync`);
    }
    const fromSynced = got.map((r) => r.resumedAt - r.firstSyncedHead);
    const fromArmed = got.map((r) => r.resumedAt - r.armedFrom);
    const fromDrill = got.map((r) => r.resumedAt - r.syncedAt);
    const watch = d.finality.summary();
    const res = {
      rounds,
      from_synced_median: median(fromSynced),
      from_synced_max: Math.max(...fromSynced),
      within_2I: fromSynced.filter((x) => x <= 2 * I).length,
      within_2I_plus_1: fromSynced.filter((x) => x <= 2 * I + 1).length,
      from_armed_median: median(fromArmed),
      from_armed_max: Math.max(...fromArmed),
      from_drill_median: median(fromDrill),
      from_drill_max: Math.max(...fromDrill),
    };
    console.log(`finality resume (4 validators, 2 killed and restarted, I = ${I}, block_time_ms 500, ${rounds} rounds):`);
    console.log(`  from the returned validators' first synced head: [${fromSynced.join(", ")}] median ${res.from_synced_median}, max ${res.from_synced_max} blocks; design <= 2·I + 1 = ${2 * I + 1}, 2·I + 3 with backups' checkpoint blocks (ratio max/design ${fmt(res.from_synced_max / (2 * I + 1))}); within 2·I = ${2 * I}: ${res.within_2I}/${rounds}, within 2·I + 1: ${res.within_2I_plus_1}/${rounds}`);
    console.log(`  from arming: [${fromArmed.join(", ")}] median ${res.from_armed_median}, max ${res.from_armed_max}; design <= I + 1 = ${I + 1}, I + 3 with backups' checkpoint blocks (ratio max/design ${fmt(res.from_armed_max / (I + 1))})`);
    console.log(`  from the drill's all-in-sync: [${fromDrill.join(", ")}] median ${res.from_drill_median}, max ${res.from_drill_max}`);
    console.log(`  finalized blocks agree on every node at every sample: ${watch.agree ? "yes" : "NO " + watch.conflicts.join("; ")} (${watch.samples} samples)`);
    return res;
  } finally {
    await d.close();
  }
}
