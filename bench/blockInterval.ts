/**
 * Block interval of a real 3-node testnet (separate processes, `vision-node testnet init` spec) at
 * the default 2000 ms: median and p95 over N blocks from header timestamps, the ratio to
 * block_time_ms, and resident memory per node at the end.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startNode, runCli, getJson, type NodeProc } from "../test/helpers/nodeProcess.ts";
import { tempDir } from "../test/helpers/fixtures.ts";
import { median, percentile, fmt } from "./stats.ts";

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

export async function benchBlockInterval(blocks = 100, blockTimeMs = 2000): Promise<Record<string, number>> {
  const t = tempDir("vision-bench-");
  const init = runCli(["testnet", "init", "--nodes", "3", "--dir", t.dir, "--block-time-ms", String(blockTimeMs)]);
  if (init.status !== 0) throw new Error(init.stderr);
  const chain = join(t.dir, "chain.json");
  const nodes: NodeProc[] = [];
  try {
    nodes.push(await startNode({ dataDir: join(t.dir, "node-1"), chain, extra: ["--log-level", "info"] }));
    nodes.push(await startNode({ dataDir: join(t.dir, "node-2"), chain, peers: [`ws://127.0.0.1:${nodes[0]!.p2pPort}`] }));
    nodes.push(await startNode({ dataDir: join(t.dir, "node-3"), chain, peers: nodes.map((n) => `ws://127.0.0.1:${n.p2pPort}`) }));
    // Skip the start-up (streak of 3 ticks): measure from the first block on.
    const start = Date.now();
    const target = blocks + 1;
    let last = -1;
    for (;;) {
      const h = (await getJson(`${nodes[0]!.api}/api/chain/head`)).height as number;
      if (h !== last && h % 10 === 0) process.stdout.write(`  height ${h}/${target}\r`);
      last = h;
      if (h >= target) break;
      if (Date.now() - start > (target * blockTimeMs * 3) + 60_000) throw new Error(`only ${h} blocks`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const all: { header: { timestamp: number; slot: number | null }; hash: string }[] = [];
    for (let from = 1; from <= target; from += 100) {
      const to = Math.min(target, from + 99);
      all.push(...(await getJson(`${nodes[0]!.api}/api/blocks?from=${from}&limit=${to - from + 1}`)).blocks);
    }
    const intervals = all.slice(1).map((b, i) => b.header.timestamp - all[i]!.header.timestamp);
    const agree = await Promise.all(nodes.map(async (n) => (await getJson(`${n.api}/api/blocks/${target - 1}`)).hash));
    const rss = nodes.map((n) => rssMiB(n.child.pid!));
    const slots = new Map<string, number>();
    for (const b of all) slots.set(String(b.header.slot), (slots.get(String(b.header.slot)) ?? 0) + 1);
    const r = {
      blocks: intervals.length,
      median_ms: median(intervals),
      p95_ms: percentile(intervals, 95),
      max_ms: Math.max(...intervals),
      rss_max_mib: Math.max(...rss),
    };
    console.log(`\nblock interval over ${r.blocks} blocks, 3 nodes, block_time_ms ${blockTimeMs}:`);
    console.log(`  median ${fmt(r.median_ms / 1000, 3)} s (goal <= 2.3), p95 ${fmt(r.p95_ms / 1000, 3)} s (goal <= 2.6), max ${fmt(r.max_ms / 1000, 3)} s`);
    console.log(`  ratio to block_time_ms: median ${fmt(r.median_ms / blockTimeMs, 3)}x, p95 ${fmt(r.p95_ms / blockTimeMs, 3)}x`);
    console.log(`  blocks by slot: ${[...slots].map(([s, c]) => `slot ${s}: ${c}`).join(", ")}; all nodes agree at ${target - 1}: ${new Set(agree).size === 1}`);
    console.log(`  resident memory per node: ${rss.map((x) => `${fmt(x, 1)} MiB`).join(", ")}`);
    return r;
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    t.cleanup();
  }
}
