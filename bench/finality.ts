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

/**
 * Fork choice with finality (docs/protocol.md §7) per import, on a real chain over LevelDB with 4
 * validators voting in every block: the import of a block that moves the justified checkpoint
 * along the head's branch (every I blocks), and of one that moves it off the head's branch (a
 * heavier branch without votes is the head; the voting branch's block that justifies the next
 * checkpoint takes the head back: a scan of the blocks above the checkpoint and a reorg), each
 * against the median plain extension measured in the same run. Blocks are built before they are
 * timed, on a second chain.
 */
export async function benchForkChoice(rounds = 12): Promise<Record<string, number>> {
  const { attestOn, blockFor, makeKeys, makeSpec, openTestChain } = await import("../test/helpers/fixtures.ts");
  const keys = makeKeys(4);
  const spec = makeSpec(keys);
  const I = spec.params.checkpoint_interval;
  const c = await openTestChain(spec);
  const plainMs: number[] = [];
  const alongMs: number[] = [];
  const offMs: number[] = [];
  try {
    const chain = c.chain;
    const child = async (parent: Awaited<ReturnType<typeof chain.getMeta>> & object, slot: number, vote: boolean) => {
      const attestations = vote && parent.height > 0 ? await Promise.all(keys.map((k) => attestOn(chain, k, parent.height, parent.hash))) : [];
      return blockFor(chain, parent, keys, slot, { attestations });
    };
    const timed = async (b: Awaited<ReturnType<typeof child>>) => {
      const before = chain.justifiedCheckpoint.hash;
      const t0 = performance.now();
      await chain.importBlock(b);
      return { ms: performance.now() - t0, moved: chain.justifiedCheckpoint.hash !== before };
    };
    for (let r = 0; r < rounds; r++) {
      // I honest blocks: plain extensions, one of them moving the justified checkpoint along the branch.
      for (let i = 0; i < I; i++) {
        const t = await timed(await child(chain.head, 0, true));
        (t.moved ? alongMs : plainMs).push(t.ms);
      }
      // A heavier branch without votes becomes the head; the voting branch (slot 1) justifies the
      // next checkpoint and takes the head back.
      const fork = chain.head;
      let a = fork;
      for (let i = 0; i < I; i++) {
        const b = await child(a, 0, false);
        await chain.importBlock(b);
        a = (await chain.getMeta(b.hash))!;
      }
      let v = fork;
      for (let i = 0; i < 2 * I && chain.head.hash === a.hash; i++) {
        const b = await child(v, 1, true);
        const t = await timed(b);
        v = (await chain.getMeta(b.hash))!;
        if (chain.head.hash === v.hash && t.moved) offMs.push(t.ms);
      }
    }
  } finally {
    await c.destroy();
  }
  const r = {
    plain_median_ms: median(plainMs),
    justified_along_median_ms: median(alongMs),
    justified_off_branch_median_ms: median(offMs),
  };
  console.log(`fork choice with finality (4 validators, interval ${I}, ${rounds} rounds, LevelDB unsynced): plain extension median ${fmt(r.plain_median_ms, 3)} ms (${plainMs.length} imports)`);
  console.log(`  import moving the justified checkpoint along the head's branch: median ${fmt(r.justified_along_median_ms, 3)} ms (${alongMs.length}) -> ratio ${fmt(r.justified_along_median_ms / r.plain_median_ms)}x`);
  console.log(`  import moving it off the head's branch (scan above it + reorg of ${I} blocks): median ${fmt(r.justified_off_branch_median_ms, 3)} ms (${offMs.length}) -> ratio ${fmt(r.justified_off_branch_median_ms / r.plain_median_ms)}x`);
  return r;
}
