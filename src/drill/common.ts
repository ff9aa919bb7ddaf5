/**
 * Shared parts of the drills: polling helpers over the node API and the agreement check.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { LocalNet, type LocalNetOptions, type LocalNode } from "./localnet.ts";
import { getJson, getJsonRetry } from "../util/http.ts";
import { testnetInit, type TestnetInitFlags } from "./testnetInit.ts";
import { freePortRange } from "./ports.ts";
import type { ChainSpec } from "../chain/spec.ts";
import { FinalityWatch, finalityLine, type Checkpoint, type FinalitySummary } from "./finalityWatch.ts";

export { FinalityWatch, finalityLine, type Checkpoint, type FinalitySummary };

/** `/api/chain/head`, the fields drills read. */
export type Head = { height: number; hash: string; finalized?: Checkpoint; justified?: Checkpoint };
/** `/api/mining/status`, the fields drills read. */
export type Status = { next_height: number; current_winner: string | null; backups: string[]; eligible: boolean; local_height: number };
/** A block as the API returns it, the fields drills read. */
export type BlockJson = { hash: string; header: { height: number; parent_hash: string; timestamp: number; producer: string; slot: number | null } };

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every `stepMs` until it returns a value. @throws after `ms` */
export async function until<T>(fn: () => Promise<T | undefined>, ms: number, what: string, stepMs = 50): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

/** True while the node's process runs. */
export const up = (n: LocalNode) => n.proc !== undefined && n.proc.exitCode === null && n.proc.signalCode === null;

