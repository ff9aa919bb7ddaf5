/**
 * `vision-node sim`: runs the deterministic simulator (sim/driver.ts) of N nodes in this process,
 * with optional crash and withholding faults (sim/adversary.ts) and restart, region partition and
 * clock skew faults (sim/faults.ts), and prints the report
 * (sim/summarize.ts): a readable summary, or the JSON report with `--json`; `--report DIR` also
 * writes DIR/report.json and DIR/report.html. One seed gives one byte-identical report.
 *
 * Exit code: 0, or 1 when the run broke finality safety or did not reach the height (errors
 * print one line and exit 1, as every command does).
 */
import { spawnSync } from "node:child_process";
import { totalmem } from "node:os";
import { getHeapStatistics } from "node:v8";
import { InvalidArgumentError } from "commander";
import { runSimulation, type SimulationProgress } from "../sim/driver.ts";
import { summarize } from "../sim/summarize.ts";
import { reportJson, type SimReport, type Stats } from "../sim/report.ts";
import { writeReport } from "../sim/reportHtml.ts";
import type { PartitionFault } from "../sim/faults.ts";

/** Flags of `sim` (commander's camelCase). */
export interface SimFlags {
  nodes: number;
  heights: number;
  seed: number;
  validators?: number;
  crash: number;
  withhold: number;
  withholdReleaseMs?: number;
  silent: number;
  doubleBlock: number;
  doubleVote: number;
  privateBranch?: { fraction: number; heights: number };
  /** lying heights, Sybil attesters, grinding (sim/attacks.ts) */
  liars?: number;
  liarAhead?: number;
  sybil?: number;
  sybilHosts?: number;
  grind?: number;
  restart: number;
  restartDowntimeMs?: [number, number];
  partition?: PartitionFault;
  clockSkewMs: number;
  clockSkewBeyondDrift: boolean;
  blockTimeMs: number;
  maxPeers?: number;
  param?: Record<string, number>;
  json: boolean;
  report?: string;
}

/** Estimated heap a simulated node needs (MB): chain, stores, P2P buffers (bench/simDriver.ts measures it). */
const HEAP_MB_PER_NODE = 8;
/** Set on the re-executed process, so it never re-executes again. */
const REEXEC_ENV = "VISION_SIM_REEXEC";

/**
 * When this process's heap limit is below what `nodes` simulated nodes need (HEAP_MB_PER_NODE each
 * plus 512 MB), runs the same command again in a child Node.js with `--max-old-space-size` raised
 * (to at most 3/4 of the machine's memory) and returns its exit code; undefined when no re-exec is
 * needed or possible (NODE_OPTIONS=--max-old-space-size=MB sets it by hand).
 */
export function reexecWithHeap(nodes: number): number | undefined {
  if (process.env[REEXEC_ENV]) return undefined;
  const wantMb = Math.min(nodes * HEAP_MB_PER_NODE + 512, Math.floor((totalmem() / 2 ** 20) * 0.75));
  const haveMb = getHeapStatistics().heap_size_limit / 2 ** 20;
  if (haveMb >= wantMb) return undefined;
  const r = spawnSync(process.execPath, [...process.execArgv, `--max-old-space-size=${wantMb}`, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, [REEXEC_ENV]: "1" },
  });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

