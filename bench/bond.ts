/**
 * The cost of bonds in a block: import (validation, execution, LevelDB batch) of a block of
 * MAX_BONDS_PER_BLOCK bonds, each a BLS proof-of-possession verify on top of its ed25519 signature,
 * against a block of as many transfers (the baseline, in the same run), ed25519 verify cache cold
 * for both as for a block from another node.
 */
import { join } from "node:path";
import { Chain } from "../src/chain/chain.ts";
import { signBond, signTransfer } from "../src/chain/tx.ts";
import { ChainDb } from "../src/storage/chainDb.ts";
import { clearVerifyCache } from "../src/consensus/signatures.ts";
import { MAX_BONDS_PER_BLOCK } from "../src/consensus/validators.ts";
import type { Tx } from "../src/consensus/types.ts";
import { blockFor, makeKeys, makeSpec, silentLog, tempDir, GENESIS_TS } from "../test/helpers/fixtures.ts";
import { fmt, median } from "./stats.ts";

export async function benchBond(rounds = 10): Promise<Record<string, number>> {
  const keys = makeKeys(2);
  const bonders = makeKeys(MAX_BONDS_PER_BLOCK * rounds, 10);
  const alloc = Object.fromEntries(bonders.map((k) => [k.ebid, "1000000"]));
  const spec = makeSpec(keys, { alloc, params: { block_time_ms: 2000 } });
  const t = tempDir("vision-bench-bond-");
  const db = await ChainDb.open(join(t.dir, "chaindata"));
  const chain = await Chain.open({ spec, now: () => GENESIS_TS + 1e12 }, { db, logger: silentLog });
  const imported = async (txs: Tx[]): Promise<number> => {
    const b = await blockFor(chain, chain.head, keys, 0, { txs });
    clearVerifyCache();
    const t0 = performance.now();
    const r = await chain.importBlock(b);
    const ms = performance.now() - t0;
    if (r.status !== "imported") throw new Error(`bench block not imported: ${r.status}`);
    return ms;
  };
  const transfers: number[] = [];
  const bonds: number[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      const group = bonders.slice(r * MAX_BONDS_PER_BLOCK, (r + 1) * MAX_BONDS_PER_BLOCK);
      transfers.push(await imported(group.map((k) => signTransfer(k, { chain_id: spec.chain_id, to: keys[0]!.ebid, amount: "1000", fee: "1", nonce: 0 }))));
      bonds.push(await imported(group.map((k) => signBond(k, { chain_id: spec.chain_id, amount: "1000", fee: "1", nonce: 1 }))));
    }
  } finally {
    await chain.close();
    await db.close();
    t.cleanup();
  }
  const tr = median(transfers);
  const bo = median(bonds);
  console.log(
    `block import, ${MAX_BONDS_PER_BLOCK} transactions, ${rounds} rounds: transfers median ${fmt(tr, 2)} ms, bonds median ${fmt(bo, 2)} ms ` +
      `(${fmt(bo / tr)}x; ${fmt((bo - tr) / MAX_BONDS_PER_BLOCK, 2)} ms more a bond: its BLS PoP verify and the registry write)`,
  );
  return { transfers_import_median_ms: tr, bonds_import_median_ms: bo, ratio: bo / tr };
}
