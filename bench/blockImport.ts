/**
 * Block import time: full validation + one LevelDB batch per block, fsynced (the node's setting),
 * against baselines of the same batch written without validation and of the same import without
 * the fsync (all in this run, same machine): the second ratio is the cost of the durability policy
 * (docs/operations.md "Durability").
 */
import { join } from "node:path";
import { ChainDb } from "../src/storage/chainDb.ts";
import { clearVerifyCache } from "../src/consensus/signatures.ts";
import { Chain } from "../src/chain/chain.ts";
import { makeKeys, makeSpec, openTestChain, silentLog, tempDir, attestOn } from "../test/helpers/fixtures.ts";
import { blockFor } from "../test/helpers/fixtures.ts";
import type { Block } from "../src/consensus/types.ts";
import { median, percentile, fmt } from "./stats.ts";

export async function benchBlockImport(n = 300): Promise<Record<string, number>> {
  const keys = makeKeys(8);
  const spec = makeSpec(keys);
  // Produce a chain whose blocks carry attestations from all 8 nodes, like a live testnet.
  const src = await openTestChain(spec);
  const blocks: Block[] = [];
  for (let i = 0; i < n; i++) {
    const parent = src.chain.head;
    const atts = parent.height > 0 ? await Promise.all(keys.map((k) => attestOn(src.chain, k, parent.height, parent.hash))) : [];
    const b = await blockFor(src.chain, parent, keys, 0, { attestations: atts });
    await src.chain.importBlock(b);
    blocks.push(b);
  }
  await src.destroy();

  const t = tempDir();
  const importAll = async (dir: string, sync: boolean) => {
    const db = await ChainDb.open(join(t.dir, dir), { sync });
    const chain = await Chain.open({ spec, now: () => Date.now() + 1e9 }, { db, logger: silentLog });
    clearVerifyCache(); // cold, as for blocks from another node
    const ms: number[] = [];
    for (const b of blocks) {
      const t0 = performance.now();
      await chain.importBlock(b);
      ms.push(performance.now() - t0);
    }
    await chain.close();
    await db.close();
    return ms;
  };
  const unsyncedMs = await importAll("u", false);
  const importMs = await importAll("a", true);

  const raw = await ChainDb.open(join(t.dir, "b"));
  const writeMs: number[] = [];
  for (const b of blocks) {
    const t0 = performance.now();
    await raw.write([{ kind: "block", block: b }, { kind: "canonical", height: b.header.height, hash: b.hash }, { kind: "head", hash: b.hash }]);
    writeMs.push(performance.now() - t0);
  }
  await raw.close();
  t.cleanup();
  const r = {
    import_median_ms: median(importMs),
    import_p95_ms: percentile(importMs, 95),
    raw_write_median_ms: median(writeMs),
    unsynced_import_median_ms: median(unsyncedMs),
  };
  console.log(`block import (${n} blocks, 8 attestations each): median ${fmt(r.import_median_ms, 3)} ms, p95 ${fmt(r.import_p95_ms, 3)} ms`);
  console.log(`  baseline raw LevelDB batch of the same block, fsynced too: median ${fmt(r.raw_write_median_ms, 3)} ms -> import/raw ratio ${fmt(r.import_median_ms / r.raw_write_median_ms)}x`);
  console.log(`  baseline import without fsync (survives a crash, not a power loss): median ${fmt(r.unsynced_import_median_ms, 3)} ms -> fsynced/unsynced ratio ${fmt(r.import_median_ms / r.unsynced_import_median_ms)}x`);
  console.log(`  import median as a share of block_time_ms 2000: ${fmt((100 * r.import_median_ms) / 2000, 3)}%`);
  return r;
}
