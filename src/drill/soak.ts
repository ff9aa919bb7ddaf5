/**
 * `vision-node drill soak --minutes M`: long-run stability (agreement, no failed dials, bounded memory), measured. Three
 * nodes run for M minutes under a steady transfer load (faucet → node 1, spread over the nodes'
 * APIs). Every 15 s it checks identical hashes at every height, counts failed dials (refused
 * connections) after start-up, and samples each node's resident memory. At the end: blocks
 * produced, forks and how many outlived one block time, p50/p99 block interval, peak and growth of
 * memory, transfers accepted and included.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { getJson } from "../util/http.ts";
import { readKeyFile } from "../node/keyfile.ts";
import { signTransfer } from "../chain/tx.ts";
import { checkAgreement, drillNet, finalityLine, forkSummary, runDrill, settled, sleep, up, type BlockJson, type DrillFlags, type FinalitySummary, type Head } from "./common.ts";

/** Flags of `drill soak`. */
export interface SoakFlags extends DrillFlags {
  minutes: number;
  /** transfers per second offered */
  tps: number;
}

/** The drill's result. Times in ms, memory in MiB. */
export interface SoakReport {
  minutes: number;
  blocks: number;
  checks: number;
  /** checks where every node held identical hashes at every common height */
  checks_agreeing: number;
  dial_failures_after_start: number;
  forks: number;
  /** orphaned blocks some node held longer than one block time (goal 0) */
  forks_outliving_one_block: number;
  interval_p50_ms: number;
  interval_p99_ms: number;
  rss_first_mib: number[];
  rss_max_mib: number[];
  rss_last_mib: number[];
  txs_accepted: number;
  txs_refused: number;
  txs_included: number;
  /** finality lag and finalized agreement at every 1 s sample (common.ts) */
  finality: FinalitySummary | null;
  ok: boolean;
  problems: string[];
}

function rssMiB(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

const pct = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]! : NaN);