/** Runs `sim`: the simulation, its summary or JSON, the report files. Sets process.exitCode. */
export async function runSim(f: SimFlags): Promise<void> {
  const validators = f.validators ?? f.nodes;
  if (validators > f.nodes) throw new InvalidArgumentError(`--validators ${validators} is more than --nodes ${f.nodes}`);
  if (f.withhold && f.privateBranch?.fraction) throw new InvalidArgumentError("--withhold and --private-branch are one coalition: give one of them");
  const code = reexecWithHeap(f.nodes);
  if (code !== undefined) {
    process.exitCode = code;
    return;
  }
  const t0 = performance.now();
  // A long run says how far it got (stderr: stdout carries the summary or the JSON report).
  const onProgress = (p: SimulationProgress) =>
    process.stderr.write(
      p.started < f.nodes
        ? `sim: ${p.started} of ${f.nodes} nodes started (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`
        : `sim: ${(p.virtualMs / 1000).toFixed(1)} s virtual, ${p.below} of ${f.nodes} nodes below height ${f.heights}, ${p.timers} timers (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`,
    );
  const run = await runSimulation({
    onProgress,
    nodes: f.nodes,
    heights: f.heights,
    seed: f.seed,
    validators,
    blockTimeMs: f.blockTimeMs,
    params: f.param,
    ...(f.maxPeers !== undefined ? { p2p: { maxPeers: f.maxPeers } } : {}),
    faults: {
      crash: f.crash, withhold: f.withhold, withholdReleaseMs: f.withholdReleaseMs, silent: f.silent, doubleBlock: f.doubleBlock, doubleVote: f.doubleVote,
      ...(f.privateBranch ? { privateBranch: f.privateBranch.fraction, privateBranchHeights: f.privateBranch.heights } : {}),
      liars: f.liars, liarAheadBlocks: f.liarAhead, sybil: f.sybil, sybilHosts: f.sybil ? f.sybilHosts : undefined, grind: f.grind,
      restart: f.restart, restartDowntimeMs: f.restartDowntimeMs, partition: f.partition, clockSkewMs: f.clockSkewMs, clockSkewBeyondDrift: f.clockSkewBeyondDrift,
    },
  });
  const wallS = (performance.now() - t0) / 1000;
  const report = summarize(run);
  const files = f.report ? writeReport(f.report, report) : undefined;
  const wall = `${wallS.toFixed(1)} s wall, ${((f.nodes * f.heights) / wallS).toFixed(1)} node-heights/s, ${run.timers} timers`;
  if (f.json) {
    process.stdout.write(reportJson(report));
    process.stderr.write(`sim: ${wall}${files ? `; wrote ${files.json} and ${files.html}` : ""}\n`);
  } else {
    process.stdout.write(summaryText(report, { reached: run.reached, wall, lagBound: 2 * (f.param?.checkpoint_interval ?? 8) + 2 }));
    if (files) process.stdout.write(`report         ${files.html} (and ${files.json})\n`);
  }
  if (report.safety.violations > 0 || !run.reached) process.exitCode = 1;
}

/** The summary lines of the report's `attacks` section (none without one). */
export function attackLines(r: SimReport): [string, string][] {
  const a = r.attacks;
  if (!a) return [];
  const out: [string, string][] = [];
  if (a.liars) {
    const l = a.liars;
    out.push(["liars", `${l.nodes.length} nodes claimed +${l.ahead} blocks (${l.lies} lies); honest nodes sent them ${l.requests} requests (${l.askers} nodes asked), waited ${l.wait_ms_total} ms in all (max ${l.wait_ms_max} ms), ${l.unanswered} unanswered`]);
  }
  if (a.sybil) {
    const s = a.sybil;
    out.push(["sybil", `${s.keys} unbonded keys via ${s.hosts.length} hosts: ${s.sent} sent, ${s.received} received by honest nodes, ${s.relayed} relayed, ${s.in_blocks} in blocks; largest pool ${s.pool_max}`]);
  }
  if (a.grind) {
    const g = a.grind;
    out.push(["grind", `${g.members.length} members produced ${g.produced} blocks, decided ${g.decided} from their seed: published ${g.published}, withheld ${g.withheld} (${g.seeds_checked} mixes checked against the reveal)`]);
  }
  out.push(["bans", `honest peers ${a.bans.honest}, adversaries ${a.bans.adversary}`]);
  return out;
}

const n = (x: number | null) => (x === null ? "-" : String(x));
const dist = (s: Stats, unit: string) => (s.count === 0 ? "-" : `p50 ${n(s.p50)}, p95 ${n(s.p95)}, p99 ${n(s.p99)}, max ${n(s.max)}${unit}`);

