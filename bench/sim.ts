/**
 * The simulator's figures against the simulator's goals: one honest network (every node a validator) and the
 * same network with 10% of the nodes crashing at random virtual times, and with a 20% withholding
 * coalition, all on one seed, with these figures and goals for each: block propagation to
 * 95% of the live nodes (p95 <= 1,000 ms), duplicate deliveries per node per block (mean and p95,
 * <= 6), reorgs (events per live node-height <= 0.1%, depth <= 2), primary share (>= 99%), finality
 * lag (p95 <= 2 checkpoint intervals + 2 blocks), longest stall (against the backup window: the
 * crash goal), the coalition's share of canonical blocks against its 20% of the validators, and
 * node-heights per second (the 1,000 x 1,000 in 10 minutes budget). The honest run is the baseline
 * of the ratios of the fault runs.
 *
 * Size: `--sim-nodes N --sim-heights H [--sim-max-peers P]` (or SIM_NODES, SIM_HEIGHTS, SIM_MAX_PEERS);
 * default 1,000 nodes x 20 heights at maxPeers 8 (the full goal is 1,000 x 1,000; today's
 * driver takes minutes per 20 heights at 1,000 nodes). `--sim-runs honest,crash,withhold` picks runs
 * (also `silent`: 10% of the validators bonded but never producing nor attesting).
 */
import { runSimulation, type SimulationFaults } from "../src/sim/driver.ts";
import { summarize } from "../src/sim/summarize.ts";
import type { SimReport } from "../src/sim/report.ts";
import { getHeapStatistics } from "node:v8";
import { fmt } from "./stats.ts";

const SEED = 15;
const CHECKPOINT_INTERVAL = 8;
const BUDGET_NODE_HEIGHTS_PER_S = (1_000 * 1_000) / 600;

/** Bench size and runs. */
export interface SimBenchOptions {
  nodes: number;
  heights: number;
  /** P2P max peers of the non-bootnodes; undefined: the node's default (50) */
  maxPeers: number | undefined;
  runs: string[];
}

interface Pass {
  name: string;
  r: SimReport;
  wallS: number;
  perS: number;
  reached: boolean;
  heapMb: number;
}

const goal = (what: string, ok: boolean) => console.log(`  goal ${what}: ${ok ? "met" : "NOT MET"}`);

async function pass(name: string, o: SimBenchOptions, faults: SimulationFaults): Promise<Pass> {
  const heap0 = process.memoryUsage().heapUsed;
  let peak = heap0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 250);
  const t0 = performance.now();
  const run = await runSimulation({ nodes: o.nodes, heights: o.heights, seed: SEED, ...(o.maxPeers ? { p2p: { maxPeers: o.maxPeers } } : {}), faults });
  const wallS = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  const r = summarize(run);
  const p: Pass = { name, r, wallS, perS: (o.nodes * o.heights) / wallS, reached: run.reached, heapMb: (peak - heap0) / 2 ** 20 };
  print(p, o);
  return p;
}