/** Waits until every running node is eligible and all hold the same tip. */
export async function settled(net: LocalNet, ms: number): Promise<void> {
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

/**
 * A drill's end-of-run reads: five tries of 10 s each. A run's report hangs on them, and a node of a
 * loaded machine (32 processes on 2 cores) may miss a 2 s timeout more than once.
 */
export const FINAL_READ = { tries: 5, timeoutMs: 10_000 };

/** Compares every node's canonical hashes at heights 1..min tip. */
export async function checkAgreement(net: LocalNet): Promise<{ heights: number; agree: boolean; firstMismatch: number | null }> {
  const heads = await Promise.all(net.nodes.map((n) => getJsonRetry<Head>(`${n.api}/api/chain/head`, FINAL_READ)));
  const top = Math.min(...heads.map((h) => h.height));
  for (let from = 1; from <= top; from += 100) {
    const to = Math.min(top, from + 99);
    const ranges = await Promise.all(net.nodes.map(async (n) => (await getJsonRetry<{ blocks: BlockJson[] }>(`${n.api}/api/blocks?from=${from}&limit=${to - from + 1}`, FINAL_READ)).blocks));
    for (let i = 0; i <= to - from; i++) {
      if (new Set(ranges.map((r) => r[i]?.hash)).size !== 1) return { heights: top, agree: false, firstMismatch: from + i };
    }
  }
  return { heights: top, agree: true, firstMismatch: null };
}


/** Counts "Chain reorg" log lines across the nodes' logs. */
export function countReorgs(net: LocalNet): number {
  return net.nodes.map((n) => (readFileSync(join(n.dataDir, "node.log"), "utf8").match(/"msg":"Chain reorg"/g) ?? []).length).reduce((a, b) => a + b, 0);
}

/** Flags every drill takes. */
export interface DrillFlags {
  nodes: number;
  blockTimeMs: number;
  /** further chain params */
  param?: Record<string, number>;
  /** testnet directory (default: a temp dir, removed afterwards unless `keep`) */
  dir?: string;
  keep: boolean;
  json: boolean;
  logLevel: string;
}

/** A drill's own testnet, initialised on free ports. */
export interface DrillNet {
  dir: string;
  spec: ChainSpec;
  net: LocalNet;
  /** samples every running node's head and finalized checkpoint each second from creation on */
  finality: FinalityWatch;
  /** stops every node and removes a temp dir */
  close(): Promise<void>;
}

/**
 * Initialises a testnet for a drill (free ports, `testnet init`) and builds its LocalNet; nodes are
 * not started yet. Extra LocalNet options route links through proxies and the like.
 */
export async function drillNet(
  f: DrillFlags,
  print: (line: string) => void,
  extra: Partial<LocalNetOptions> = {},
  init: Pick<TestnetInitFlags, "consensus" | "emptyPool"> = {},
): Promise<DrillNet> {
  const dir = f.dir ? resolve(f.dir) : mkdtempSync(join(tmpdir(), "vision-drill-"));
  const p2p = await freePortRange(f.nodes);
  const api = await freePortRange(f.nodes);
  testnetInit({ nodes: f.nodes, dir, blockTimeMs: f.blockTimeMs, param: f.param, baseP2pPort: p2p, baseApiPort: api, ...init });
  const spec = JSON.parse(readFileSync(join(dir, "chain.json"), "utf8")) as ChainSpec;
  const net = new LocalNet(dir, {
    logLevel: f.logLevel,
    onUnexpectedExit: (n, code, sig) => print(`! ${n.name} exited unexpectedly (${code ?? sig}); its log ends:\n  ${logTail(n.dataDir, 8).join("\n  ")}`),
    ...extra,
  });
  process.once("exit", () => net.killAllNow());
  const finality = new FinalityWatch();
  finality.start(() => net.nodes.filter(up));
  return {
    dir,
    spec,
    net,
    finality,
    async close() {
      await finality.stop();
      await net.stopAll();
      if (!f.dir && !f.keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The last `lines` lines of a node's node.log (stdout and stderr of its process), [] when unreadable. */
function logTail(dataDir: string, lines: number): string[] {
  try {
    return readFileSync(join(dataDir, "node.log"), "utf8").trimEnd().split("\n").slice(-lines).map((l) => l.slice(0, 400));
  } catch {
    return [];
  }
}

/** Prints a drill's report (or JSON) and sets exit status 1 when a check failed. */
export async function runDrill<R extends { ok: boolean }>(json: boolean, drill: (print: (line: string) => void) => Promise<R>): Promise<void> {
  // With --json the report alone goes to stdout; the progress lines go to stderr, so a long run
  // still shows where it is.
  const report = await drill((l) => (json ? process.stderr : process.stdout).write(l + "\n"));
  if (json) process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  process.exitCode = report.ok ? 0 : 1;
}

/** Blocks that lost fork choice, seen across every node, and how long they lasted. */
export interface ForkSummary {
  /** distinct orphaned blocks */
  forks: number;
  /** longest time any node held one of them before it was orphaned (ms) */
  longest_ms: number;
  /** how many some node held longer than `outlivedMs` (one block time, when given) */
  outlived: number;
}

/** Collects `/api/blocks/forks` from every node over heights 1..`to`. */
export async function forkSummary(net: LocalNet, to: number, outlivedMs = Infinity): Promise<ForkSummary> {
  const lasted = new Map<string, number>();
  for (const n of net.nodes.filter(up)) {
    for (let from = 1; from <= to; from += 200) {
      const r = await getJsonRetry<{ forks: { hash: string; seen_at: number | null; orphaned_at: number | null }[] }>(
        `${n.api}/api/blocks/forks?from=${from}&limit=${Math.min(to, from + 199) - from + 1}`,
        FINAL_READ,
      );
      for (const f of r.forks) {
        const ms = f.seen_at !== null && f.orphaned_at !== null ? f.orphaned_at - f.seen_at : 0;
        lasted.set(f.hash, Math.max(lasted.get(f.hash) ?? 0, ms));
      }
    }
  }
  return { forks: lasted.size, longest_ms: Math.max(0, ...lasted.values()), outlived: [...lasted.values()].filter((ms) => ms > outlivedMs).length };
}

/** What every drill report ends with. */
export interface DrillOutcome {
  /** "Chain reorg" lines across all node logs */
  reorgs: number;
  /** blocks that lost fork choice across all nodes, and the longest any node held one */
  forks: ForkSummary;
  agree_heights: number;
  agree: boolean;
  /** finality lag and finalized agreement over the whole drill; a drill fails unless `finality.agree` */
  finality: FinalitySummary;
}

/**
 * Checks agreement, counts reorgs and forks, stops the finality watch (one last sample first) and
 * prints the closing lines.
 */
export async function outcome(d: Pick<DrillNet, "net" | "finality">, print: (line: string) => void): Promise<DrillOutcome> {
  const { net } = d;
  const agreement = await checkAgreement(net);
  await d.finality.sample(net.nodes.filter(up));
  const o: DrillOutcome = {
    reorgs: countReorgs(net),
    forks: await forkSummary(net, agreement.heights + 1),
    agree_heights: agreement.heights,
    agree: agreement.agree,
    finality: await d.finality.stop(),
  };
  print(
    `reorgs seen ${o.reorgs}, forks ${o.forks.forks} (longest held ${o.forks.longest_ms} ms); all ${net.nodes.length} nodes agree at heights 1..${o.agree_heights}: ` +
      (o.agree ? "yes" : `NO (first mismatch at ${agreement.firstMismatch})`),
  );
  print(finalityLine(o.finality));
  return o;
}

/**
 * Waits until a block from height `from` on (as `watcher` sees them) was produced by `ebid` or
 * carries its attestation: the node is back in the pool (docs/protocol.md §5).
 * @returns ms since `t0`
 */
export async function backInPool(watcher: LocalNode, ebid: string, from: number, t0: number, ms: number): Promise<number> {
  let checked = from;
  return until(
    async () => {
      const top = (await getJson<Head>(`${watcher.api}/api/chain/head`)).height;
      for (; checked <= top; checked++) {
        const b = await getJson<{ attestations: { ebid: string }[]; header: { producer: string } }>(`${watcher.api}/api/blocks/${checked}`);
        if (b.header.producer === ebid || b.attestations.some((a) => a.ebid === ebid)) return Date.now() - t0;
      }
      return undefined;
    },
    ms,
    "an attestation of the node in a block",
    100,
  );
}
