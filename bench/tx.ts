/**
 * Transactions: signature verifications per second of `node:crypto` (the verifier docs/protocol.md
 * §3 requires) against `@noble/ed25519`, both in this run; the import time of a block carrying 500
 * transfers against block_time_ms; the mempool journal's fsynced writes per second against the
 * same writes unsynced; and the included transfers per second a 3-node testnet sustains
 * under `vision-node load`, against the rate offered.
 */
import { join } from "node:path";
import * as ed from "@noble/ed25519";
import { Domain, clearVerifyCache, sign, signingMessage, verify } from "../src/consensus/signatures.ts";
import { blockFor, makeKeys, makeSpec, openTestChain, tempDir } from "../test/helpers/fixtures.ts";
import { startNode, runCli, getJson, type NodeProc } from "../test/helpers/nodeProcess.ts";
import { runLoad } from "../src/cli/tx.ts";
import { signTransfer, txHash } from "../src/chain/tx.ts";
import { ChainDb } from "../src/storage/chainDb.ts";
import { fromHex } from "../src/consensus/encoding.ts";
import { median, fmt } from "./stats.ts";

function benchVerify(n = 3000): { crypto: number; noble: number } {
  const [k] = makeKeys(1);
  const items = Array.from({ length: n }, (_, i) => {
    const body = { chain_id: "bench", from: k!.ebid, to: k!.ebid, amount: String(i + 1), fee: "1", nonce: i };
    return { body, sig: sign(Domain.tx, body, k!.secretKey) };
  });
  const pub = fromHex(k!.ebid);
  const rate = (fn: () => void) => {
    const runs: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      fn();
      runs.push(n / ((performance.now() - t0) / 1000));
    }
    return median(runs);
  };
  // cold: the node's cache of verified signatures is emptied before every pass
  const crypto = rate(() => {
    clearVerifyCache();
    items.forEach((x) => verify(Domain.tx, x.body, x.sig, k!.ebid) || assertFalse());
  });
  const noble = rate(() => items.forEach((x) => ed.verify(fromHex(x.sig), signingMessage(Domain.tx, x.body), pub) || assertFalse()));
  return { crypto, noble };
}

function assertFalse(): never {
  throw new Error("a valid signature did not verify");
}

async function bench500TxBlock(): Promise<{ cold: number; warm: number }> {
  const keys = makeKeys(3);
  const payer = makeKeys(5)[4]!;
  const spec = makeSpec(keys, { alloc: { [payer.ebid]: "1000000000" } });
  const txs = Array.from({ length: 500 }, (_, nonce) => signTransfer(payer, { chain_id: spec.chain_id, to: keys[0]!.ebid, amount: "3", fee: "1", nonce }));
  const src = await openTestChain(spec);
  const block = await blockFor(src.chain, src.chain.head, keys, 0, { txs });
  await src.destroy();
  // cold: none of its signatures seen before; warm: the transfers came through the mempool first
  const run = async (cold: boolean) => {
    const times: number[] = [];
    for (let r = 0; r < 5; r++) {
      const c = await openTestChain(spec);
      if (cold) clearVerifyCache();
      const t0 = performance.now();
      const out = await c.chain.importBlock(block);
      times.push(performance.now() - t0);
      if (out.status !== "imported") throw new Error(`500-tx block not imported: ${out.status}`);
      await c.destroy();
    }
    return median(times);
  };
  return { cold: await run(true), warm: await run(false) };
}

