/**
 * The chain store in memory (`ChainDb.openMemory`, memory-level) against LevelDB unsynced
 * (`classic-level`, `sync: false`), both measured in this run on the same blocks: the import time
 * per block (validated, through `Chain.importBlock`) and its ratio, the same for a block's batch
 * written to the store without validation, then the heap a memory store
 * holds per stored block, with and without the chain's caches over it, and what that makes for a
 * simulation of 1,000 nodes holding 1,000 blocks each.
 *
 * Heap figures are V8's `heapUsed` plus `arrayBuffers` (Buffers live outside the heap) after a full
 * garbage collection (`--expose-gc`, set at run time), before and after.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { join } from "node:path";
import { ChainDb } from "../src/storage/chainDb.ts";
import { clearVerifyCache } from "../src/consensus/signatures.ts";
import { Chain } from "../src/chain/chain.ts";
import { signTransfer } from "../src/chain/tx.ts";
import { attestOn, blockFor, makeKeys, makeSpec, silentLog, tempDir } from "../test/helpers/fixtures.ts";
import type { Block } from "../src/consensus/types.ts";
import { median, percentile, fmt } from "./stats.ts";

const SIM_NODES = 1000;
const SIM_BLOCKS = 1000;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function heapBytes(): number {
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

export async function benchMemoryStore(n = 500): Promise<Record<string, number>> {
  const keys = makeKeys(8);
  const [payer, payee] = makeKeys(2, 100);
  const spec = makeSpec(keys, { alloc: { [payer!.ebid]: "1000000000" } });
  // The blocks: 8 attestations each (every validator votes, as on a live testnet) and 2 transfers.
  const src = await ChainDb.openMemory();
  const srcChain = await Chain.open({ spec, now: () => Date.now() + 1e9 }, { db: src, logger: silentLog });
  const blocks: Block[] = [];
  for (let i = 0; i < n; i++) {
    const parent = srcChain.head;
    const attestations = parent.height > 0 ? await Promise.all(keys.map((k) => attestOn(srcChain, k, parent.height, parent.hash))) : [];
    const txs = [0, 1].map((j) => signTransfer(payer!, { chain_id: spec.chain_id, to: payee!.ebid, amount: "10", fee: "1", nonce: 2 * i + j }));
    const b = await blockFor(srcChain, parent, keys, 0, { attestations, txs });
    if ((await srcChain.importBlock(b)).status !== "imported") throw new Error("bench block not imported");
    blocks.push(b);
  }
  await srcChain.close();
  await src.close();
  const wireBytes = blocks.reduce((a, b) => a + Buffer.byteLength(JSON.stringify(b)), 0) / n;

  const t = tempDir();
  const importAll = async (db: ChainDb) => {
    const chain = await Chain.open({ spec, now: () => Date.now() + 1e9 }, { db, logger: silentLog });
    clearVerifyCache(); // cold, as for blocks from another node
    const ms: number[] = [];
    for (const b of blocks) {
      const t0 = performance.now();
      await chain.importBlock(b);
      ms.push(performance.now() - t0);
    }
    return { chain, ms };
  };
  // LevelDB, then memory, then LevelDB again: the two LevelDB runs bracket the memory one.
  const times: { level: number[]; memory: number[] } = { level: [], memory: [] };
  for (const [i, backend] of (["level", "memory", "level"] as const).entries()) {
    const db = backend === "memory" ? await ChainDb.openMemory() : await ChainDb.open(join(t.dir, `level-${i}`), { sync: false });
    const { chain, ms } = await importAll(db);
    times[backend].push(...ms);
    await chain.close();
    await db.close();
  }
  // The store alone: the same batch per block (the block, its canonical index, the head) written
  // without validation, memory against LevelDB unsynced.
  const rawWrites = async (db: ChainDb) => {
    const ms: number[] = [];
    for (const b of blocks) {
      const t0 = performance.now();
      await db.write([{ kind: "block", block: b }, { kind: "canonical", height: b.header.height, hash: b.hash }, { kind: "head", hash: b.hash }]);
      ms.push(performance.now() - t0);
    }
    await db.close();
    return median(ms);
  };
  const rawLevelMs = await rawWrites(await ChainDb.open(join(t.dir, "raw"), { sync: false }));
  const rawMemoryMs = await rawWrites(await ChainDb.openMemory());
  t.cleanup();

  // Heap: an empty memory store, then the same after importing every block, with the chain open
  // (its caches) and after the chain is closed and dropped (the store alone).
  const before = heapBytes();
  const db = await ChainDb.openMemory();
  let run: { chain: Chain; ms: number[] } | undefined = await importAll(db);
  const withChain = heapBytes();
  await run.chain.close();
  run = undefined;
  const storeOnly = heapBytes();
  await db.close();

  const r = {
    memory_import_median_ms: median(times.memory),
    memory_import_p95_ms: percentile(times.memory, 95),
    level_import_median_ms: median(times.level),
    level_import_p95_ms: percentile(times.level, 95),
    memory_raw_write_median_ms: rawMemoryMs,
    level_raw_write_median_ms: rawLevelMs,
    store_bytes_per_block: (storeOnly - before) / n,
    chain_bytes_per_block: (withChain - before) / n,
    wire_bytes_per_block: wireBytes,
  };
  const gib = (bytesPerBlock: number) => (bytesPerBlock * SIM_NODES * SIM_BLOCKS) / 2 ** 30;
  console.log(`chain store in memory (${n} blocks, 8 attestations and 2 transfers each, ${fmt(wireBytes, 0)} B of wire JSON a block):`);
  console.log(`  import into memory-level: median ${fmt(r.memory_import_median_ms, 3)} ms, p95 ${fmt(r.memory_import_p95_ms, 3)} ms`);
  console.log(`  baseline import into LevelDB unsynced (two runs around it): median ${fmt(r.level_import_median_ms, 3)} ms, p95 ${fmt(r.level_import_p95_ms, 3)} ms -> LevelDB/memory ratio ${fmt(r.level_import_median_ms / r.memory_import_median_ms)}x`);
  console.log(`  the store alone, a block's batch without validation: memory ${fmt(rawMemoryMs, 3)} ms, LevelDB unsynced ${fmt(rawLevelMs, 3)} ms (medians) -> LevelDB/memory ratio ${fmt(rawLevelMs / rawMemoryMs)}x`);
  console.log(`  heap held per stored block: ${fmt(r.store_bytes_per_block, 0)} B for the store alone (${fmt(r.store_bytes_per_block / wireBytes)}x the wire JSON), ${fmt(r.chain_bytes_per_block, 0)} B with the chain open over it (its caches)`);
  console.log(`  ${SIM_NODES} nodes x ${SIM_BLOCKS} blocks: ${fmt(gib(r.store_bytes_per_block))} GiB of stores, ${fmt(gib(r.chain_bytes_per_block))} GiB with each chain's caches at this fill (the caches are bounded: see bench/README.md)`);
  return r;
}
