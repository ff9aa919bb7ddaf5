/**
 * Fair share of production under v2 selection (docs/protocol.md §4, §5): 10 genesis validators on a
 * real Chain over LevelDB (fake clock), `heights` heights. At each height the schedule's primary
 * builds the block with its RANDAO reveal, carrying attestations from all 10 validators for the
 * parent (so every validator stays live in the pool), and it is imported.
 *
 * Run 1 (honest): every primary produces. Each validator's share of slot-0 blocks against 1/10,
 * sigma = sqrt(p(1-p)/N), within 3 sigma or not.
 * Run 2 (withholding): validator V, when it is the primary at n, computes seed(n+1) from its own
 * reveal (its candidate block's mix, the schedule of that block's child) and withholds its block
 * when it would not be the primary at n+1; slot 1 then produces. V's share of slot-0 blocks, of
 * all blocks and of rewards, against the honest run and 1/10: the residual RANDAO bias.
 *
 * Also the cost figures of the run: the reveal's BLS verify (blsVerify on the block's inputs, timed
 * on its own) per imported block as a share of block_time_ms (goal < 5%), and the whole importBlock
 * median.
 */
import { blsVerify, clearBlsVerifyCache } from "../src/consensus/bls.ts";
import { revealMessage } from "../src/consensus/randao.ts";
import { metaOf } from "../src/chain/chain.ts";
import type { Block } from "../src/consensus/types.ts";
import { attestOn, blockFor, makeKeys, makeSpec, openTestChain, type TestKey } from "../test/helpers/fixtures.ts";
import { fmt, median } from "./stats.ts";

interface RunResult {
  slot0: Map<string, number>;
  blocks: Map<string, number>;
  rewards: Map<string, bigint>;
  withheld: number;
  verifyMs: number[];
  importMs: number[];
}

async function run(keys: TestKey[], heights: number, withholder?: TestKey): Promise<RunResult> {
  const spec = makeSpec(keys);
  const t = await openTestChain(spec);
  const slot0 = new Map<string, number>(keys.map((k) => [k.ebid, 0]));
  const blocks = new Map<string, number>(keys.map((k) => [k.ebid, 0]));
  const verifyMs: number[] = [];
  const importMs: number[] = [];
  let withheld = 0;
  try {
    const { chain, clock } = t;
    for (let i = 0; i < heights; i++) {
      const parent = chain.head;
      const schedule = await chain.scheduleFor(parent);
      const attestations = parent.height > 0 ? await Promise.all(keys.map((k) => attestOn(chain, k, parent.height, parent.hash))) : [];
      let slot = 0;
      let block: Block = await blockFor(chain, parent, keys, 0, { attestations });
      if (withholder && schedule.winners[0] === withholder.ebid) {
        // V knows its own reveal, so the mix of its block and the seed of the next height.
        const next = await chain.scheduleFor(metaOf(block, 0n, block.header.timestamp));
        if (next.winners[0] !== withholder.ebid) {
          withheld++;
          slot = 1;
          block = await blockFor(chain, parent, keys, 1, { attestations });
        }
      }
      const record = schedule.registry.get(block.header.producer);
      if (!record) throw new Error(`producer ${block.header.producer} has no record`);
      const msg = revealMessage(spec.chain_id, block.header.height);
      const v0 = performance.now();
      const ok = blsVerify(record.bls_pubkey, msg, block.header.randao_reveal);
      verifyMs.push(performance.now() - v0);
      if (!ok) throw new Error(`reveal at ${block.header.height} does not verify`);
      clock.now = block.header.timestamp + 100;
      clearBlsVerifyCache(); // the import verifies the reveal again, as a node that never saw it would
      const i0 = performance.now();
      const r = await chain.importBlock(block);
      importMs.push(performance.now() - i0);
      if (r.status !== "imported" || chain.head.hash !== block.hash) throw new Error(`bench block at ${block.header.height} not imported as head: ${r.status}`);
      if (slot === 0) slot0.set(block.header.producer, (slot0.get(block.header.producer) ?? 0) + 1);
      blocks.set(block.header.producer, (blocks.get(block.header.producer) ?? 0) + 1);
    }
    const rewards = new Map<string, bigint>();
    for (const k of keys) rewards.set(k.ebid, (await chain.account(k.ebid)).balance);
    return { slot0, blocks, rewards, withheld, verifyMs, importMs };
  } finally {
    await t.destroy();
  }
}

const share = (x: number, n: number) => (n > 0 ? x / n : NaN);
const sum = (xs: Iterable<number>) => [...xs].reduce((a, b) => a + b, 0);
const sumBig = (xs: Iterable<bigint>) => [...xs].reduce((a, b) => a + b, 0n);

