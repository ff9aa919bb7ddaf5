/**
 * Finality lag on a live testnet (docs/protocol.md §5a): 3 real node processes at block_time_ms
 * 2000 with the default checkpoint_interval I, sampled each second (`/api/chain/head` of every
 * node); lag = head height - finalized height, in blocks. Counted from the first moment every node
 * has finalized past genesis (before that the lag only measures the chain's age). Goal: median <=
 * 2·I + 2 blocks (the checkpoint two intervals back, plus two blocks for votes to be included).
 * The baseline is the protocol's own floor in the same units: just after a finalization the lag
 * cannot be below I + 1 (finalizing cp(k) needs votes for cp(k+1), made at heads >= (k+1)·I and
 * included in a later block); the lag right after each finalization shows how far above that
 * floor inclusion runs. The per-block cost of processing the votes is `--only finality`
 * (applyFinality and finality_root at 1,024 validators).
 */
import { drillNet, settled, up } from "../src/drill/common.ts";
import { getJson } from "../src/util/http.ts";
import { fmt, median, percentile } from "./stats.ts";

type FinHead = { height: number; finalized: { height: number; hash: string }; justified: { height: number; hash: string } };

export async function benchFinalityLag(seconds = 210, blockTimeMs = 2000): Promise<Record<string, number>> {
  const d = await drillNet({ nodes: 3, blockTimeMs, keep: false, json: false, logLevel: "info" }, () => undefined);
  const { net } = d;
  const I = d.spec.params.checkpoint_interval;
  const lags: number[] = [];
  /** lag at the first sample after a node's finalized checkpoint moved (the sawtooth's low points) */
  const afterMove: number[] = [];
  /** blocks between a checkpoint's height and the head when some node first reported it finalized */
  const lastFinalized = new Map<string, number>();
  let samples = 0;
  let started = false;
  try {
    net.startAll();
    await settled(net, 90_000);
    const end = Date.now() + seconds * 1000;
    while (Date.now() < end) {
      const t = Date.now();
      const heads = await Promise.all(net.nodes.filter(up).map(async (n) => ({ n: n.name, h: await getJson<FinHead>(`${n.api}/api/chain/head`).catch(() => undefined) })));
      if (!started && heads.every((x) => x.h && x.h.finalized.height > 0)) started = true;
      if (started) {
        samples++;
        for (const { n, h } of heads) {
          if (!h) continue;
          const lag = h.height - h.finalized.height;
          lags.push(lag);
          const prev = lastFinalized.get(n);
          if (prev !== undefined && h.finalized.height > prev) afterMove.push(lag);
          lastFinalized.set(n, h.finalized.height);
        }
      } else for (const { n, h } of heads) if (h) lastFinalized.set(n, h.finalized.height);
      process.stdout.write(`  finality lag: ${Math.round((end - Date.now()) / 1000)} s left, ${lags.length} samples\r`);
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - t))));
    }
    const watch = d.finality.summary();
    const goal = 2 * I + 2;
    const r = {
      seconds,
      samples,
      lag_median: median(lags),
      lag_p90: percentile(lags, 90),
      lag_max: Math.max(...lags),
      lag_after_finalization_median: median(afterMove),
      finalizations_seen: afterMove.length,
      finalized_height: watch.finalized_height,
      goal_blocks: goal,
    };
    console.log(`\nfinality lag (3 nodes, block_time_ms ${blockTimeMs}, checkpoint_interval ${I}, ${seconds} s, ${samples} rounds of samples from the first finalization on):`);
    console.log(`  head - finalized: median ${r.lag_median} blocks, p90 ${r.lag_p90}, max ${r.lag_max}; goal median <= ${goal} (2·I + 2): ${r.lag_median <= goal ? "met" : "NOT MET"}, ratio median/goal ${fmt(r.lag_median / goal)}`);
    console.log(
      `  right after a finalization (${r.finalizations_seen} moves seen): median ${r.lag_after_finalization_median} blocks against the floor I + 1 = ${I + 1} -> ratio ${fmt(r.lag_after_finalization_median / (I + 1))}; ` +
        `finalized height ${r.finalized_height}; finalized blocks agree on every node at every sample: ${watch.agree ? "yes" : "NO " + watch.conflicts.join("; ")}`,
    );
    console.log(`  vote processing per block: see \`--only finality\` (applyFinality + finality_root at 1,024 validators, 128 votes a block)`);
    return r;
  } finally {
    await d.close();
  }
}
