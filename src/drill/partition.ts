/**
 * `vision-node drill partition`: a network partition of one node. Every link between two
 * nodes runs through its own user-space proxy (no root or iptables needed), and nodes dial only
 * their configured peers (`--no-discovery`), so cutting a node's links isolates it: by default the
 * links go silent with their sockets open (`blackhole`, like a real partition), or they close
 * (`--mode cut`). Each round cuts
 * one node off for `--seconds`, checks that it turns ineligible while the others keep producing,
 * heals, and measures how long it takes to reconnect, catch up, become eligible again and return
 * to the pool (an attestation of its in a block). Every node must agree at every height at the end.
 */
import { getJson } from "../util/http.ts";
import type { LocalNode } from "./localnet.ts";
import { ProxyMesh } from "./linkProxy.ts";
import { backInPool, drillNet, outcome, runDrill, settled, sleep, until, up, type DrillFlags, type DrillOutcome, type Head, type Status } from "./common.ts";

/** Flags of `drill partition`. */
export interface PartitionFlags extends DrillFlags {
  rounds: number;
  /** how long the node stays cut off */
  seconds: number;
  /** `blackhole`: links go silent (sockets stay open, as in a real partition); `cut`: links close */
  mode: "blackhole" | "cut";
}

/** One partition round. Times in ms from the heal unless said otherwise. */
export interface PartitionRound {
  round: number;
  isolated: string;
  /** ms after the cut until the isolated node reported eligible: false */
  ineligible_after_cut_ms: number | null;
  /** blocks the rest of the network produced while it was cut off */
  blocks_during_cut: number;
  reconnect_ms: number;
  caught_up_ms: number;
  eligible_ms: number;
  /** caught up to eligible: the 3-tick hysteresis */
  eligible_after_catch_up_ms: number;
  back_in_pool_ms: number;
  ok: boolean;
  problem: string | null;
}

/** The drill's result. */
export interface PartitionReport extends DrillOutcome {
  nodes: number;
  block_time_ms: number;
  cut_seconds: number;
  mode: "blackhole" | "cut";
  rounds: PartitionRound[];
  ok: boolean;
}

/** Runs the partition drill. */
export async function drillPartition(f: PartitionFlags, print: (line: string) => void): Promise<PartitionReport> {
  const mesh = new ProxyMesh();
  const d = await drillNet(f, print, { peerUrl: mesh.peerUrl, extraArgs: ["--no-discovery"] });
  const { net } = d;
  const p = d.spec.params;
  const rounds: PartitionRound[] = [];
  try {
    await mesh.listen(net.nodes);
    const links = (n: LocalNode) => mesh.links(n);
    net.startAll();
    print(`drill partition: ${f.nodes} nodes, block_time_ms ${p.block_time_ms}, ${f.rounds} rounds of ${f.seconds} s cut off (${f.mode}), data in ${d.dir}`);
    await settled(net, 60_000);
    for (let r = 1; r <= f.rounds; r++) {
      const victim = net.nodes[(r - 1) % net.nodes.length]!;
      const others = net.nodes.filter((n) => n !== victim && up(n));
      const watcher = others[0]!;
      const problems: string[] = [];
      const before = (await getJson<Head>(`${watcher.api}/api/chain/head`)).height;
      const cutAt = Date.now();
      for (const l of links(victim)) (f.mode === "cut" ? l.cut() : l.blackhole());
      let ineligibleAt: number | null = null;
      while (Date.now() - cutAt < f.seconds * 1000) {
        const s = await getJson<Status>(`${victim.api}/api/mining/status`).catch(() => undefined);
        if (s && !s.eligible && ineligibleAt === null) ineligibleAt = Date.now();
        if (s?.eligible && ineligibleAt !== null) problems.push("eligible again while cut off");
        await sleep(100);
      }
      if (ineligibleAt === null) problems.push("never reported eligible: false while cut off");
      const during = (await getJson<Head>(`${watcher.api}/api/chain/head`)).height - before;
      if (during < 1) problems.push("the rest of the network stopped producing");
      const healAt = Date.now();
      for (const l of links(victim)) l.heal();
      const since = () => Date.now() - healAt;
      const limit = 60_000 + p.block_time_ms * 10;
      const reconnect = await until(async () => ((await getJson<{ peers: unknown[] }>(`${victim.api}/api/peers`)).peers.length > 0 ? since() : undefined), limit, "reconnect", 50);
      const caughtUp = await until(
        async () => {
          const [v, w] = await Promise.all([getJson<Head>(`${victim.api}/api/chain/head`), getJson<Head>(`${watcher.api}/api/chain/head`)]);
          return v.height >= w.height - 1 && v.height >= before + during ? since() : undefined;
        },
        limit,
        "catch-up",
        50,
      );
      const eligible = await until(async () => ((await getJson<Status>(`${victim.api}/api/mining/status`)).eligible ? since() : undefined), limit, "eligible again", 50);
      const pool = await backInPool(watcher, victim.ebid, (await getJson<Head>(`${watcher.api}/api/chain/head`)).height, healAt, limit);
      if (eligible - caughtUp > 5000) problems.push("eligible more than 5 s after catching up");
      const round: PartitionRound = {
        round: r,
        isolated: victim.name,
        ineligible_after_cut_ms: ineligibleAt === null ? null : ineligibleAt - cutAt,
        blocks_during_cut: during,
        reconnect_ms: reconnect,
        caught_up_ms: caughtUp,
        eligible_ms: eligible,
        eligible_after_catch_up_ms: eligible - caughtUp,
        back_in_pool_ms: pool,
        ok: problems.length === 0,
        problem: problems.length ? problems.join("; ") : null,
      };
      rounds.push(round);
      print(
        `round ${r}: ${victim.name} cut off ${f.seconds} s: ineligible after ${round.ineligible_after_cut_ms ?? "never"} ms, others produced ${during} blocks; ` +
          `after heal: reconnected ${reconnect} ms, caught up ${caughtUp} ms, eligible ${eligible} ms, back in the pool ${pool} ms` +
          (round.ok ? "" : `; FAIL: ${round.problem}`),
      );
      await settled(net, 60_000);
    }
    const o = await outcome(d, print);
    const report: PartitionReport = {
      nodes: f.nodes,
      block_time_ms: p.block_time_ms,
      cut_seconds: f.seconds,
      mode: f.mode,
      rounds,
      ...o,
      ok: o.agree && o.finality.agree && rounds.every((x) => x.ok),
    };
    print(report.ok ? "drill passed" : "drill FAILED");
    return report;
  } finally {
    await d.close();
    await mesh.close();
  }
}

/** `vision-node drill partition`. */
export function runDrillPartition(f: PartitionFlags): Promise<void> {
  return runDrill(f.json, (print) => drillPartition(f, print));
}