export async function benchFairShare(heights = 5000): Promise<Record<string, number>> {
  const keys = makeKeys(10);
  const p = 1 / keys.length;
  const blockTimeMs = makeSpec(keys).params.block_time_ms;
  const honest = await run(keys, heights);
  const n0 = sum(honest.slot0.values());
  const sigma = Math.sqrt((p * (1 - p)) / n0);
  console.log(`fair share, ${keys.length} validators, ${heights} heights, honest: ${n0} slot-0 blocks; expected share ${fmt(p, 3)}, sigma ${fmt(sigma, 4)}`);
  let within = 0;
  keys.forEach((k, i) => {
    const s = share(honest.slot0.get(k.ebid) ?? 0, n0);
    const z = (s - p) / sigma;
    if (Math.abs(z) <= 3) within++;
    console.log(`  validator ${i} (${k.ebid.slice(0, 8)}): slot-0 share ${fmt(s, 4)} (${z >= 0 ? "+" : ""}${fmt(z, 2)} sigma) ${Math.abs(z) <= 3 ? "within 3 sigma" : "OUTSIDE 3 sigma"}`);
  });
  console.log(`goal every validator's slot-0 share within 3 sigma of 1/${keys.length}: ${within === keys.length ? "met" : "NOT MET"} (${within}/${keys.length})`);

  const v = keys[0]!;
  const bias = await run(keys, heights, v);
  const b0 = sum(bias.slot0.values());
  const ball = sum(bias.blocks.values());
  const hSlot0 = share(honest.slot0.get(v.ebid) ?? 0, n0);
  const hAll = share(honest.blocks.get(v.ebid) ?? 0, sum(honest.blocks.values()));
  const hRew = Number(honest.rewards.get(v.ebid) ?? 0n) / Number(sumBig(honest.rewards.values()));
  const wSlot0 = share(bias.slot0.get(v.ebid) ?? 0, b0);
  const wAll = share(bias.blocks.get(v.ebid) ?? 0, ball);
  const wRew = Number(bias.rewards.get(v.ebid) ?? 0n) / Number(sumBig(bias.rewards.values()));
  const vPrimary = (bias.slot0.get(v.ebid) ?? 0) + bias.withheld;
  console.log(`withholding validator 0: primary ${vPrimary} times, withheld ${bias.withheld} (${fmt(share(bias.withheld, vPrimary) * 100, 1)}%); slot-1 blocks ${ball - b0}`);
  const hPrimary = honest.slot0.get(v.ebid) ?? 0;
  // With its own reveal and the slot-1 producer's as two draws, V follows itself as primary with
  // probability p + (1-p)p instead of p: the stationary share is p / (1 - p(1-p)).
  const model = p / (1 - p * (1 - p));
  console.log(`  V primary at ${fmt(share(vPrimary, heights), 4)} of heights vs honest ${fmt(share(hPrimary, heights), 4)} (${fmt(vPrimary / hPrimary, 3)}x) vs 1/${keys.length} (${fmt(share(vPrimary, heights) / p, 3)}x; two-draw model ${fmt(model, 4)}): the seeds its withholding steered`);
  console.log(`  V slot-0 share ${fmt(wSlot0, 4)} vs honest ${fmt(hSlot0, 4)} (${fmt(wSlot0 / hSlot0, 3)}x) vs 1/${keys.length} (${fmt(wSlot0 / p, 3)}x; ${fmt((wSlot0 - p) / sigma, 2)} sigma)`);
  console.log(`  V share of all blocks ${fmt(wAll, 4)} vs honest ${fmt(hAll, 4)} (${fmt(wAll / hAll, 3)}x) vs 1/${keys.length} (${fmt(wAll / p, 3)}x)`);
  console.log(`  V share of rewards ${fmt(wRew, 4)} vs honest ${fmt(hRew, 4)} (${fmt(wRew / hRew, 3)}x) vs 1/${keys.length} (${fmt(wRew / p, 3)}x)`);

  const verifyMs = [...honest.verifyMs, ...bias.verifyMs];
  const importMs = [...honest.importMs, ...bias.importMs];
  const vMed = median(verifyMs);
  const iMed = median(importMs);
  const pct = (vMed / blockTimeMs) * 100;
  console.log(
    `cost over ${verifyMs.length} imports: reveal verify (blsVerify) median ${fmt(vMed, 3)} ms = ${fmt(pct, 3)}% of block_time_ms ${blockTimeMs}; ` +
      `importBlock median ${fmt(iMed, 2)} ms (verify ${fmt((vMed / iMed) * 100, 1)}% of it)`,
  );
  console.log(`goal reveal verify < 5% of block_time_ms: ${pct < 5 ? "met" : "NOT MET"}`);
  return {
    honest_v_slot0_share: hSlot0,
    withholding_v_slot0_share: wSlot0,
    withholding_v_all_share: wAll,
    withholding_v_reward_share: wRew,
    withheld: bias.withheld,
    verify_median_ms: vMed,
    import_median_ms: iMed,
  };
}
