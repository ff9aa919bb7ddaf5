/**
 * Slashing evidence (docs/protocol.md §6.5): the time of `verifySlashing` per item, for `votes`
 * items (two FFG votes, vision-attest-v3) and `blocks` items (two signed headers, vision-block-v3),
 * with the signature cache emptied before each pass (cold: evidence from a block not seen before)
 * and warm (the votes already verified in gossip); against the node's ed25519 verify (node:crypto,
 * cold) in the same run. A valid item costs two signature verifications plus hashing, so a cold
 * item should be about 2x the baseline; a block carries at most 8 items.
 */
import { chainDomains, clearVerifyCache, Domain, sign, verify } from "../src/consensus/signatures.ts";
import { MAX_SLASHINGS_PER_BLOCK, verifySlashing, type SlashingItem } from "../src/consensus/slashing.ts";
import { genesisBlock } from "../src/chain/spec.ts";
import { blockFor, extend, makeKeys, makeSpec, openTestChain } from "../test/helpers/fixtures.ts";
import type { Block } from "../src/consensus/types.ts";
import { doubleVote } from "../test/helpers/slashing.ts";
import { fmt, median } from "./stats.ts";

function mustHold(ok: boolean): void {
  if (!ok) throw new Error("valid evidence did not verify");
}

/** Mean ms per item of one pass of `fn` over `items`; `cold` empties the verify cache first. */
function pass<T>(items: readonly T[], cold: boolean, fn: (x: T) => void): number {
  if (cold) clearVerifyCache();
  const t0 = performance.now();
  for (const x of items) fn(x);
  return (performance.now() - t0) / items.length;
}

export async function benchSlashing(n = 500, passes = 7): Promise<{ votesMs: number; votesWarmMs: number; blocksMs: number; ed25519VerifyMs: number; unboundVerifyMs: number }> {
  const keys = makeKeys(8);
  const genesis = genesisBlock(makeSpec(keys));
  const base = genesis.header;
  const domains = chainDomains(genesis.hash);
  const votes: SlashingItem[] = Array.from({ length: n }, (_, i) => doubleVote(keys[i % keys.length]!, 8 * (i + 1), genesis.hash));
  const blocks: SlashingItem[] = Array.from({ length: n }, (_, i) => {
    const k = keys[i % keys.length]!;
    const a = { ...base, height: i + 1, producer: k.ebid, timestamp: base.timestamp + 2000 * (i + 1) };
    const b = { ...a, timestamp: a.timestamp + 1 };
    return { kind: "blocks", a: { header: a, signature: sign(domains.block, a, k.secretKey) }, b: { header: b, signature: sign(domains.block, b, k.secretKey) } };
  });
  const check = (item: SlashingItem) => mustHold(verifySlashing(item, domains).ok);
  const sigs = votes.flatMap((item) => (item.kind === "votes" ? [item.a, item.b] : []));
  // The same votes signed over the unbound bytes utf8(domain) || H(JCS(vote)) (no genesis: the form
  // before signatures bound the chain, docs/protocol.md §3.3), under the unbound tx domain: the
  // cost of the genesis prefix is the difference.
  const keyOf = new Map(keys.map((k) => [k.ebid, k.secretKey]));
  const unbound = sigs.map((v) => ({ v, sig: sign(Domain.tx, v, keyOf.get(v.ebid)!) }));
  // the measurements take turns within each pass, so load on a shared machine hits all alike
  const runs = { votes: [] as number[], warm: [] as number[], blocks: [] as number[], ed: [] as number[], unbound: [] as number[] };
  for (let r = 0; r < passes; r++) {
    // bound and unbound take turns going first (the first pass of a round pays for the emptied cache's GC)
    const bound = () => runs.ed.push(pass(sigs, true, (v) => mustHold(verify(domains.attest, v, v.sig, v.ebid))));
    const unboundPass = () => runs.unbound.push(pass(unbound, true, (x) => mustHold(verify(Domain.tx, x.v, x.sig, x.v.ebid))));
    if (r % 2 === 0) (unboundPass(), bound());
    else (bound(), unboundPass());
    runs.votes.push(pass(votes, true, check));
    runs.warm.push(pass(votes, false, check));
    runs.blocks.push(pass(blocks, true, check));
  }
  const [votesMs, votesWarmMs, blocksMs, ed25519VerifyMs, unboundVerifyMs] = [median(runs.votes), median(runs.warm), median(runs.blocks), median(runs.ed), median(runs.unbound)];

  console.log(`\nSlashing evidence: verifySlashing, ms per item (medians of ${passes} passes over ${n} items of each kind):`);
  console.log(`  votes item (cold cache): ${fmt(votesMs, 4)} ms = ${fmt(votesMs / ed25519VerifyMs, 2)}x an ed25519 verify`);
  console.log(`  votes item (signatures verified before, as after gossip): ${fmt(votesWarmMs, 4)} ms = ${fmt(votesWarmMs / ed25519VerifyMs, 2)}x`);
  console.log(`  blocks item (cold cache): ${fmt(blocksMs, 4)} ms = ${fmt(blocksMs / ed25519VerifyMs, 2)}x`);
  console.log(`  baseline ed25519 verify (node:crypto, cold, the node's path): ${fmt(ed25519VerifyMs, 4)} ms`);
  console.log(`  the same votes over the unbound bytes (no genesis prefix): ${fmt(unboundVerifyMs, 4)} ms; bound/unbound = ${fmt(ed25519VerifyMs / unboundVerifyMs, 3)}`);
  console.log(`  a block's ${MAX_SLASHINGS_PER_BLOCK} items at most: ${fmt(MAX_SLASHINGS_PER_BLOCK * Math.max(votesMs, blocksMs), 3)} ms`);
  return { votesMs, votesWarmMs, blocksMs, ed25519VerifyMs, unboundVerifyMs };
}

