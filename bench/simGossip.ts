/**
 * Mesh gossip in the simulator (`runSimulation`, real VisionNodes on the network model): N nodes,
 * every one a validator, 20 heights of 2,000 ms blocks, maxPeers M, one seed; the same run with
 * mesh gossip off (`meshGossip: false`, every node floods as before docs/protocol.md §9.5.1) is the
 * baseline. Prints full block copies per node per block beyond the first (mean, p99, max: from the
 * transport's frames, the simulator's summary), the time until 95% of nodes hold a block (median,
 * p95), ready peers per node and the wall and CPU seconds of each run. The bootnodes (nodes 0 and
 * 1) take every node (the driver's choice), so they are hubs: flooding, they get a copy from
 * nearly every node.
 */
import { runSimulation } from "../src/sim/driver.ts";
import { summarize } from "../src/sim/summarize.ts";
import { fmt } from "./stats.ts";

const HEIGHTS = 20;

async function pass(nodes: number, maxPeers: number, meshGossip: boolean) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const run = await runSimulation({ nodes, heights: HEIGHTS, seed: 1, p2p: { maxPeers, meshGossip } });
  const wallS = (performance.now() - t0) / 1000;
  const cpuS = (process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / 1e6;
  const r = summarize(run);
  return { r, wallS, cpuS, reached: run.reached, peers: run.peers.reduce((a, b) => a + b, 0) / nodes };
}

export async function benchSimGossip(nodes: number, maxPeers: number): Promise<void> {
  if (!Number.isInteger(nodes) || nodes < 10) throw new Error("--sim-gossip-nodes must be an integer >= 10");
  if (!Number.isInteger(maxPeers) || maxPeers < 4) throw new Error("--sim-gossip-max-peers must be an integer >= 4");
  console.log(`\n== sim-gossip: runSimulation, ${nodes} VisionNodes x ${HEIGHTS} heights, maxPeers ${maxPeers}: mesh gossip against flooding ==`);
  const flood = await pass(nodes, maxPeers, false);
  const mesh = await pass(nodes, maxPeers, true);
  for (const [name, x] of [["flood", flood], ["mesh", mesh]] as const) {
    const d = x.r.duplicates.per_node_per_block;
    const p = x.r.propagation.to_95;
    const n = (v: number | null, digits: number) => (v === null ? "-" : fmt(v, digits));
    console.log(
      `${name}: duplicates per node per block mean ${n(d.mean, 2)} p99 ${d.p99} max ${d.max}; 95% reached median ${n(p.p50, 0)} ms p95 ${n(p.p95, 0)} ms; ` +
        `${fmt(x.peers, 1)} peers per node; ${fmt(x.wallS, 1)} s wall, ${fmt(x.cpuS, 1)} s CPU${x.reached ? "" : " (height NOT reached)"}`,
    );
  }
  const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? "-" : fmt(a / b, 2));
  console.log(`mesh / flood: duplicates mean ${ratio(mesh.r.duplicates.per_node_per_block.mean, flood.r.duplicates.per_node_per_block.mean)}x, p99 ${ratio(mesh.r.duplicates.per_node_per_block.p99, flood.r.duplicates.per_node_per_block.p99)}x; 95% reached median ${ratio(mesh.r.propagation.to_95.p50, flood.r.propagation.to_95.p50)}x; CPU ${ratio(mesh.cpuS, flood.cpuS)}x`);
}
