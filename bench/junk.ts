/**
 * Junk blocks against a producing node of a 2-node testnet (real processes, P2P over loopback):
 * 1,000 valid-looking blocks with unknown parents (max_block_txs transfers each, 500 by default)
 * and 1,000 valid fallback side blocks on parents 6..60 below the tip, from hostile peers with fresh
 * keys, to nodes whose V8 old space is capped at 128 MiB. Prints the node's heap
 * (`nodejs_heap_size_used_bytes`, least of 5 readings) before and after, and the median block
 * interval without the junk (baseline, same run) and while it arrives, with their ratio.
 */
import { makeKeys, makeSpec, openTestChain, tempDir } from "../test/helpers/fixtures.ts";
import { getJson, type NodeProc } from "../test/helpers/nodeProcess.ts";
import { heapSettled, medianInterval, sendJunk, startCappedMesh } from "../test/helpers/junk.ts";
import { fmt } from "./stats.ts";

export async function benchJunk(count = 1000, blockTimeMs = 1000): Promise<Record<string, number>> {
  const t = tempDir("vision-bench-");
  const keys = makeKeys(2);
  const spec = makeSpec(keys, { genesis_timestamp: Date.now(), params: { block_time_ms: blockTimeMs, fallback_difficulty: 1 } });
  const replica = await openTestChain(spec);
  Object.defineProperty(replica.clock, "now", { get: () => Date.now() + 3600_000 });
  let nodes: NodeProc[] = [];
  try {
    // V8's old space capped at 128 MiB, as in the e2e test: a node whose live heap passes it aborts.
    nodes = await startCappedMesh(t.dir, keys, spec, 128);
    const target = nodes[0]!;
    const head = async () => (await getJson(`${target.api}/api/chain/head`)).height as number;
    const waitHeight = async (h: number) => {
      while ((await head()) < h) await new Promise((r) => setTimeout(r, 200));
    };
    await waitHeight(10);
    const h0 = await head();
    await waitHeight(h0 + 30);
    const h1 = await head();
    const baseline = await medianInterval(target, h0, h1);
    const heap0 = await heapSettled(target);
    const started = Date.now();
    const txsPerBlock = await sendJunk(target, spec, replica.chain, count, keys[1]!);
    const sendSeconds = (Date.now() - started) / 1000;
    const h2 = await head().catch(() => {
      throw new Error(`the node died under the junk (exit ${target.child.exitCode}): its heap passed the 128 MiB old space`);
    });
    await waitHeight(h2 + 30);
    const h3 = await head();
    const during = await medianInterval(target, h1, h3);
    const heap1 = await heapSettled(target);
    const health = await getJson(`${target.api}/api/health`);
    const mib = (x: number) => x / 1024 / 1024;
    const r = { heap_before_mib: mib(heap0), heap_after_mib: mib(heap1), interval_baseline_ms: baseline, interval_junk_ms: during, ratio: during / baseline, parked: health.pending.parked };
    console.log(`\njunk blocks: ${count} unknown-parent (${txsPerBlock} transfers each) and ${count} fallback side blocks, sent in ${fmt(sendSeconds, 1)} s, block_time_ms ${blockTimeMs}:`);
    console.log(`  heap used ${fmt(r.heap_before_mib, 1)} MiB before, ${fmt(r.heap_after_mib, 1)} MiB after (+${fmt(r.heap_after_mib - r.heap_before_mib, 1)} MiB); ${r.parked} blocks parked`);
    console.log(`  median block interval ${baseline} ms without junk, ${during} ms with it: ${fmt(r.ratio, 3)}x`);
    console.log(`  goal: alive within a 128 MiB old space: met; goal interval ratio <= 1.2: ${r.ratio <= 1.2 ? "met" : "NOT MET"}`);
    return r;
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await replica.destroy();
    t.cleanup();
  }
}