/**
 * Import cost of a block carrying MAX_SLASHINGS_PER_BLOCK `votes` items against one carrying none,
 * through the real chain on LevelDB (`Chain.importBlock`: validation with the items' signature
 * checks, execution slashing 8 records and recomputing `validators_root`, the store). The two kinds
 * take turns on one chain of 8·rounds + 1 genesis validators; the verify cache is emptied before
 * each import (evidence not seen in gossip). Medians in ms, and their ratio.
 */
export async function benchSlashingImport(rounds = 7): Promise<{ emptyMs: number; slashingMs: number }> {
  const keys = makeKeys(MAX_SLASHINGS_PER_BLOCK * rounds + 1);
  const spec = makeSpec(keys, { params: { epoch_length: 1000 } });
  const c = await openTestChain(spec);
  const runs = { empty: [] as number[], slashing: [] as number[] };
  const timed = async (block: Block): Promise<number> => {
    clearVerifyCache();
    const t0 = performance.now();
    const r = await c.chain.importBlock(block);
    const ms = performance.now() - t0;
    if (r.status !== "imported") throw new Error(`bench block not imported: ${r.status}`);
    return ms;
  };
  try {
    await extend(c.chain, keys, 2); // warm the store and the caches the first imports fill
    for (let r = 0; r < rounds; r++) {
      runs.empty.push(await timed(await blockFor(c.chain, c.chain.head, keys, 0)));
      const offenders = keys.slice(MAX_SLASHINGS_PER_BLOCK * r, MAX_SLASHINGS_PER_BLOCK * (r + 1));
      const slashings = offenders.map((k, i) => doubleVote(k, 8 * (r * MAX_SLASHINGS_PER_BLOCK + i + 1), c.chain.genesis.hash));
      runs.slashing.push(await timed(await blockFor(c.chain, c.chain.head, keys, 0, { slashings })));
    }
  } finally {
    await c.destroy();
  }
  const [emptyMs, slashingMs] = [median(runs.empty), median(runs.slashing)];
  console.log(`\nSlashing import: Chain.importBlock on LevelDB, ms (medians of ${rounds} each, ${keys.length} validators, verify cache cold):`);
  console.log(`  empty block: ${fmt(emptyMs, 3)} ms`);
  console.log(`  block with ${MAX_SLASHINGS_PER_BLOCK} votes items: ${fmt(slashingMs, 3)} ms = ${fmt(slashingMs / emptyMs, 2)}x the empty block (+${fmt(slashingMs - emptyMs, 3)} ms)`);
  return { emptyMs, slashingMs };
}
