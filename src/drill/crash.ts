/**
 * `vision-node drill crash`: crash safety under SIGKILL. Each cycle submits a few faucet transfers to
 * one node (rotating), notes its tip, waits a random moment while it produces and imports, SIGKILLs
 * it, runs `db verify` on its data dir (full replay), restarts it, and checks that nothing it had
 * acknowledged was lost: the tip it had reported is still stored, and every transfer it answered 200
 * for is pending or included. At the end all nodes must agree and every data dir must verify.
 */
import { join } from "node:path";
import { getJson } from "../util/http.ts";
import { readKeyFile } from "../node/keyfile.ts";
import { verifyDataDir } from "../chain/verify.ts";
import { signTransfer, txHash } from "../chain/tx.ts";
import { drillNet, outcome, runDrill, settled, sleep, until, up, type DrillFlags, type DrillOutcome, type Head } from "./common.ts";

/** Flags of `drill crash`. */
export interface CrashFlags extends DrillFlags {
  cycles: number;
  /** transfers submitted to the victim before each kill */
  txs: number;
}

/** One crash cycle. Times in ms. */
export interface CrashCycle {
  cycle: number;
  node: string;
  killed_at_height: number;
  /** from the tip check to SIGKILL (random) */
  kill_delay_ms: number;
  acked_txs: number;
  lost_txs: number;
  tip_kept: boolean;
  verify_ok: boolean;
  verify_s: number;
  replayed: number;
  /** from restart until the API answered */
  restart_ms: number;
  ok: boolean;
  problem: string | null;
}

/** The drill's result. */
export interface CrashReport extends DrillOutcome {
  cycles: CrashCycle[];
  survived: number;
  final_verify_ok: boolean;
  ok: boolean;
}

/** Runs the crash drill and returns its report. */
export async function drillCrash(f: CrashFlags, print: (line: string) => void): Promise<CrashReport> {
  const d = await drillNet(f, print);
  const { net, dir, spec } = d;
  const faucet = readKeyFile(join(dir, "faucet.key"));
  const cycles: CrashCycle[] = [];
  let nonce = 0;
  try {
    net.startAll();
    print(`drill crash: ${f.nodes} nodes, block_time_ms ${spec.params.block_time_ms}, ${f.cycles} cycles, data in ${dir}`);
    await settled(net, 90_000);
    for (let cycle = 1; cycle <= f.cycles; cycle++) {
      const victim = net.nodes[(cycle - 1) % net.nodes.length]!;
      const row: CrashCycle = {
        cycle, node: victim.name, killed_at_height: 0, kill_delay_ms: 0, acked_txs: 0, lost_txs: 0, tip_kept: false,
        verify_ok: false, verify_s: 0, replayed: 0, restart_ms: 0, ok: false, problem: null,
      };
      cycles.push(row);
      try {
        // Acknowledged writes: transfers the victim answered 200 for (journaled before the answer).
        const acked: string[] = [];
        for (let i = 0; i < f.txs; i++) {
          const tx = signTransfer(faucet, { chain_id: spec.chain_id, to: net.nodes[0]!.ebid, amount: String(spec.params.min_account_balance), fee: "1", nonce });
          const r = await fetch(`${victim.api}/api/tx`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(tx), signal: AbortSignal.timeout(5000) });
          if (r.ok) {
            acked.push(txHash(tx));
            nonce++;
          }
        }
        row.acked_txs = acked.length;
        const tip = await getJson<Head>(`${victim.api}/api/chain/head`);
        row.killed_at_height = tip.height;
        row.kill_delay_ms = Math.floor(Math.random() * 1500);
        await sleep(row.kill_delay_ms);
        await net.kill(victim, "SIGKILL");
        const v = await verifyDataDir(victim.dataDir, spec);
        row.verify_ok = v.ok;
        row.verify_s = v.seconds;
        row.replayed = v.replayed;
        if (!v.ok) throw new Error(`db verify: ${v.problems[0]}`);
        const t0 = Date.now();
        net.start(victim);
        await until(() => getJson<Head>(`${victim.api}/api/chain/head`), 30_000, `${victim.name} API`);
        row.restart_ms = Date.now() - t0;
        row.tip_kept = (await getJson<{ hash: string }>(`${victim.api}/api/blocks/${tip.hash}`).catch(() => undefined))?.hash === tip.hash;
        if (!row.tip_kept) throw new Error(`the tip ${tip.hash.slice(0, 12)} it reported is gone`);
        for (const hash of acked) {
          const seen = await until(async () => {
            const s = await getJson<{ status: string }>(`${victim.api}/api/tx/${hash}`);
            return s.status === "pending" || s.status === "included" || s.status === "finalized" ? s.status : undefined;
          }, 15_000, `transfer ${hash.slice(0, 12)}`).catch(() => undefined);
          if (!seen) row.lost_txs++;
        }
        if (row.lost_txs > 0) throw new Error(`${row.lost_txs} acknowledged transfer(s) lost`);
        row.ok = true;
      } catch (e) {
        row.problem = (e as Error).message;
        if (!up(victim)) net.start(victim);
      }
      print(
        `cycle ${cycle}: ${row.node} killed at height ${row.killed_at_height} after ${row.kill_delay_ms} ms; ` +
          `db verify ${row.verify_ok ? "ok" : "FAILED"} (${row.replayed} blocks replayed in ${row.verify_s.toFixed(2)} s); ` +
          `back in ${row.restart_ms} ms; tip kept ${row.tip_kept ? "yes" : "NO"}; ${row.acked_txs} acked transfers, ${row.lost_txs} lost` +
          (row.problem ? `; PROBLEM: ${row.problem}` : ""),
      );
    }
    await settled(net, 90_000);
    const o = await outcome(d, print);
    await net.stopAll();
    let finalOk = true;
    for (const n of net.nodes) {
      const v = await verifyDataDir(n.dataDir, spec);
      finalOk &&= v.ok;
      print(`${n.name}: db verify ${v.ok ? "ok" : "FAILED " + v.problems[0]} (height ${v.canonical_height}, ${v.blocks} blocks)`);
    }
    const survived = cycles.filter((c) => c.ok).length;
    print(`survived ${survived}/${cycles.length} crash cycles; final db verify on every node: ${finalOk ? "ok" : "FAILED"}`);
    return { ...o, cycles, survived, final_verify_ok: finalOk, ok: survived === cycles.length && finalOk && o.agree && o.finality.agree };
  } finally {
    await d.close();
  }
}

/** CLI entry: prints the report; exit status 1 when a check failed. */
export function runDrillCrash(f: CrashFlags): Promise<void> {
  return runDrill(f.json, (print) => drillCrash(f, print));
}
