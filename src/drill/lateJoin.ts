/**
 * `vision-node drill late-join`: runs N-1 nodes until the chain holds `--blocks` blocks, then starts
 * the last node on an empty data dir and measures how fast it syncs (blocks/s), when it reaches the
 * tip, when it is eligible, and when its attestations put it back in the pool. Every node must
 * agree at every height at the end.
 */
import { getJson } from "../util/http.ts";
import { backInPool, drillNet, outcome, runDrill, settled, until, type DrillFlags, type DrillOutcome, type Head, type Status } from "./common.ts";

/** Flags of `drill late-join`. */
export interface LateJoinFlags extends DrillFlags {
  /** blocks the chain holds before the last node starts */
  blocks: number;
}

/** The drill's result. Times in ms from the late node's start. */
export interface LateJoinReport extends DrillOutcome {
  nodes: number;
  block_time_ms: number;
  height_at_join: number;
  caught_up_ms: number;
  synced_blocks: number;
  /** blocks synced per second of the catch-up, start-up included */
  sync_blocks_per_s: number;
  eligible_ms: number;
  in_pool_ms: number;
  ok: boolean;
}

/** Runs the late-join drill. */
export async function drillLateJoin(f: LateJoinFlags, print: (line: string) => void): Promise<LateJoinReport> {
  const d = await drillNet(f, print);
  const { net } = d;
  const p = d.spec.params;
  try {
    const late = net.nodes[net.nodes.length - 1]!;
    const early = net.nodes.slice(0, -1);
    for (const n of early) net.start(n);
    print(`drill late-join: ${early.length} nodes build ${f.blocks} blocks (block_time_ms ${p.block_time_ms}), then ${late.name} joins; data in ${d.dir}`);
    const watcher = early[0]!;
    let lastPrint = 0;
    await until(
      async () => {
        const h = (await getJson<Head>(`${watcher.api}/api/chain/head`)).height;
        if (Date.now() - lastPrint > 10_000) {
          lastPrint = Date.now();
          print(`  height ${h}/${f.blocks}`);
        }
        return h >= f.blocks ? h : undefined;
      },
      f.blocks * (p.block_time_ms + (p.backup_slots + 1) * p.claim_timeout_ms) + 60_000,
      `${f.blocks} blocks`,
      250,
    );
    const joinHeight = (await getJson<Head>(`${watcher.api}/api/chain/head`)).height;
    const t0 = Date.now();
    net.start(late);
    const since = () => Date.now() - t0;
    const limit = 120_000 + f.blocks * 50;
    const caughtUp = await until(
      async () => {
        const [v, w] = await Promise.all([getJson<Head>(`${late.api}/api/chain/head`), getJson<Head>(`${watcher.api}/api/chain/head`)]);
        return v.height >= joinHeight && v.height >= w.height - 1 ? { ms: since(), height: v.height } : undefined;
      },
      limit,
      "the late node to reach the tip",
      50,
    );
    const eligible = await until(async () => ((await getJson<Status>(`${late.api}/api/mining/status`)).eligible ? since() : undefined), limit, "eligible", 50);
    const inPool = await backInPool(watcher, late.ebid, caughtUp.height, t0, limit);
    await settled(net, 60_000);
    const o = await outcome(d, print);
    const report: LateJoinReport = {
      nodes: f.nodes,
      block_time_ms: p.block_time_ms,
      height_at_join: joinHeight,
      caught_up_ms: caughtUp.ms,
      synced_blocks: caughtUp.height,
      sync_blocks_per_s: Math.round((caughtUp.height * 1000) / Math.max(1, caughtUp.ms)),
      eligible_ms: eligible,
      in_pool_ms: inPool,
      ...o,
      ok: o.agree && o.finality.agree,
    };
    print(
      `${late.name} started at height ${joinHeight}: at the tip (${caughtUp.height}) after ${caughtUp.ms} ms (${report.sync_blocks_per_s} blocks/s incl. start-up), ` +
        `eligible after ${eligible} ms, in the pool after ${inPool} ms`,
    );
    print(report.ok ? "drill passed" : "drill FAILED");
    return report;
  } finally {
    await d.close();
  }
}

/** `vision-node drill late-join`. */
export function runDrillLateJoin(f: LateJoinFlags): Promise<void> {
  return runDrill(f.json, (print) => drillLateJoin(f, print));
}
