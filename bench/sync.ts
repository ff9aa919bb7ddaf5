/**
 * Sync throughput: a node started empty syncs N blocks over loopback from a node that has them
 * (two real processes), as blocks/s, against a baseline measured in the same run: importing the
 * same blocks, fully validated, from a local LevelDB into a fresh chain in one process.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ChainDb } from "../src/storage/chainDb.ts";
import { clearVerifyCache } from "../src/consensus/signatures.ts";
import { Chain } from "../src/chain/chain.ts";
import { attestOn, blockFor, makeKeys, makeSpec, openTestChain, silentLog, tempDir } from "../test/helpers/fixtures.ts";
import { startNode, getJson } from "../test/helpers/nodeProcess.ts";
import { fmt } from "./stats.ts";
import { buildFullChain } from "../test/helpers/fullBlocks.ts";
import type { ChainSpec } from "../src/chain/spec.ts";

export async function benchSync(n = 10_000): Promise<Record<string, number>> {
  const keys = makeKeys(3);
  const spec = makeSpec(keys);
  const t = tempDir("vision-bench-sync-");
  try {
    // A chain like a live 3-node testnet: every block carries the other nodes' attestations.
    const src = await openTestChain(spec, join(t.dir, "src"));
    src.clock.now = Date.now(); // 10,000 blocks at 2 s from the fixture genesis are all in the past
    process.stdout.write(`  building ${n} blocks...\r`);
    for (let i = 0; i < n; i++) {
      const parent = src.chain.head;
      const atts = parent.height > 0 ? await Promise.all(keys.map((k) => attestOn(src.chain, k, parent.height, parent.hash))) : [];
      const out = await src.chain.importBlock(await blockFor(src.chain, parent, keys, 0, { attestations: atts }));
      if (out.status !== "imported") throw new Error(`fixture block ${parent.height + 1} not imported: ${out.status}`);
    }
    await src.close();
    return await measure(spec, t.dir, n, "3 attestations each");
  } finally {
    t.cleanup();
  }
}


/**
 * 200 blocks of 500 transfers (full blocks under the default max_block_txs): a joining node pages
 * through byte-capped range replies (docs/protocol.md §9.6). Same baseline as benchSync.
 */
export async function benchFullBlockSync(blocks = 200, txs = 500): Promise<Record<string, number>> {
  const t = tempDir("vision-bench-fullsync-");
  try {
    process.stdout.write(`  building ${blocks} blocks of ${txs} transfers...\r`);
    const { spec } = await buildFullChain(join(t.dir, "src"), join(t.dir, "chain.json"), blocks, txs);
    return await measure(spec, t.dir, blocks, `${txs} transfers each`);
  } finally {
    t.cleanup();
  }
}

// Imports the n blocks in `dir/src` into a fresh chain from local disk (the baseline), then syncs
// them over loopback into an empty node process; prints and returns both rates.
async function measure(spec: ChainSpec, dir: string, n: number, what: string): Promise<Record<string, number>> {
  // Baseline: the same blocks from local disk into a fresh chain, fsynced per block as the node
  // writes them, and once more without the fsync (docs/operations.md "Durability").
  const from = await ChainDb.open(join(dir, "src", "chaindata"));
  const importLocal = async (target: string, sync: boolean): Promise<number> => {
    const db = await ChainDb.open(join(dir, target, "chaindata"), { sync });
    const chain = await Chain.open({ spec }, { db, logger: silentLog });
    clearVerifyCache(); // cold, like the syncing node, which never saw these signatures
    const t0 = performance.now();
    for (let h = 1; h <= n; h++) {
      const hash = (await from.getCanonicalHash(h))!;
      await chain.importBlock((await from.getBlock(hash))!);
    }
    const secs = (performance.now() - t0) / 1000;
    await chain.close();
    await db.close();
    return secs;
  };
  const unsyncedSecs = await importLocal("unsynced", false);
  const localSecs = await importLocal("local", true);
  await from.close();

  // Over loopback: two node processes, the empty one dialling the full one.
  const specFile = join(dir, "chain.json");
  writeFileSync(specFile, JSON.stringify(spec));
  const server = await startNode({ dataDir: join(dir, "src"), chain: specFile, extra: ["--no-produce", "--log-level", "info"] });
  let client;
  try {
    const started = performance.now();
    client = await startNode({ dataDir: join(dir, "dst"), chain: specFile, peers: [`ws://127.0.0.1:${server.p2pPort}`], extra: ["--no-produce", "--log-level", "info"] });
    for (;;) {
      const h = (await getJson(`${client.api}/api/chain/head`)).height as number;
      if (h >= n) break;
      if (performance.now() - started > 600_000) throw new Error(`sync stuck at ${h}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const netSecs = (performance.now() - started) / 1000;
    const r = { blocks: n, local_blocks_per_s: n / localSecs, sync_blocks_per_s: n / netSecs, ratio: localSecs / netSecs };
    console.log(`\nsync of ${n} blocks (${what}):`);
    console.log(`  over loopback (2 processes, incl. the empty node's start-up): ${fmt(r.sync_blocks_per_s, 0)} blocks/s (${fmt(netSecs, 1)} s)`);
    console.log(`  baseline, import from local disk: ${fmt(r.local_blocks_per_s, 0)} blocks/s (${fmt(localSecs, 1)} s)`);
    console.log(`  the same without an fsync per block (survives a crash, not a power loss): ${fmt(n / unsyncedSecs, 0)} blocks/s -> fsynced/unsynced ${fmt(unsyncedSecs / localSecs)}`);
    console.log(`  ratio sync/local: ${fmt(r.ratio)} (goal >= 0.7)`);
    return r;
  } finally {
    await client?.stop();
    await server.stop();
  }
}