async function benchIncluded(tps: number, seconds: number): Promise<{ included_per_s: number; included: number; accepted: number }> {
  const t = tempDir("vision-bench-tx-");
  const nodes: NodeProc[] = [];
  try {
    const init = runCli(["testnet", "init", "--nodes", "3", "--dir", t.dir]);
    if (init.status !== 0) throw new Error(init.stderr);
    const chain = join(t.dir, "chain.json");
    nodes.push(await startNode({ dataDir: join(t.dir, "node-1"), chain, extra: ["--log-level", "info"] }));
    nodes.push(await startNode({ dataDir: join(t.dir, "node-2"), chain, peers: [`ws://127.0.0.1:${nodes[0]!.p2pPort}`], extra: ["--log-level", "info"] }));
    nodes.push(await startNode({ dataDir: join(t.dir, "node-3"), chain, peers: nodes.map((n) => `ws://127.0.0.1:${n.p2pPort}`), extra: ["--log-level", "info"] }));
    for (;;) {
      if ((await getJson(`${nodes[0]!.api}/api/chain/head`)).height >= 2) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const r = await runLoad({ key: join(t.dir, "faucet.key"), tps, duration: seconds, api: nodes[1]!.api }, false);
    return { included_per_s: r.included_per_s, included: r.included, accepted: r.accepted };
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    t.cleanup();
  }
}

/**
 * The mempool journal's durable write, as `POST /api/tx` awaits it before answering: transfers
 * journaled one at a time (the latency of one acknowledgement) and 64 at once (a burst, whose
 * writes LevelDB's writer queue folds into shared fsyncs), each fsynced and, as the baseline in
 * this run, not.
 */
async function benchJournal(n = 512): Promise<Record<string, number>> {
  const [k] = makeKeys(1);
  const txs = Array.from({ length: n }, (_, nonce) => signTransfer(k!, { chain_id: "bench", to: k!.ebid, amount: "1", fee: "1", nonce }));
  const hashes = txs.map((tx) => txHash(tx));
  const t = tempDir("vision-bench-journal-");
  const run = async (sync: boolean, concurrency: number) => {
    const db = await ChainDb.open(join(t.dir, `${sync}-${concurrency}`), { sync });
    const t0 = performance.now();
    for (let i = 0; i < n; i += concurrency) await Promise.all(txs.slice(i, i + concurrency).map((tx, j) => db.journalTx(hashes[i + j]!, tx)));
    const perS = n / ((performance.now() - t0) / 1000);
    await db.close();
    return { perS };
  };
  try {
    const r = {
      one_synced_per_s: (await run(true, 1)).perS,
      one_unsynced_per_s: (await run(false, 1)).perS,
      burst_synced_per_s: (await run(true, 64)).perS,
      burst_unsynced_per_s: (await run(false, 64)).perS,
    };
    console.log(`mempool journal (${n} transfers), acknowledged writes per second:`);
    console.log(`  one at a time: fsynced ${fmt(r.one_synced_per_s, 0)}/s, baseline unsynced ${fmt(r.one_unsynced_per_s, 0)}/s, ratio ${fmt(r.one_synced_per_s / r.one_unsynced_per_s, 2)}`);
    console.log(`  64 at once: fsynced ${fmt(r.burst_synced_per_s, 0)}/s, baseline unsynced ${fmt(r.burst_unsynced_per_s, 0)}/s, ratio ${fmt(r.burst_synced_per_s / r.burst_unsynced_per_s, 2)}`);
    return { journal_one_synced_per_s: r.one_synced_per_s, journal_one_unsynced_per_s: r.one_unsynced_per_s, journal_burst_synced_per_s: r.burst_synced_per_s, journal_burst_unsynced_per_s: r.burst_unsynced_per_s };
  } finally {
    t.cleanup();
  }
}

export async function benchTx(tps = 300, seconds = 20): Promise<Record<string, number>> {
  const v = benchVerify();
  console.log(`\nsignature verifications per second (3000 tx signatures, median of 3):`);
  console.log(`  node:crypto (OpenSSL, the verifier in use) ${fmt(v.crypto, 0)}/s; @noble/ed25519 ${fmt(v.noble, 0)}/s; ratio ${fmt(v.crypto / v.noble, 1)}x`);
  const block = await bench500TxBlock();
  const blockMs = block.cold;
  console.log(`block with 500 transfers: import (validation, execution, one LevelDB batch) median ${fmt(blockMs, 1)} ms cold = ${fmt((100 * blockMs) / 2000, 2)}% of block_time_ms 2000 (goal < 10%)`);
  console.log(`  warm (signatures already verified at mempool entry): ${fmt(block.warm, 1)} ms, ratio cold/warm ${fmt(blockMs / block.warm, 1)}x`);
  const journal = await benchJournal();
  const inc = await benchIncluded(tps, seconds);
  console.log(`3-node testnet (2000 ms blocks) under load at ${tps} tx/s offered for ${seconds} s: ${inc.accepted} accepted, ${inc.included} included`);
  console.log(`  sustained ${fmt(inc.included_per_s, 1)} included tx/s, ratio to the offered rate ${fmt(inc.included_per_s / tps)}`);
  return { verify_crypto: v.crypto, verify_noble: v.noble, block500_ms: blockMs, ...journal, included_per_s: inc.included_per_s };
}
