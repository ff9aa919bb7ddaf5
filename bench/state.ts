/**
 * Execution cost against the size of the state: a chain whose alloc holds `accounts` accounts
 * (default 1,000,000), then the import time of empty blocks and of 500-transfer blocks (each
 * transfer creating an account), the open time of the data dir, and the process's memory. The
 * baseline is the same measurement at 1,000 accounts in this run: the goal is an empty block in
 * under 20 ms at 1,000,000 accounts, and an import time that does not grow with the state.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { Chain } from "../src/chain/chain.ts";
import { HeadState } from "../src/chain/headState.ts";
import { signTransfer } from "../src/chain/tx.ts";
import { ChainDb } from "../src/storage/chainDb.ts";
import { clearVerifyCache } from "../src/consensus/signatures.ts";
import type { Tx } from "../src/consensus/types.ts";
import { blockFor, makeKeys, makeSpec, silentLog, tempDir, GENESIS_TS } from "../test/helpers/fixtures.ts";
import { fmt, median } from "./stats.ts";

interface StateFigures {
  accounts: number;
  open_ms: number;
  reopen_ms: number;
  /** the head state's part of reopening: reading every account and rebuilding the state_root tree */
  state_load_ms: number;
  empty_import_median_ms: number;
  transfers_import_median_ms: number;
  rss_mib: number;
  heap_mib: number;
}

async function measure(accounts: number, rounds: number): Promise<StateFigures> {
  const keys = makeKeys(4);
  const alloc: Record<string, string> = {};
  for (const k of keys) alloc[k.ebid] = "1000000000000";
  for (let i = keys.length; i < accounts; i++) alloc[randomBytes(32).toString("hex")] = "1000";
  const spec = makeSpec(keys, { alloc, params: { block_time_ms: 2000, max_block_txs: 500 } });
  const t = tempDir("vision-bench-state-");
  const now = () => GENESIS_TS + 1e12;
  let db = await ChainDb.open(join(t.dir, "chaindata"));
  let t0 = performance.now();
  let chain = await Chain.open({ spec, now }, { db, logger: silentLog });
  const openMs = performance.now() - t0;
  const payer = keys[0]!;
  let nonce = 0;
  const empty: number[] = [];
  const full: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const b = await blockFor(chain, chain.head, keys, 0);
    t0 = performance.now();
    await chain.importBlock(b);
    empty.push(performance.now() - t0);
    const txs: Tx[] = [];
    for (let i = 0; i < 500; i++) {
      txs.push(signTransfer(payer, { chain_id: spec.chain_id, to: randomBytes(32).toString("hex"), amount: "1000", fee: "1", nonce: nonce++ }));
    }
    const f = await blockFor(chain, chain.head, keys, 0, { txs });
    clearVerifyCache(); // cold, as for a block from another node
    t0 = performance.now();
    await chain.importBlock(f);
    full.push(performance.now() - t0);
  }
  globalThis.gc?.();
  const mem = process.memoryUsage();
  await chain.close();
  await db.close();
  db = await ChainDb.open(join(t.dir, "chaindata"));
  t0 = performance.now();
  chain = await Chain.open({ spec, now }, { db, logger: silentLog });
  const reopenMs = performance.now() - t0;
  await chain.close();
  t0 = performance.now();
  await HeadState.load(db);
  const stateLoadMs = performance.now() - t0;
  await db.close();
  t.cleanup();
  return {
    accounts,
    open_ms: openMs,
    reopen_ms: reopenMs,
    state_load_ms: stateLoadMs,
    empty_import_median_ms: median(empty),
    transfers_import_median_ms: median(full),
    rss_mib: mem.rss / 2 ** 20,
    heap_mib: mem.heapUsed / 2 ** 20,
  };
}

export async function benchState(accounts = 1_000_000, rounds = 5): Promise<Record<string, number>> {
  const base = await measure(1000, rounds);
  const big = await measure(accounts, rounds);
  for (const f of [base, big]) {
    console.log(
      `state of ${f.accounts} accounts: empty block import median ${fmt(f.empty_import_median_ms, 2)} ms, ` +
        `500-transfer block ${fmt(f.transfers_import_median_ms, 2)} ms; open ${fmt(f.open_ms, 0)} ms (genesis written), ` +
        `reopen ${fmt(f.reopen_ms, 0)} ms (of which the head state and its tree ${fmt(f.state_load_ms, 0)} ms; the rest recomputes the genesis of a ${f.accounts}-account alloc); RSS ${fmt(f.rss_mib, 0)} MiB, heap ${fmt(f.heap_mib, 0)} MiB`,
    );
  }
  console.log(
    `  ratio ${accounts}/${base.accounts} accounts: empty ${fmt(big.empty_import_median_ms / base.empty_import_median_ms)}x, ` +
      `500 transfers ${fmt(big.transfers_import_median_ms / base.transfers_import_median_ms)}x`,
  );
  console.log(`  goal empty block import < 20 ms at ${accounts} accounts: ${big.empty_import_median_ms < 20 ? "met" : "NOT MET"}`);
  return { ...Object.fromEntries(Object.entries(big).map(([k, v]) => [`big_${k}`, v])), ...Object.fromEntries(Object.entries(base).map(([k, v]) => [`base_${k}`, v])) };
}
