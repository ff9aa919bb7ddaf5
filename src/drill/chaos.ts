/**
 * `vision-node drill chaos --minutes M`: random faults on a local testnet whose links all run through
 * user-space proxies. Every `--every` seconds (±50%) one perturbation hits one node:
 * - `kill`: SIGKILL, restart after 1-4 s;
 * - `pause`: SIGSTOP for 2-8 s, then SIGCONT;
 * - `partition`: its links go silent (blackhole) for 5-15 s, then heal;
 * - `clock`: restart it with its clock shifted by up to ±(max_future_drift_ms / 2).
 * After each heal the drill measures the time until every node holds the same tip again (goal: a
 * few block times), and checks that the chain kept committing. At the end every node must agree at
 * every height.
 */
import { getJson } from "../util/http.ts";
import type { LocalNode } from "./localnet.ts";
import { ProxyMesh } from "./linkProxy.ts";
import { drillNet, outcome, runDrill, settled, sleep, until, up, type DrillFlags, type DrillOutcome, type Head } from "./common.ts";

/** Flags of `drill chaos`. */
export interface ChaosFlags extends DrillFlags {
  minutes: number;
  /** mean seconds between perturbations */
  every: number;
}

/** The kinds of fault. */
export type Perturbation = "kill" | "pause" | "partition" | "clock";

/** One fault and what followed. Times in ms. */
export interface ChaosEvent {
  n: number;
  kind: Perturbation;
  node: string;
  /** how long the fault lasted (until restart, SIGCONT or heal) */
  duration_ms: number;
  clock_offset_ms: number | null;
  /** height of the best node before the fault and when all converged */
  height_before: number;
  height_after: number;
  /** from the heal until every node held the same tip */
  converge_ms: number | null;
}

/** The drill's result. */
export interface ChaosReport extends DrillOutcome {
  minutes: number;
  events: ChaosEvent[];
  by_kind: Record<Perturbation, number>;
  converge_median_ms: number | null;
  converge_max_ms: number | null;
  /** faults after which the nodes did not converge within 60 s */
  not_converged: number;
  ok: boolean;
}

const rand = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

/** Runs the chaos drill. */
export async function drillChaos(f: ChaosFlags, print: (line: string) => void): Promise<ChaosReport> {
  const mesh = new ProxyMesh();
  const d = await drillNet(f, print, { peerUrl: mesh.peerUrl, extraArgs: ["--no-discovery", "--mining-workers", "1"] });
  const { net, spec } = d;
  const events: ChaosEvent[] = [];
  const byKind: Record<Perturbation, number> = { kill: 0, pause: 0, partition: 0, clock: 0 };
  const links = (n: LocalNode) => mesh.links(n);
  const best = async () => Math.max(...(await Promise.all(net.nodes.filter(up).map((n) => getJson<Head>(`${n.api}/api/chain/head`).then((h) => h.height, () => 0)))));
  try {
    await mesh.listen(net.nodes);
    net.startAll();
    print(`drill chaos: ${f.nodes} nodes, block_time_ms ${spec.params.block_time_ms}, ${f.minutes} min, a fault every ~${f.every} s, data in ${d.dir}`);
    await settled(net, 90_000);
    const end = Date.now() + f.minutes * 60_000;
    const kinds: Perturbation[] = ["kill", "pause", "partition", "clock"];
    for (let n = 1; Date.now() < end; n++) {
      await sleep(rand(f.every * 500, f.every * 1500));
      if (Date.now() >= end) break;
      const kind = kinds[(n - 1) % kinds.length]!; // rotate so every kind occurs; the node is random
      const victim = net.nodes[rand(0, net.nodes.length - 1)]!;
      const ev: ChaosEvent = { n, kind, node: victim.name, duration_ms: 0, clock_offset_ms: null, height_before: await best(), height_after: 0, converge_ms: null };
      const t0 = Date.now();
      switch (kind) {
        case "kill":
          await net.kill(victim, "SIGKILL");
          await sleep(rand(1000, 4000));
          net.start(victim);
          break;
        case "pause":
          victim.proc?.kill("SIGSTOP");
          await sleep(rand(2000, 8000));
          victim.proc?.kill("SIGCONT");
          break;
        case "partition":
          for (const l of links(victim)) l.blackhole();
          await sleep(rand(5000, 15_000));
          for (const l of links(victim)) l.heal();
          break;
        case "clock": {
          const drift = Math.floor(spec.params.max_future_drift_ms / 2);
          ev.clock_offset_ms = rand(-drift, drift);
          await net.kill(victim, "SIGTERM");
          net.start(victim, ["--clock-offset-ms", String(ev.clock_offset_ms)]);
          break;
        }
      }
      ev.duration_ms = Date.now() - t0;
      byKind[kind]++;
      const healed = Date.now();
      const converged = await until(
        async () => {
          const heads = await Promise.all(net.nodes.map((x) => getJson<Head>(`${x.api}/api/chain/head`)));
          return new Set(heads.map((h) => h.hash)).size === 1 && heads[0]!.height > ev.height_before ? heads[0]!.height : undefined;
        },
        60_000,
        "every node on one tip",
        100,
      ).catch(() => undefined);
      if (converged !== undefined) {
        ev.converge_ms = Date.now() - healed;
        ev.height_after = converged;
      } else {
        ev.height_after = await best();
      }
      events.push(ev);
      print(
        `fault ${n}: ${kind} ${victim.name} for ${ev.duration_ms} ms${ev.clock_offset_ms !== null ? ` (clock ${ev.clock_offset_ms > 0 ? "+" : ""}${ev.clock_offset_ms} ms)` : ""}; ` +
          (ev.converge_ms !== null ? `all on one tip at height ${ev.height_after} ${ev.converge_ms} ms after the heal` : `NOT converged within 60 s (best height ${ev.height_after})`),
      );
    }
    await settled(net, 90_000).catch(() => undefined);
    const o = await outcome(d, print);
    const conv = events.map((e) => e.converge_ms).filter((x): x is number => x !== null).sort((a, b) => a - b);
    const notConverged = events.filter((e) => e.converge_ms === null).length;
    const report: ChaosReport = {
      ...o, minutes: f.minutes, events, by_kind: byKind,
      converge_median_ms: conv.length ? conv[Math.floor((conv.length - 1) / 2)]! : null,
      converge_max_ms: conv.length ? conv[conv.length - 1]! : null,
      not_converged: notConverged,
      ok: o.agree && o.finality.agree && notConverged === 0 && events.length > 0,
    };
    print(
      `chaos ${f.minutes} min: ${events.length} faults (${Object.entries(byKind).map(([k, v]) => `${k} ${v}`).join(", ")}); converged after every heal: ` +
        `${notConverged === 0 ? "yes" : `NO (${notConverged} not)`}, median ${report.converge_median_ms} ms, max ${report.converge_max_ms} ms: ${report.ok ? "OK" : "FAILED"}`,
    );
    return report;
  } finally {
    await d.close(); // nodes first, then their links, as the partition drill does
    await mesh.close();
  }
}

/** CLI entry: prints the report; exit status 1 when a check failed. */
export function runDrillChaos(f: ChaosFlags): Promise<void> {
  return runDrill(f.json, (print) => drillChaos(f, print));
}
