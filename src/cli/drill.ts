/**
 * `vision-node drill failover`: the operators' 3-node failover drill (seed 001, "Winner Offline").
 * Starts its own local testnet, and each round SIGKILLs the primary of the next height right after
 * its parent arrives (before its slot opens), checks that the first live backup produced the
 * height after its slot opened, restarts the killed node and waits until it is eligible again.
 * At the end every node must hold the same block at every height. Exit status 1 when a check fails.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { testnetInit } from "./testnet.ts";
import { LocalNet, getJson, type LocalNode } from "./localnet.ts";
import { freePortRange } from "./ports.ts";
import type { ChainSpec } from "../chain/spec.ts";

/** Flags of `drill failover`. */
export interface FailoverFlags {
  nodes: number;
  rounds: number;
  blockTimeMs: number;
  dir?: string;
  json: boolean;
  keep: boolean;
  logLevel: string;
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
export interface FailoverReport {
  nodes: number;
  block_time_ms: number;
  /** goal for takeover_ms: claim_timeout_ms + jitter_max_ms + 250 */
  takeover_goal_ms: number;
  rounds: FailoverRound[];
  /** rounds where the primary produced before it could be killed (repeated, not counted) */
  void_rounds: number;
  takeover_median_ms: number;
  takeover_max_ms: number;
  /** "Chain reorg" lines across all node logs */
  reorgs: number;
  agree_heights: number;
  agree: boolean;
  ok: boolean;
}

type Head = { height: number; hash: string };
type Status = { next_height: number; current_winner: string | null; backups: string[]; eligible: boolean; local_height: number };
type BlockJson = { hash: string; header: { height: number; parent_hash: string; timestamp: number; producer: string; slot: number | null } };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(fn: () => Promise<T | undefined>, ms: number, what: string, stepMs = 50): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

const up = (n: LocalNode) => n.proc !== undefined && n.proc.exitCode === null && n.proc.signalCode === null;

/** Waits until every running node is eligible and all hold the same tip. */
async function settled(net: LocalNet, ms: number): Promise<void> {
  await until(
    async () => {
      const live = net.nodes.filter(up);
      const st = await Promise.all(live.map((n) => getJson<Status>(`${n.api}/api/mining/status`)));
      const heads = await Promise.all(live.map((n) => getJson<Head>(`${n.api}/api/chain/head`)));
      return st.every((s) => s.eligible) && new Set(heads.map((h) => h.hash)).size === 1 ? true : undefined;
    },
    ms,
    "every node eligible at one tip",
    200,
  );
}

/** Compares every node's canonical hashes at heights 1..min tip. */
export async function checkAgreement(net: LocalNet): Promise<{ heights: number; agree: boolean; firstMismatch: number | null }> {
  const heads = await Promise.all(net.nodes.map((n) => getJson<Head>(`${n.api}/api/chain/head`)));
  const top = Math.min(...heads.map((h) => h.height));
  for (let from = 1; from <= top; from += 100) {
    const to = Math.min(top, from + 99);
    const ranges = await Promise.all(net.nodes.map(async (n) => (await getJson<{ blocks: BlockJson[] }>(`${n.api}/api/blocks?from=${from}&to=${to}`)).blocks));
    for (let i = 0; i <= to - from; i++) {
      if (new Set(ranges.map((r) => r[i]?.hash)).size !== 1) return { heights: top, agree: false, firstMismatch: from + i };
    }
  }
  return { heights: top, agree: true, firstMismatch: null };
}

/** Runs the failover drill and returns its report. */
export async function drillFailover(f: FailoverFlags, print: (line: string) => void): Promise<FailoverReport> {
  const dir = f.dir ? resolve(f.dir) : mkdtempSync(join(tmpdir(), "vision-drill-"));
  const p2p = await freePortRange(f.nodes);
  const api = await freePortRange(f.nodes);
  testnetInit({ nodes: f.nodes, dir, blockTimeMs: f.blockTimeMs, baseP2pPort: p2p, baseApiPort: api });
  const spec = JSON.parse(readFileSync(join(dir, "chain.json"), "utf8")) as ChainSpec;
  const p = spec.params;
  const net = new LocalNet(dir, { logLevel: f.logLevel, onUnexpectedExit: (n, code, sig) => print(`! ${n.name} exited unexpectedly (${code ?? sig})`) });
  const goal = p.claim_timeout_ms + p.jitter_max_ms + 250;
  const rounds: FailoverRound[] = [];
  let voids = 0;
  process.once("exit", () => net.killAllNow());
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
    const agreement = await checkAgreement(net);
    const reorgs = net.nodes.map((n) => (readFileSync(join(n.dataDir, "node.log"), "utf8").match(/"msg":"Chain reorg"/g) ?? []).length).reduce((a, b) => a + b, 0);
    const takeovers = rounds.map((x) => x.takeover_ms).sort((a, b) => a - b);
    const report: FailoverReport = {
      nodes: f.nodes,
      block_time_ms: p.block_time_ms,
      takeover_goal_ms: goal,
      rounds,
      void_rounds: voids,
      takeover_median_ms: takeovers[Math.floor((takeovers.length - 1) / 2)] ?? NaN,
      takeover_max_ms: takeovers[takeovers.length - 1] ?? NaN,
      reorgs,
      agree_heights: agreement.heights,
      agree: agreement.agree,
      ok: agreement.agree && rounds.length === f.rounds && rounds.every((x) => x.ok),
    };
    print(
      `takeover over ${rounds.length} rounds: median ${report.takeover_median_ms} ms, max ${report.takeover_max_ms} ms (goal <= ${goal}); ` +
        `reorgs seen ${reorgs}; all ${f.nodes} nodes agree at heights 1..${agreement.heights}: ${agreement.agree ? "yes" : `NO (first mismatch at ${agreement.firstMismatch})`}`,
    );
    print(report.ok ? "drill passed" : "drill FAILED");
    return report;
  } finally {
    await net.stopAll();
    if (!f.dir && !f.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** `vision-node drill failover`: prints the report (or JSON) and exits 1 when a check failed. */
export async function runDrillFailover(f: FailoverFlags): Promise<void> {
  const report = await drillFailover(f, f.json ? () => undefined : (l) => process.stdout.write(l + "\n"));
  if (f.json) process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  process.exitCode = report.ok ? 0 : 1;
}
