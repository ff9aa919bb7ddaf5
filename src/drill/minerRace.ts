/**
 * `vision-node drill miner-race`: the PoW miner race (docs/protocol.md §8), provoked on purpose. Two miners on a fresh pow
 * chain start from one genesis with `mining_delay_ms` set, so both are mining every height when the
 * other's block arrives. The report shows what racing miners get wrong when they mine stale parents, and ours must not:
 * races seen, hashes tried after the competing block arrived, abort latency (goal < 50 ms), no
 * mining of a height the node already held, no second attempt on a parent, and convergence.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { getJson } from "../util/http.ts";
import type { MiningJob, MinerStats } from "../producer/miner.ts";
import { checkAgreement, drillNet, finalityLine, runDrill, until, type DrillFlags, type FinalitySummary, type Head } from "./common.ts";

/** Flags of `drill miner-race`. */
export interface MinerRaceFlags extends DrillFlags {
  /** run until both nodes hold this height */
  blocks: number;
  /** `mining_delay_ms` (pause per 4-nonce step of each worker) for both miners */
  delayMs: number;
  /** the chain's (fixed) difficulty */
  difficulty: number;
}

/** Per-node figures. Times in ms. */
export interface MinerRaceNode {
  name: string;
  jobs: number;
  mined: number;
  aborted: number;
  lost: number;
  failed: number;
  hashes: number;
  wasted_hashes: number;
  /** jobs started after this node already stored a block for their height (on their parent) */
  filled_height_starts: number;
  /** parents mined more than once */
  retries: number;
  abort_latency_median_ms: number | null;
  abort_latency_max_ms: number | null;
}

/** The drill's result. */
export interface MinerRaceReport {
  nodes: MinerRaceNode[];
  delay_ms: number;
  difficulty: number;
  height: number;
  /** aborted plus lost jobs over both nodes */
  races: number;
  abort_latency_max_ms: number | null;
  wasted_hashes: number;
  agree_heights: number;
  agree: boolean;
  /** finality lag and finalized agreement at every 1 s sample (common.ts; a pow chain finalizes nothing past genesis) */
  finality: FinalitySummary;
  ok: boolean;
  problems: string[];
}

const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]! : null);

