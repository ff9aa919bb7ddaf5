/**
 * `--only gossip`: block propagation on an in-memory network (test/helpers/gossipSim.ts) of N nodes
 * (default 1,000), each dialling 8 others, at most 50 peers, links of 20-300 ms, 10 ms to validate
 * before relaying: today's flood (docs/protocol.md §9.5 before the mesh) against the mesh router
 * (src/p2p/gossip.ts), on the same graph and origins. Prints full copies per node per block beyond
 * the first (mean, p99, max), time until 95% of nodes hold the block (median and p95 over blocks),
 * hops, `ihave` per node, and the ratios; goals: duplicates <= 6 per node per block, 95% of nodes
 * reached in <= 1 s at p95.
 */
import { simulate, type SimOptions, type SimResult } from "../test/helpers/gossipSim.ts";
import { fmt, median, percentile } from "./stats.ts";

interface Figures {
  dupMean: number;
  dupP99: number;
  dupMax: number;
  t95Median: number;
  t95P95: number;
  hopsMedian: number;
  hopsMax: number;
  ihavePerNode: number;
  reachedAll: boolean;
}

function figures(r: SimResult, nodes: number): Figures {
  const dup = r.messages.flatMap((m) => m.duplicates);
  const t95 = r.messages.map((m) => m.arrivalsMs[Math.ceil(0.95 * nodes) - 1] ?? Infinity);
  const hops = r.messages.flatMap((m) => m.hops);
  return {
    dupMean: dup.reduce((a, b) => a + b, 0) / dup.length,
    dupP99: percentile(dup, 99),
    dupMax: Math.max(...dup),
    t95Median: median(t95),
    t95P95: percentile(t95, 95),
    hopsMedian: median(hops),
    hopsMax: Math.max(...hops),
    ihavePerNode: r.messages.reduce((a, m) => a + m.announces, 0) / r.messages.length / nodes,
    reachedAll: r.messages.every((m) => m.reached === nodes),
  };
}

/** Runs flood and mesh on the same network and prints both and their ratios. */
export async function benchGossip(nodes = 1000, blocks = 20): Promise<void> {
  const o: SimOptions = { nodes, outbound: 8, maxPeers: 50, minDelayMs: 20, maxDelayMs: 300, processMs: 10, mode: "flood", seed: 2026, warmupMs: 10_000, messages: blocks, spacingMs: 2000 };
  console.log(`gossip: ${nodes} nodes, 8 outbound, at most 50 peers, links 20-300 ms, 10 ms validation, ${blocks} blocks`);
  const flood = figures(simulate(o), nodes);
  const run = simulate({ ...o, mode: "mesh" });
  const mesh = figures(run, nodes);
  const sizes = run.meshSizes;
  for (const [name, f] of [["flood", flood], ["mesh", mesh]] as const) {
    console.log(`  ${name.padEnd(5)} duplicates/node/block mean ${fmt(f.dupMean)} p99 ${f.dupP99} max ${f.dupMax}; 95% reached median ${fmt(f.t95Median, 0)} ms p95 ${fmt(f.t95P95, 0)} ms; hops median ${f.hopsMedian} max ${f.hopsMax}; ihave/node ${fmt(f.ihavePerNode)}; all reached ${f.reachedAll}`);
  }
  console.log(`  mesh sizes: min ${Math.min(...sizes)} median ${median(sizes)} max ${Math.max(...sizes)}`);
  console.log(`  ratio mesh/flood: duplicates ${fmt(mesh.dupMean / flood.dupMean)}, time to 95% (p95) ${fmt(mesh.t95P95 / flood.t95P95)}`);
  const hostile = simulate({ ...o, mode: "mesh", silentShare: 0.2 });
  const hostileT95 = hostile.messages.map((m) => m.arrivalsMs[Math.ceil(0.95 * hostile.honest) - 1] ?? Infinity);
  console.log(
    `  mesh with 20% hostile nodes (announce everything, relay and serve nothing): honest nodes reached ${hostile.messages.every((m) => m.reachedHonest === hostile.honest) ? "all" : "NOT ALL"}; time until as many nodes as 95% of the honest hold it: median ${fmt(median(hostileT95), 0)} ms p95 ${fmt(percentile(hostileT95, 95), 0)} ms; iwant ${hostile.fetches}, broken promises ${hostile.brokenPromises}`,
  );
  console.log(`  goal duplicates <= 6 per node per block (mean ${fmt(mesh.dupMean)}, p99 ${mesh.dupP99}): ${mesh.dupP99 <= 6 ? "met" : "NOT MET"}`);
  console.log(`  goal 95% of nodes within 1 s at p95 (${fmt(mesh.t95P95, 0)} ms): ${mesh.t95P95 <= 1000 ? "met" : "NOT MET"}`);
}
