/**
 * The simulation driver (`src/sim/driver.ts`): wall time, node-heights per second (nodes x heights
 * over the wall seconds) and heap per node of `runSimulation` with real VisionNodes, every node a
 * validator, 20 heights of 2,000 ms blocks, maxPeers 8. A 10-node run is the baseline; an N-node
 * run (default 50) in the same process gives the ratio of node-heights per second (1.0: the cost
 * of a node-height does not grow with the nodes). One pass each (a 50-node run takes about a minute).
 * Heap: the peak `heapUsed` sampled every 100 ms of real time over the baseline's before the run,
 * per node. Against the simulator's budget (1,000 nodes x 1,000 heights in 10 minutes: about
 * 1,667 node-heights per second), the share the measured rate would take.
 */
import { runSimulation } from "../src/sim/driver.ts";
import { fmt } from "./stats.ts";

const HEIGHTS = 20;
const BUDGET_NODE_HEIGHTS_PER_S = (1_000 * 1_000) / 600;

async function pass(nodes: number): Promise<{ wallS: number; perS: number; heapMbPerNode: number; reached: boolean }> {
  const heap0 = process.memoryUsage().heapUsed;
  let peak = heap0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 100);
  const t0 = performance.now();
  const run = await runSimulation({ nodes, heights: HEIGHTS, seed: 1, p2p: { maxPeers: 8 } });
  const wallS = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  return { wallS, perS: (nodes * HEIGHTS) / wallS, heapMbPerNode: (peak - heap0) / nodes / 2 ** 20, reached: run.reached };
}

export async function benchSimDriver(nodes: number): Promise<void> {
  if (!Number.isInteger(nodes) || nodes < 10) throw new Error("--sim-driver-nodes must be an integer >= 10");
  console.log(`\n== sim-driver: runSimulation, 10 and ${nodes} VisionNodes x ${HEIGHTS} heights (all validators, maxPeers 8) ==`);
  const base = await pass(10);
  const big = await pass(nodes);
  for (const [n, r] of [[10, base], [nodes, big]] as const) {
    console.log(`${n} nodes: ${fmt(r.wallS, 1)} s wall, ${fmt(r.perS, 1)} node-heights/s, ${fmt(r.heapMbPerNode, 1)} MB heap per node${r.reached ? "" : " (height NOT reached)"}`);
  }
  console.log(`node-heights/s at ${nodes} nodes / at 10: ${fmt(big.perS / base.perS, 2)}x`);
  console.log(`1,000 x 1,000 node-heights at ${nodes} nodes' rate: ${fmt(1e6 / big.perS / 60, 0)} min (${fmt((100 * BUDGET_NODE_HEIGHTS_PER_S) / big.perS, 0)}% of the 10-minute budget)`);
}