/** Runs the soak and returns its report. */
export async function drillSoak(f: SoakFlags, print: (line: string) => void): Promise<SoakReport> {
  const d = await drillNet({ ...f, nodes: 3 }, print);
  const { net, dir, spec } = d;
  const faucet = readKeyFile(join(dir, "faucet.key"));
  const problems: string[] = [];
  const r: SoakReport = {
    minutes: f.minutes, blocks: 0, checks: 0, checks_agreeing: 0, dial_failures_after_start: 0, forks: 0, forks_outliving_one_block: 0,
    interval_p50_ms: NaN, interval_p99_ms: NaN, rss_first_mib: [], rss_max_mib: [0, 0, 0], rss_last_mib: [], txs_accepted: 0, txs_refused: 0,
    txs_included: 0, finality: null, ok: false, problems,
  };
  try {
    net.startAll();
    print(`drill soak: 3 nodes, block_time_ms ${spec.params.block_time_ms}, ${f.minutes} min at ${f.tps} transfers/s, data in ${dir}`);
    await settled(net, 90_000);
    const h0 = (await getJson<Head>(`${net.nodes[0]!.api}/api/chain/head`)).height;
    const dialsAtStart = await Promise.all(net.nodes.map(async (n) => (await getJson<{ p2p: { dial_failures: number } }>(`${n.api}/api/health`)).p2p.dial_failures));
    const end = Date.now() + f.minutes * 60_000;
    let stop = false;

    // Load: one transfer every 1/tps s to the nodes in turn; a refusal resyncs the nonce from the chain.
    // --tps 0 is an idle soak: no load at all.
    const load = (async () => {
      if (f.tps <= 0) return;
      let nonce = (await getJson<{ nonce: number }>(`${net.nodes[0]!.api}/api/accounts/${faucet.ebid}`)).nonce;
      let i = 0;
      const started = Date.now();
      while (!stop) {
        const due = started + (i * 1000) / f.tps;
        if (due > Date.now()) await sleep(due - Date.now());
        const node = net.nodes[i % 3]!;
        i++;
        const tx = signTransfer(faucet, { chain_id: spec.chain_id, to: net.nodes[0]!.ebid, amount: String(spec.params.min_account_balance), fee: "1", nonce });
        const res = await fetch(`${node.api}/api/tx`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(tx), signal: AbortSignal.timeout(5000) }).catch(() => undefined);
        if (res?.ok) {
          r.txs_accepted++;
          nonce++;
        } else {
          r.txs_refused++;
          await sleep(1000);
          const acct = await getJson<{ nonce: number }>(`${net.nodes[0]!.api}/api/accounts/${faucet.ebid}`).catch(() => undefined);
          const pending = await getJson<{ size: number }>(`${net.nodes[0]!.api}/api/mempool?limit=1`).catch(() => undefined);
          if (acct && pending?.size === 0) nonce = acct.nonce;
        }
      }
    })();

    while (Date.now() < end) {
      await sleep(Math.min(15_000, Math.max(0, end - Date.now())));
      r.checks++;
      const agreement = await checkAgreement(net);
      if (agreement.agree) r.checks_agreeing++;
      else problems.push(`check ${r.checks}: nodes disagree at height ${agreement.firstMismatch}`);
      const rss = net.nodes.map((n) => rssMiB(n.proc?.pid));
      if (r.rss_first_mib.length === 0) r.rss_first_mib = rss;
      r.rss_max_mib = r.rss_max_mib.map((m, i) => Math.max(m, rss[i]!));
      r.rss_last_mib = rss;
      const dials = await Promise.all(net.nodes.map(async (n) => (await getJson<{ p2p: { dial_failures: number } }>(`${n.api}/api/health`)).p2p.dial_failures));
      r.dial_failures_after_start = dials.reduce((s, x, i) => s + x - dialsAtStart[i]!, 0);
      print(
        `${Math.round((f.minutes * 60_000 - (end - Date.now())) / 1000)} s: height ${agreement.heights}, agree ${agreement.agree ? "yes" : "NO"}, ` +
          `rss ${rss.map((x) => x.toFixed(0)).join("/")} MiB, transfers accepted ${r.txs_accepted} refused ${r.txs_refused}, failed dials ${r.dial_failures_after_start}`,
      );
    }
    stop = true;
    await load;
    await settled(net, 60_000);
    const top = (await getJson<Head>(`${net.nodes[0]!.api}/api/chain/head`)).height;
    r.blocks = top - h0;
    const blocks: BlockJson[] = [];
    for (let from = h0; from <= top; from += 100) blocks.push(...(await getJson<{ blocks: BlockJson[] }>(`${net.nodes[0]!.api}/api/blocks?from=${from}&limit=${Math.min(top, from + 99) - from + 1}`)).blocks);
    const intervals = blocks.slice(1).map((b, i) => b.header.timestamp - blocks[i]!.header.timestamp);
    r.interval_p50_ms = pct(intervals, 50);
    r.interval_p99_ms = pct(intervals, 99);
    const forks = await forkSummary(net, top, spec.params.block_time_ms);
    r.forks = forks.forks;
    r.forks_outliving_one_block = forks.outlived;
    // Included = the faucet's nonce on the chain (it starts at 0); give the last transfers a few blocks.
    for (let i = 0; i < 30; i++) {
      r.txs_included = (await getJson<{ nonce: number }>(`${net.nodes[0]!.api}/api/accounts/${faucet.ebid}`)).nonce;
      if (r.txs_included >= r.txs_accepted) break;
      await sleep(1000);
    }
    if (r.txs_included < r.txs_accepted) problems.push(`${r.txs_accepted - r.txs_included} accepted transfers not included`);
    const final = await checkAgreement(net);
    if (!final.agree) problems.push(`final: nodes disagree at height ${final.firstMismatch}`);
    if (r.dial_failures_after_start > 0) problems.push(`${r.dial_failures_after_start} failed dials after start-up`);
    if (r.forks_outliving_one_block > 0) problems.push(`${r.forks_outliving_one_block} fork(s) outlived one block`);
    await d.finality.sample(net.nodes.filter(up));
    r.finality = await d.finality.stop();
    print(finalityLine(r.finality));
    if (!r.finality.agree) problems.push(...r.finality.conflicts.map((c) => `finality: ${c}`));
    r.ok = problems.length === 0;
    print(
      `soak ${f.minutes} min: ${r.blocks} blocks, interval p50 ${(r.interval_p50_ms / 1000).toFixed(2)} s p99 ${(r.interval_p99_ms / 1000).toFixed(2)} s; ` +
        `${r.checks_agreeing}/${r.checks} checks agreed; forks ${r.forks} (outliving one block: ${r.forks_outliving_one_block}); failed dials ${r.dial_failures_after_start}; ` +
        `rss first ${r.rss_first_mib.map((x) => x.toFixed(0)).join("/")} max ${r.rss_max_mib.map((x) => x.toFixed(0)).join("/")} last ${r.rss_last_mib.map((x) => x.toFixed(0)).join("/")} MiB; ` +
        `transfers accepted ${r.txs_accepted}, refused ${r.txs_refused}, included ${r.txs_included}: ${r.ok ? "OK" : "FAILED: " + problems.join("; ")}`,
    );
    return r;
  } finally {
    await d.close();
  }
}

/** CLI entry: prints the report; exit status 1 when a check failed. */
export function runDrillSoak(f: SoakFlags): Promise<void> {
  return runDrill(f.json, (print) => drillSoak(f, print));
}