/** Runs the race drill and returns its report. */
export async function drillMinerRace(f: MinerRaceFlags, print: (line: string) => void): Promise<MinerRaceReport> {
  const params = { genesis_difficulty: f.difficulty, min_difficulty: Math.min(f.difficulty, 1), max_difficulty: f.difficulty, ...(f.param ?? {}) };
  const d = await drillNet({ ...f, nodes: 2, param: params }, print, {}, { consensus: "pow" });
  const { net, dir } = d;
  const config = join(dir, "miner.json");
  writeFileSync(config, JSON.stringify({ mining_delay_ms: f.delayMs }));
  // Every node gets the same config; one worker each keeps the race even on a 2-core machine.
  net.setExtraArgs(["--config", config, "--mining-workers", "1"]);
  try {
    net.startAll();
    print(`drill miner-race: 2 miners, difficulty ${f.difficulty}, mining_delay_ms ${f.delayMs}, until height ${f.blocks}, data in ${dir}`);
    await until(
      async () => ((await Promise.all(net.nodes.map((n) => getJson<Head>(`${n.api}/api/chain/head`)))).every((h) => h.height >= f.blocks) ? true : undefined),
      60_000 + f.blocks * (f.delayMs * 2 ** (4 * f.difficulty) + 2000),
      `both nodes at height ${f.blocks}`,
      100,
    );
    const nodes: MinerRaceNode[] = [];
    const problems: string[] = [];
    let latencies: number[] = [];
    for (const n of net.nodes) {
      const { jobs, stats } = await getJson<{ jobs: MiningJob[]; stats: MinerStats }>(`${n.api}/api/mining/jobs`);
      const lat = jobs.filter((j) => j.outcome === "aborted" && j.abort_latency_ms !== null && j.hashes > 0).map((j) => j.abort_latency_ms!);
      latencies = latencies.concat(lat);
      // Fix 1, checked from the chain: no job began after the node stored a block for its height on its parent.
      let filled = 0;
      for (const j of jobs) {
        const b = await getJson<{ hash: string; seen_at: number | null; header: { parent_hash: string } }>(`${n.api}/api/blocks/${j.height}`).catch(() => undefined);
        if (b && b.header.parent_hash === j.parent_hash && b.hash !== j.block_hash && b.seen_at !== null && b.seen_at < j.started_at) filled++;
      }
      const parents = new Set<string>();
      let retries = 0;
      for (const j of jobs) (parents.has(j.parent_hash) ? retries++ : parents.add(j.parent_hash));
      const row: MinerRaceNode = {
        name: n.name,
        jobs: jobs.length,
        mined: stats.blocks_mined,
        aborted: stats.aborted,
        lost: stats.lost,
        failed: stats.failed,
        hashes: jobs.reduce((s, j) => s + j.hashes, 0),
        wasted_hashes: stats.wasted_hashes,
        filled_height_starts: filled + stats.filled_height_starts,
        retries: retries + stats.retries,
        abort_latency_median_ms: median(lat),
        abort_latency_max_ms: lat.length ? Math.max(...lat) : null,
      };
      nodes.push(row);
      print(
        `${n.name}: ${row.jobs} jobs, ${row.mined} mined, ${row.aborted} aborted, ${row.lost} lost, ${row.failed} failed; ` +
          `abort latency median ${row.abort_latency_median_ms?.toFixed(2) ?? "-"} ms, max ${row.abort_latency_max_ms?.toFixed(2) ?? "-"} ms; ` +
          `${row.wasted_hashes} of ${row.hashes} hashes after a competing block; filled-height starts ${row.filled_height_starts}, retries ${row.retries}`,
      );
      if (row.filled_height_starts > 0) problems.push(`${n.name} started mining ${row.filled_height_starts} filled height(s)`);
      if (row.retries > 0) problems.push(`${n.name} mined ${row.retries} parent(s) twice`);
      if (row.failed > 0) problems.push(`${n.name} had ${row.failed} failed job(s)`);
    }
    // Converge: both tips equal at some moment, and every height below agrees.
    await until(
      async () => {
        const heads = await Promise.all(net.nodes.map((n) => getJson<Head>(`${n.api}/api/chain/head`)));
        return heads[0]!.hash === heads[1]!.hash ? true : undefined;
      },
      30_000,
      "both miners on one tip",
      20,
    );
    const agreement = await checkAgreement(net);
    await d.finality.sample(net.nodes);
    const finality = await d.finality.stop();
    print(finalityLine(finality));
    if (!finality.agree) problems.push(...finality.conflicts.map((c) => `finality: ${c}`));
    const races = nodes.reduce((s, n) => s + n.aborted + n.lost, 0);
    const maxLat = latencies.length ? Math.max(...latencies) : null;
    if (races === 0) problems.push("no race was provoked");
    if (maxLat !== null && maxLat >= 50) problems.push(`abort latency ${maxLat.toFixed(1)} ms >= 50 ms`);
    if (!agreement.agree) problems.push(`miners disagree at height ${agreement.firstMismatch}`);
    const report: MinerRaceReport = {
      nodes,
      delay_ms: f.delayMs,
      difficulty: f.difficulty,
      height: agreement.heights,
      races,
      abort_latency_max_ms: maxLat,
      wasted_hashes: nodes.reduce((s, n) => s + n.wasted_hashes, 0),
      agree_heights: agreement.heights,
      agree: agreement.agree,
      finality,
      ok: problems.length === 0,
      problems,
    };
    print(
      `races ${races}, abort latency max ${maxLat?.toFixed(2) ?? "-"} ms (goal < 50), wasted hashes ${report.wasted_hashes}; ` +
        `both miners agree at heights 1..${agreement.heights}: ${agreement.agree ? "yes" : "NO"}; ${report.ok ? "OK" : "FAILED: " + problems.join("; ")}`,
    );
    return report;
  } finally {
    await d.close();
  }
}

/** CLI entry: prints the report; exit status 1 when a check failed. */
export function runDrillMinerRace(f: MinerRaceFlags): Promise<void> {
  return runDrill(f.json, (print) => drillMinerRace(f, print));
}