function print(p: Pass, o: SimBenchOptions): void {
  const r = p.r;
  const live = r.run.nodes - r.run.crashed.length;
  const reorgPct = (100 * r.reorgs.count) / Math.max(1, r.heights.produced * live);
  const lagBound = 2 * CHECKPOINT_INTERVAL + 2;
  console.log(`-- ${p.name}: ${r.run.nodes} nodes (${live} live), ${o.heights} heights, seed ${r.run.seed}${p.reached ? "" : " (height NOT reached)"}`);
  console.log(`  ${fmt(p.wallS, 1)} s wall, ${fmt(p.perS, 1)} node-heights/s (1,000 x 1,000 in 10 minutes needs ${fmt(BUDGET_NODE_HEIGHTS_PER_S, 0)}/s: ${fmt(BUDGET_NODE_HEIGHTS_PER_S / p.perS, 1)}x this rate), peak heap +${fmt(p.heapMb, 0)} MB, ${r.run.duration_ms} ms virtual`);
  console.log(`  safety: ${r.safety.violations} heights with two finalized blocks (${r.safety.finalized_blocks} finalized); agreement ${r.agreement.agreed ? "yes" : "NO"}, finalized height ${r.agreement.finalized_height_min}..${r.agreement.finalized_height_max}`);
  console.log(`  propagation to 95% of nodes: p50 ${r.propagation.to_95.p50} ms, p95 ${r.propagation.to_95.p95} ms, p99 ${r.propagation.to_95.p99} ms; to 100% p95 ${r.propagation.to_100.p95} ms; ${r.propagation.incomplete} of ${r.propagation.blocks} blocks incomplete${p.name === "withhold" ? " (a withheld block counts from its production, not its release)" : ""}`);
  console.log(`  duplicates per node per block: mean ${r.duplicates.per_node_per_block.mean}, p95 ${r.duplicates.per_node_per_block.p95}, max ${r.duplicates.per_node_per_block.max}`);
  console.log(`  reorgs: ${r.reorgs.count} (${fmt(reorgPct, 3)}% of live node-heights) on ${r.reorgs.nodes} nodes, deepest ${r.reorgs.deepest}; blocks ${r.heights.blocks}, orphaned ${r.heights.orphaned}`);
  console.log(`  primary share ${r.slots.primary_share}; finality lag p50 ${r.finality_lag.stats.p50}, p95 ${r.finality_lag.stats.p95}, max ${r.finality_lag.stats.max} blocks (bound 2 intervals + 2 = ${lagBound})`);
  console.log(`  longest stall ${r.stall.longest_ms} ms at height ${r.stall.at_height}; ${r.stall.over_window} intervals over the ${r.stall.window_ms} ms backup window`);
  for (const a of r.adversaries) console.log(`  adversary ${a.name}: ${a.validators} validators (${a.validator_share}), ${a.blocks} canonical blocks (${a.production_share}, ${fmt(a.validator_share ? a.production_share / a.validator_share : 0)}x its share)`);
  goal("safety (no height with two finalized blocks)", r.safety.violations === 0);
  if (p.name === "honest") {
    goal("propagation to 95% p95 <= 1000 ms", (r.propagation.to_95.p95 ?? Infinity) <= 1000);
    goal("duplicates per node per block <= 6 (mean)", (r.duplicates.per_node_per_block.mean ?? Infinity) <= 6);
    goal("reorgs <= 0.1% of node-heights, none deeper than 2", reorgPct <= 0.1 && r.reorgs.deepest <= 2);
    goal("primary share >= 99%", r.slots.primary_share >= 0.99);
    if (o.heights > lagBound) goal(`finality lag p95 <= ${lagBound} blocks`, (r.finality_lag.stats.p95 ?? Infinity) <= lagBound);
  }
  if (p.name === "crash") goal(`no stall over the ${r.stall.window_ms} ms backup window`, r.stall.over_window === 0);
}

/** Runs the chosen passes and prints the fault runs' ratios against the honest one. */
export async function benchSim(o: SimBenchOptions): Promise<void> {
  if (!Number.isInteger(o.nodes) || o.nodes < 10) throw new Error("--sim-nodes must be an integer >= 10");
  if (!Number.isInteger(o.heights) || o.heights < 5) throw new Error("--sim-heights must be an integer >= 5");
  console.log(`\n== sim: the simulator, ${o.nodes} nodes x ${o.heights} heights, maxPeers ${o.maxPeers ?? "default"}: ${o.runs.join(", ")} ==`);
  const limitMb = getHeapStatistics().heap_size_limit / 2 ** 20;
  if (limitMb < o.nodes * 8) console.log(`  warning: heap limit ${fmt(limitMb, 0)} MB is below ~8 MB per node; run with NODE_OPTIONS=--max-old-space-size=${o.nodes * 8 + 1024}`);
  const passes: Pass[] = [];
  if (o.runs.includes("honest")) passes.push(await pass("honest", o, {}));
  if (o.runs.includes("crash")) passes.push(await pass("crash", o, { crash: 0.1 }));
  if (o.runs.includes("withhold")) passes.push(await pass("withhold", o, { withhold: 0.2 }));
  if (o.runs.includes("silent")) passes.push(await pass("silent", o, { silent: 0.1 }));
  const base = passes.find((p) => p.name === "honest");
  if (!base) return;
  for (const p of passes) {
    if (p === base) continue;
    const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? "-" : `${fmt(a / b)}x`);
    console.log(
      `${p.name} / honest: propagation to 95% p95 ${ratio(p.r.propagation.to_95.p95, base.r.propagation.to_95.p95)}, longest stall ${ratio(p.r.stall.longest_ms, base.r.stall.longest_ms)}, ` +
        `primary share ${ratio(p.r.slots.primary_share, base.r.slots.primary_share)}, orphaned ${p.r.heights.orphaned} vs ${base.r.heights.orphaned}, node-heights/s ${ratio(p.perS, base.perS)}`,
    );
  }
}
