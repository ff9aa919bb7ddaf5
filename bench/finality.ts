/**
 * The finality transition (docs/protocol.md §5a) per block at the protocol's limits: 1,024 active
 * validators and 128 attestations a block (each an FFG vote), plus the state's `finality_root`,
 * against a baseline measured in the same run: the `attestations_root` of the same 128 attestations
 * (RFC 6962 over their JCS item hashes), which every block already pays.
 */
import { applyFinality, checkpointHeight, finalityRoot, genesisFinality, type FfgVote, type FinalityState } from "../src/consensus/finality.ts";
import { merkleRootOfItems } from "../src/consensus/merkle.ts";
import { MAX_ATTESTATIONS_PER_BLOCK } from "../src/consensus/params.ts";
import { fmt, median, percentile } from "./stats.ts";

export async function benchFinality(blocks = 2000): Promise<Record<string, number>> {
  const I = 8;
  const V = 1024;
  const validators = Array.from({ length: V }, (_, i) => i.toString(16).padStart(64, "0")).sort();
  const hashAt = (h: number) => (h + 0x100000).toString(16).padStart(64, "0");
  const ctx = (height: number) => ({ interval: I, height, activeAt: () => validators });
  let f: FinalityState = genesisFinality(hashAt(0));
  const applyMs: number[] = [];
  const rootMs: number[] = [];
  const baselineMs: number[] = [];
  let next = 0;
  for (let n = 1; n <= blocks; n++) {
    // 128 votes for the parent's interval, validators in turn: each interval's target gets all 1,024 (8 blocks × 128).
    const headHeight = n - 1;
    const th = checkpointHeight(headHeight, I);
    const source = th === 0 ? { height: 0, hash: hashAt(0) } : f.justified_recent.filter((c) => c.height < th).at(-1)!;
    const votes: (FfgVote & { height: number; block_hash: string; sig: string })[] = [];
    for (let i = 0; i < MAX_ATTESTATIONS_PER_BLOCK; i++) {
      const ebid = validators[next++ % V]!;
      votes.push({ ebid, height: headHeight, block_hash: hashAt(headHeight), source_height: source.height, source_hash: source.hash, target_height: th, target_hash: hashAt(th), sig: "ab".repeat(64) });
    }
    let t0 = performance.now();
    f = applyFinality(f, votes, ctx(n));
    applyMs.push(performance.now() - t0);
    t0 = performance.now();
    finalityRoot(f);
    rootMs.push(performance.now() - t0);
    t0 = performance.now();
    merkleRootOfItems(votes);
    baselineMs.push(performance.now() - t0);
  }
  const skip = Math.floor(blocks / 10); // warm-up
  const r = {
    apply_median_ms: median(applyMs.slice(skip)),
    apply_p95_ms: percentile(applyMs.slice(skip), 95),
    root_median_ms: median(rootMs.slice(skip)),
    baseline_median_ms: median(baselineMs.slice(skip)),
    finalized_height: f.finalized.height,
  };
  console.log(`finality transition (${blocks} blocks, ${V} validators, ${MAX_ATTESTATIONS_PER_BLOCK} votes a block, interval ${I}): applyFinality median ${fmt(r.apply_median_ms, 3)} ms, p95 ${fmt(r.apply_p95_ms, 3)} ms; finality_root median ${fmt(r.root_median_ms, 3)} ms`);
  console.log(`  baseline attestations_root of the same ${MAX_ATTESTATIONS_PER_BLOCK} attestations: median ${fmt(r.baseline_median_ms, 3)} ms -> (apply + root)/baseline ratio ${fmt((r.apply_median_ms + r.root_median_ms) / r.baseline_median_ms)}x`);
  console.log(`  finalized height after ${blocks} blocks: ${r.finalized_height} (head ${blocks}); apply + root as a share of block_time_ms 2000: ${fmt((100 * (r.apply_median_ms + r.root_median_ms)) / 2000, 4)}%`);
  return r;
}
