/**
 * The simulation driver (`src/sim/driver.ts`): wall and CPU time, node-heights per second (nodes x
 * heights over the seconds) and memory of `runSimulation` with real VisionNodes, 2,000 ms blocks,
 * maxPeers 8, at each node count of `--sim-driver-nodes` (default 50,200), `--sim-driver-heights`
 * heights (default 20) and `--sim-driver-validators` validators (default: every node).
 *
 * Baseline in the same run: at the first node count, a pass with `shareFrames: false` (every node
 * parses, hashes, verifies and stores its own copy of each message and block, as separate processes
 * would), then the default pass (one parse per line for all nodes, frozen and shared, its hashes and
 * signature checks computed once; one stored text per block): the ratio of their CPU node-heights
 * per second. Both passes give the same report (the driver test checks it); only the cost differs.
 *
 * CPU seconds are the process's user + system time over the run (the machine is shared: wall time
 * also counts the other processes' turns; the GC's helper threads count too). Memory: the peak
 * `heapUsed` sampled every 200 ms of real time over the heap after a full collection before the
 * run, per node (garbage included: a sample falls anywhere between collections), and the peak RSS. Against the simulator's budget
 * (1,000 nodes x 1,000 heights in 10 minutes: about 1,667 node-heights per second), the share the
 * measured CPU rate would take on one core.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { runSimulation } from "../src/sim/driver.ts";
import { fmt } from "./stats.ts";

const BUDGET_NODE_HEIGHTS_PER_S = (1_000 * 1_000) / 600;

// A full collection before each pass, so the heap it starts from holds no garbage of the last one.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

interface Pass {
  nodes: number;
  wallS: number;
  cpuS: number;
  perWallS: number;
  perCpuS: number;
  heapMbPerNode: number;
  peakHeapMb: number;
  peakRssMb: number;
  reached: boolean;
}

async function pass(nodes: number, heights: number, validators: number | undefined, shareFrames: boolean): Promise<Pass> {
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  let peak = heap0;
  let rss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.heapUsed);
    rss = Math.max(rss, m.rss);
  }, 200);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const run = await runSimulation({ nodes, heights, seed: 1, validators: validators === undefined ? undefined : Math.min(validators, nodes), p2p: { maxPeers: 8 }, shareFrames });
  const wallS = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  clearInterval(sampler);
  const cpuS = (c.user + c.system) / 1e6;
  return {
    nodes, wallS, cpuS, perWallS: (nodes * heights) / wallS, perCpuS: (nodes * heights) / cpuS,
    heapMbPerNode: (peak - heap0) / nodes / 2 ** 20, peakHeapMb: peak / 2 ** 20, peakRssMb: rss / 2 ** 20, reached: run.reached,
  };
}

function line(label: string, r: Pass): string {
  return `${label}: ${fmt(r.wallS, 1)} s wall, ${fmt(r.cpuS, 1)} s CPU, ${fmt(r.perCpuS, 1)} node-heights/s of CPU (${fmt(r.perWallS, 1)} of wall), heap ${fmt(r.heapMbPerNode, 2)} MB per node (peak ${fmt(r.peakHeapMb, 0)} MB), peak RSS ${fmt(r.peakRssMb, 0)} MB${r.reached ? "" : " (height NOT reached)"}`;
}

/**
 * @param nodeCounts node counts, each >= 2 (the first also runs the unshared baseline)
 * @param heights heights per pass, >= 1
 * @param validators validators per pass (capped at the node count); undefined: every node
 */
export async function benchSimDriver(nodeCounts: number[], heights = 20, validators?: number): Promise<void> {
  if (!nodeCounts.length || nodeCounts.some((n) => !Number.isInteger(n) || n < 2)) throw new Error("--sim-driver-nodes must be a comma-separated list of integers >= 2");
  if (!Number.isInteger(heights) || heights < 1) throw new Error("--sim-driver-heights must be an integer >= 1");
  if (validators !== undefined && (!Number.isInteger(validators) || validators < 1)) throw new Error("--sim-driver-validators must be an integer >= 1");
  const vs = validators === undefined ? "all validators" : `${validators} validators`;
  console.log(`\n== sim-driver: runSimulation, ${nodeCounts.join(", ")} VisionNodes x ${heights} heights (${vs}, maxPeers 8) ==`);
  const first = nodeCounts[0]!;
  const base = await pass(first, heights, validators, false);
  console.log(line(`${first} nodes, unshared (baseline)`, base));
  let last = base;
  for (const n of nodeCounts) {
    const r = await pass(n, heights, validators, true);
    console.log(line(`${n} nodes`, r));
    if (n === first) console.log(`shared / unshared at ${first} nodes: ${fmt(r.perCpuS / base.perCpuS, 2)}x node-heights per CPU second, ${fmt(r.heapMbPerNode / base.heapMbPerNode, 2)}x the heap per node`);
    last = r;
  }
  console.log(`1,000 x 1,000 node-heights at ${last.nodes} nodes' CPU rate: ${fmt(1e6 / last.perCpuS / 60, 0)} min (${fmt((100 * BUDGET_NODE_HEIGHTS_PER_S) / last.perCpuS, 0)}% of the 10-minute budget)`);
}
