/**
 * `vision-node drill failover`: the operators' 3-node failover drill (the primary of a height goes offline).
 * Starts its own local testnet, and each round SIGKILLs the primary of the next height right after
 * its parent arrives (before its slot opens), checks that the first live backup produced the
 * height after its slot opened, restarts the killed node and waits until it is eligible again.
 * At the end every node must hold the same block at every height. Exit status 1 when a check fails.
 */
import { getJson } from "../util/http.ts";
import { drillNet, outcome, runDrill, settled, until, up, type BlockJson, type DrillFlags, type DrillOutcome, type Head, type Status } from "./common.ts";

/** Flags of `drill failover`. */
export interface FailoverFlags extends DrillFlags {
  rounds: number;
}

/** One failover round. Times in ms. */
export interface FailoverRound {
  round: number;
  height: number;
  killed: string;
  producer: string;
  slot: number | null;
  first_live_backup: string;
  /** T(0): when the killed primary's slot opened */
  slot0_opens_at: number;
  /** the block's timestamp minus T(0) */
  takeover_ms: number;
  /** when this drill first saw the block on a survivor, minus T(0) (includes 25 ms polling) */
  observed_ms: number;
  /** from restarting the killed node until it was at the tip and eligible */
  rejoin_ms: number;
  ok: boolean;
  problem: string | null;
}

/** The drill's result. */
export interface FailoverReport extends DrillOutcome {
  nodes: number;
  block_time_ms: number;
  /** goal for takeover_ms: claim_timeout_ms + jitter_max_ms + 250 */
  takeover_goal_ms: number;
  rounds: FailoverRound[];
  /** rounds where the primary produced before it could be killed (repeated, not counted) */
  void_rounds: number;
  takeover_median_ms: number;
  takeover_max_ms: number;
  ok: boolean;
}

/** Runs the failover drill and returns its report. */
export async function drillFailover(f: FailoverFlags, print: (line: string) => void): Promise<FailoverReport> {
  const d = await drillNet(f, print);
  const { net, dir } = d;
  const p = d.spec.params;
  const goal = p.claim_timeout_ms + p.jitter_max_ms + 250;
  const rounds: FailoverRound[] = [];
  let voids = 0;
  try {
    net.startAll();
    print(`drill failover: ${f.nodes} nodes, block_time_ms ${p.block_time_ms}, ${f.rounds} rounds, data in ${dir}`);
    await settled(net, 60_000);
    for (let r = 1; r <= f.rounds && voids < f.rounds * 3; ) {
      const observer = net.nodes.find(up)!;
      // Catch the moment a new parent arrives: the next primary has not produced yet.
      const start = await getJson<Head>(`${observer.api}/api/chain/head`);
      const head = await until(async () => {
        const h = await getJson<Head>(`${observer.api}/api/chain/head`);
        return h.height > start.height ? h : undefined;
      }, p.block_time_ms * 10, "a new head", 20);
      const status = await getJson<Status>(`${observer.api}/api/mining/status`);
      if (status.next_height !== head.height + 1 || !status.current_winner) continue;
      const victim = net.nodes.find((n) => n.ebid === status.current_winner)!;
      await net.kill(victim, "SIGKILL");
      const survivors = net.nodes.filter(up);
      const parent = await getJson<BlockJson>(`${survivors[0]!.api}/api/blocks/${head.hash}`);
      const t0 = parent.header.timestamp + p.block_time_ms;
      const height = head.height + 1;
      const seen = await until(
        async () => {
          for (const s of survivors) {
            const b = await getJson<BlockJson>(`${s.api}/api/blocks/${height}`).catch(() => undefined);
            if (b) return { at: Date.now(), block: b };
          }
          return undefined;
        },
        p.block_time_ms + (p.backup_slots + 2) * p.claim_timeout_ms + 5_000,
        `block ${height} from a backup`,
        25,
      );
      const b = seen.block;
      if (b.header.slot === 0 && b.header.producer === victim.ebid) {
        voids++;
        print(`  (void: ${victim.name} produced ${height} before it was killed; repeating)`);
        net.start(victim);
        await settled(net, 60_000);
        continue;
      }
      const expected = status.backups[0]!;
      const problems: string[] = [];
      if (b.header.parent_hash !== head.hash) problems.push("block does not extend the parent the primary was killed on");
      if (b.header.slot !== 1 || b.header.producer !== expected) problems.push(`slot ${b.header.slot} by ${net.nameOf(b.header.producer)}, not the first live backup`);
      if (b.header.slot !== null && b.header.timestamp < t0 + b.header.slot * p.claim_timeout_ms) problems.push("timestamp before T(slot)");
      const restartAt = Date.now();
      net.start(victim);
      await settled(net, 60_000);
      const round: FailoverRound = {
        round: r,
        height,
        killed: victim.name,
        producer: net.nameOf(b.header.producer) ?? b.header.producer,
        slot: b.header.slot,
        first_live_backup: net.nameOf(expected) ?? expected,
        slot0_opens_at: t0,
        takeover_ms: b.header.timestamp - t0,
        observed_ms: seen.at - t0,
        rejoin_ms: Date.now() - restartAt,
        ok: problems.length === 0,
        problem: problems.length ? problems.join("; ") : null,
      };
      rounds.push(round);
      print(
        `round ${r}: height ${height} primary ${victim.name} killed; slot ${round.slot} by ${round.producer} ` +
          `takeover ${round.takeover_ms} ms after T(0) (seen at ${round.observed_ms} ms; goal <= ${goal}); ` +
          `${victim.name} back and eligible in ${round.rejoin_ms} ms${round.ok ? "" : `; FAIL: ${round.problem}`}`,
      );
      r++;
    }
    const takeovers = rounds.map((x) => x.takeover_ms).sort((a, b) => a - b);
    print(`takeover over ${rounds.length} rounds: median ${takeovers[Math.floor((takeovers.length - 1) / 2)]} ms, max ${takeovers[takeovers.length - 1]} ms (goal <= ${goal})`);
    const o = await outcome(d, print);
    const report: FailoverReport = {
      nodes: f.nodes,
      block_time_ms: p.block_time_ms,
      takeover_goal_ms: goal,
      rounds,
      void_rounds: voids,
      takeover_median_ms: takeovers[Math.floor((takeovers.length - 1) / 2)] ?? NaN,
      takeover_max_ms: takeovers[takeovers.length - 1] ?? NaN,
      ...o,
      ok: o.agree && o.finality.agree && rounds.length === f.rounds && rounds.every((x) => x.ok),
    };
    print(report.ok ? "drill passed" : "drill FAILED");
    return report;
  } finally {
    await d.close();
  }
}

/** `vision-node drill failover`: prints the report (or JSON) and exits 1 when a check failed. */
export function runDrillFailover(f: FailoverFlags): Promise<void> {
  return runDrill(f.json, (print) => drillFailover(f, print));
}