/** The report as a readable summary: one line per figure (what `sim` prints without --json). */
export function summaryText(r: SimReport, run: { reached: boolean; wall: string; lagBound: number }): string {
  const lines: [string, string][] = [
    ["run", `${r.run.nodes} nodes, ${r.run.validators} validators, seed ${r.run.seed}: ${r.run.duration_ms} ms virtual, ${run.wall}`],
    ["heights", `${r.heights.produced} of ${r.heights.target}${run.reached ? "" : " (NOT reached by every live node)"}; blocks ${r.heights.blocks}, orphaned ${r.heights.orphaned}`],
    [
      "safety",
      r.safety.violations === 0
        ? `ok: no height with two finalized blocks (${r.safety.finalized_blocks} blocks finalized)`
        : `VIOLATED at ${r.safety.violations} heights, first: ${r.safety.examples.map((e) => `height ${e.height} (${e.blocks.map((b) => `${b.hash.slice(0, 12)} by nodes ${b.nodes.join(",")}`).join(" vs ")})`).join("; ")}`,
    ],
    ["agreement", `${r.agreement.agreed ? "finalized chains agree" : `nodes ${r.agreement.disagreeing_nodes.join(",")} finalized off the canonical chain`}; finalized height ${r.agreement.finalized_height_min}..${r.agreement.finalized_height_max}`],
    ["reorgs", `${r.reorgs.count} (${r.heights.produced ? ((100 * r.reorgs.count) / (r.heights.produced * Math.max(1, r.run.nodes - r.run.crashed.length))).toFixed(3) : 0}% of node-heights), deepest ${r.reorgs.deepest}, on ${r.reorgs.nodes} nodes`],
    ["primary share", String(r.slots.primary_share)],
    ["propagation", `to 95% of nodes ${dist(r.propagation.to_95, " ms")}; to 100% ${dist(r.propagation.to_100, " ms")}; ${r.propagation.incomplete} blocks never reached every live node`],
    ["duplicates", `per node per block mean ${n(r.duplicates.per_node_per_block.mean)}, ${dist(r.duplicates.per_node_per_block, "")}`],
    ["bandwidth", `upload per node ${dist(r.bandwidth.sent_bytes_per_s, " B/s")}`],
    ["longest stall", `${r.stall.longest_ms} ms${r.stall.at_height === null ? "" : ` (ended by height ${r.stall.at_height})`}${r.stall.window_ms === null ? "" : `; ${r.stall.over_window} intervals over the ${r.stall.window_ms} ms window`}`],
    ["finality lag", `${dist(r.finality_lag.stats, " blocks")} (2 checkpoint intervals + 2: ${run.lagBound})`],
    ["crashed", r.run.crashed.length ? `${r.run.crashed.length} nodes` : "none"],
    ...faultLines(r),
    ...r.adversaries.map((a): [string, string] => [`adversary`, `${a.name}: ${a.validators} validators (${a.validator_share}), ${a.blocks} canonical blocks (${a.production_share})`]),
    ...(r.slashing ?? []).map((e): [string, string] => [
      "slashed",
      `${e.kind}: ${e.twinned} ${e.kind === "double-block" ? "blocks" : "votes"} signed twice; ${e.slashed_at_head.length} of ${e.members.length} members slashed at node 0's head${e.slashed.length ? `, items in the blocks at heights ${e.slashed.map((x) => x.height).join(",")}` : ""}`,
    ]),
    ...attackLines(r),
  ];
  return lines.map(([k, v]) => `${k.padEnd(14)} ${v}\n`).join("");
}

/** The summary lines of the restart, partition and clock skew faults (none when the run had none). */
function faultLines(r: SimReport): [string, string][] {
  const f = r.faults;
  if (!f) return [];
  const out: [string, string][] = [];
  if (f.restarts.length) {
    const never = f.restarts.filter((x) => x.catch_up_ms === null).length;
    out.push(["restarted", `${f.restarts.length} nodes; catch-up max ${n(f.catch_up_max_ms)} ms${never ? `, ${never} never caught up` : ""}`]);
  }
  const p = f.partition;
  if (p) {
    const sides = p.sides.map((s) => `${s.regions.join(",")} (${s.nodes} nodes, ${s.blocks_during} blocks, stall ${s.longest_stall_ms} ms)`).join(" / ");
    out.push(["partition", `${sides} from ${p.from_ms} to ${p.to_ms} ms${p.healed ? "" : " (NOT healed)"}; ${p.diverged ? "diverged" : "did not diverge"}; reorg at heal ${p.reorg_depth_at_heal} blocks on ${p.reorged_nodes_at_heal} nodes; one head ${p.converged_after_ms === null ? "NEVER" : `${p.converged_after_ms} ms`} after the heal`]);
  }
  if (f.clock_skew) out.push(["clock skew", `up to ${f.clock_skew.max_ms} ms: offsets ${f.clock_skew.min_offset_ms}..${f.clock_skew.max_offset_ms} ms`]);
  return out;
}
