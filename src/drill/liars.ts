/**
 * `vision-node drill liars`: peers that lie about their height (docs/protocol.md §6.1, §9.6). On a
 * testnet of its own it watches the first node for `--baseline-seconds` without liars, then for
 * `--seconds` while `--liars` connections report a height `--ahead` blocks above its tip; each
 * completes the signed handshake with a fresh key, sends a status every 500 ms, never serves a
 * block (half refuse every request, half never answer) and comes back with a new key every 5 s.
 * It prints, for both phases, the share of 500 ms samples in which the node was eligible, the
 * samples in `Behind`, the blocks it produced and the chain's median block interval.
 */
import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import { Domain, ebidOf, sign } from "../consensus/signatures.ts";
import { PROTOCOL_VERSION } from "../p2p/messages.ts";
import { getJson } from "../util/http.ts";
import { drillNet, outcome, runDrill, settled, sleep, until, type BlockJson, type DrillFlags, type DrillOutcome } from "./common.ts";
import type { LocalNode } from "./localnet.ts";
import { MAX_API_RANGE } from "../api/routes/blocks.ts";

/** What a liar needs to know of its target. */
export interface LiarTarget {
  /** ws://host:port of the node's P2P server */
  url: string;
  chainId: string;
  genesisHash: string;
  /** the node's EBID (the handshake signs it) */
  ebid: string;
  /** the node's tip height now (the liar claims this + `ahead`) */
  tipHeight(): number;
}

/** How the liars behave. */
export interface LiarOptions {
  /** how far above the tip they claim (default 1000) */
  ahead?: number;
  /** the odd-numbered liars never answer a request, the even ones refuse at once (default true) */
  mixSilent?: boolean;
  /** each liar drops its connection and comes back with a fresh key this often (ms; default never) */
  reconnectMs?: number;
}

/** Counters of a running band of liars. */
export interface LiarStats {
  connections: number;
  statuses: number;
  /** requests the node sent them (sync attempts toward their claims) */
  requests: number;
  /** close reasons the node gave, as received */
  closes: string[];
}

/**
 * Runs `count` liars against `target` until `stop()`: each claims `tipHeight() + ahead`, and comes
 * back with a fresh key 100 ms after its connection ends. `stop()` resolves once every socket closed.
 */
export function runLiars(target: LiarTarget, count: number, opts: LiarOptions = {}): { stats: LiarStats; stop(): Promise<void> } {
  const stats: LiarStats = { connections: 0, statuses: 0, requests: 0, closes: [] };
  let stopped = false;
  const loops = Array.from({ length: count }, async (_, i) => {
    const silent = (opts.mixSilent ?? true) && i % 2 === 1;
    while (!stopped) {
      await oneLiar(target, opts.ahead ?? 1000, silent, opts.reconnectMs, stats, () => stopped).catch(() => undefined);
      if (!stopped) await sleep(100);
    }
  });
  return {
    stats,
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

// One connection of a liar, from its hello to its close.
async function oneLiar(t: LiarTarget, ahead: number, silent: boolean, reconnectMs: number | undefined, stats: LiarStats, stopped: () => boolean): Promise<void> {
  const secretKey = new Uint8Array(randomBytes(32));
  const ebid = ebidOf(secretKey);
  const ws = new WebSocket(t.url, { perMessageDeflate: false });
  const closed = new Promise<string>((resolve) => ws.on("close", (_code, reason) => resolve(reason.toString())));
  const send = (m: object): boolean => {
    if (ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(m) + "\n");
    return true;
  };
  const nonce = randomBytes(32).toString("hex");
  const fakeTip = () => randomBytes(32).toString("hex");
  let acked = false;
  let helloSent = false;
  let theirNonce: string | undefined;
  // The ack signs both nonces, and goes after our own hello.
  const ack = () => {
    if (acked || !helloSent || theirNonce === undefined) return;
    acked = true;
    const obj = { chain_id: t.chainId, genesis_hash: t.genesisHash, ebid, peer_ebid: t.ebid, nonce, peer_nonce: theirNonce };
    send({ type: "hello_ack", sig: sign(Domain.hello, obj, secretKey) });
  };
  let buf = "";
  // Listening before "open": the node's hello may come in the same packet as the upgrade.
  ws.on("message", (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf("\n"); i !== -1; i = buf.indexOf("\n")) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let m: { type?: string; nonce?: string; id?: unknown };
      try {
        m = JSON.parse(line) as typeof m;
      } catch {
        continue;
      }
      if (m.type === "hello" && theirNonce === undefined) {
        theirNonce = m.nonce;
        ack();
      } else if (m.type === "req") {
        stats.requests++;
        if (!silent) send({ type: "res", id: m.id, ok: false, data: null, errors: ["not now"] });
      }
    }
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  ws.on("error", () => undefined);
  stats.connections++;
  send({ type: "hello", version: PROTOCOL_VERSION, chain_id: t.chainId, genesis_hash: t.genesisHash, ebid, nonce, listen_port: 0, height: t.tipHeight() + ahead, tip_hash: fakeTip() });
  helloSent = true;
  ack();
  const timer = setInterval(() => {
    if (stopped()) return ws.close();
    if (acked && send({ type: "status", height: t.tipHeight() + ahead, tip_hash: fakeTip() })) stats.statuses++;
  }, 500);
  const leave = reconnectMs === undefined ? undefined : setTimeout(() => ws.close(), reconnectMs);
  const reason = await closed;
  clearInterval(timer);
  clearTimeout(leave);
  if (reason) stats.closes.push(reason);
}

/** Flags of `drill liars`. */
export interface LiarsFlags extends DrillFlags {
  liars: number;
  /** how far above the tip the liars claim */
  ahead: number;
  /** seconds with liars */
  seconds: number;
  /** seconds watched before the liars come */
  baselineSeconds: number;
}

/** One phase of the drill, as measured on the watched node. */
export interface LiarsPhase {
  seconds: number;
  samples: number;
  /** share of samples in which the node was eligible, in percent */
  eligible_pct: number;
  behind_samples: number;
  /** the greatest network_height - local_height seen */
  worst_lag: number;
  blocks: number;
  /** blocks the watched node produced */
  produced: number;
  median_interval_ms: number;
}

/** The drill's result. */
export interface LiarsReport extends DrillOutcome {
  nodes: number;
  block_time_ms: number;
  liars: number;
  ahead: number;
  without: LiarsPhase;
  with: LiarsPhase;
  liar_connections: number;
  liar_statuses: number;
  /** sync requests the node sent the liars */
  liar_requests: number;
  ok: boolean;
}

type MiningStatus = { eligible: boolean; sync_state: string; network_height: number; local_height: number };

/** Samples the node every 500 ms for `seconds`, then reads the blocks of the window (exported for its test). */
export async function watchPhase(n: Pick<LocalNode, "api" | "ebid">, seconds: number, onTip: (h: number) => void): Promise<LiarsPhase> {
  const samples: MiningStatus[] = [];
  const first = (await getJson<MiningStatus>(`${n.api}/api/mining/status`)).local_height;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const s = await getJson<MiningStatus>(`${n.api}/api/mining/status`);
    onTip(s.local_height);
    samples.push(s);
    await sleep(500);
  }
  const last = (await getJson<MiningStatus>(`${n.api}/api/mining/status`)).local_height;
  // in pages the API serves (MAX_API_RANGE heights a request): a long phase has more blocks than one
  const blocks: BlockJson[] = [];
  for (let from = first + 1; from <= last; from += MAX_API_RANGE) {
    const limit = Math.min(MAX_API_RANGE, last - from + 1);
    blocks.push(...(await getJson<{ blocks: BlockJson[] }>(`${n.api}/api/blocks?from=${from}&limit=${limit}`)).blocks);
  }
  const gaps = blocks.slice(1).map((b, i) => b.header.timestamp - blocks[i]!.header.timestamp).sort((a, b) => a - b);
  return {
    seconds,
    samples: samples.length,
    eligible_pct: Math.round((100 * samples.filter((s) => s.eligible).length) / Math.max(1, samples.length)),
    behind_samples: samples.filter((s) => s.sync_state === "Behind").length,
    worst_lag: Math.max(0, ...samples.map((s) => s.network_height - s.local_height)),
    blocks: blocks.length,
    produced: blocks.filter((b) => b.header.producer === n.ebid).length,
    median_interval_ms: gaps.length ? gaps[Math.floor((gaps.length - 1) / 2)]! : 0,
  };
}

function line(name: string, p: LiarsPhase): string {
  return `${name}: eligible ${p.eligible_pct}% of ${p.samples} samples, Behind ${p.behind_samples}, worst lag ${p.worst_lag}; ${p.blocks} blocks, ${p.produced} by the node, median interval ${p.median_interval_ms} ms`;
}

/**
 * The least count of a binomial(n, p) that is not a three-sigma shortfall: max(0, ceil(n p - 3 sqrt(n p (1 - p)))).
 * Exported for its test.
 */
export function binomialFloor(n: number, p: number): number {
  return Math.max(0, Math.ceil(n * p - 3 * Math.sqrt(n * p * (1 - p))));
}

/** Runs the liars drill. */
export async function drillLiars(f: LiarsFlags, print: (line: string) => void): Promise<LiarsReport> {
  const d = await drillNet(f, print);
  const { net } = d;
  const p = d.spec.params;
  let liars: ReturnType<typeof runLiars> | undefined;
  try {
    net.startAll();
    const target = net.nodes[0]!;
    print(`drill liars: ${f.nodes} nodes (block_time_ms ${p.block_time_ms}); ${f.liars} liars claim tip + ${f.ahead} at ${target.name} for ${f.seconds} s; data in ${d.dir}`);
    await until(async () => ((await getJson<MiningStatus>(`${target.api}/api/mining/status`)).local_height >= 3 ? true : undefined), 120_000, "height 3", 200);
    await settled(net, 60_000);
    let tip = 0;
    const without = await watchPhase(target, f.baselineSeconds, (h) => (tip = h));
    print(line("without liars", without));
    const genesis = (await getJson<{ genesis_hash: string }>(`${target.api}/api/chain/spec`)).genesis_hash;
    liars = runLiars({ url: `ws://127.0.0.1:${target.p2pPort}`, chainId: d.spec.chain_id, genesisHash: genesis, ebid: target.ebid, tipHeight: () => tip }, f.liars, { ahead: f.ahead, reconnectMs: 5000 });
    const withLiars = await watchPhase(target, f.seconds, (h) => (tip = h));
    const stats = { ...liars.stats };
    await liars.stop();
    liars = undefined;
    print(line(`with ${f.liars} liars`, withLiars));
    print(`liars: ${stats.connections} connections (fresh keys), ${stats.statuses} statuses, ${stats.requests} sync requests from the node`);
    await settled(net, 60_000);
    const o = await outcome(d, print);
    // Generous bounds: the machine may be shared, and a slot lost to scheduling costs a sample or two.
    const intervalOk = withLiars.median_interval_ms <= Math.max(without.median_interval_ms * 1.3, p.block_time_ms * 1.5);
    // The node is each height's primary with probability 1/nodes (the seed is a RANDAO mix): its
    // count is binomial, so the floor is the mean less three standard deviations, not half the mean
    // (which a short honest run misses by chance).
    const minProduced = binomialFloor(withLiars.blocks, 1 / f.nodes);
    print(`the node produced ${withLiars.produced} of ${withLiars.blocks} blocks with liars (at least ${minProduced} expected: 1/${f.nodes} less 3 sigma)`);
    const ok =
      o.agree && o.finality.agree && withLiars.eligible_pct >= 90 && withLiars.behind_samples === 0 && intervalOk &&
      withLiars.blocks > 0 && withLiars.produced >= minProduced;
    const report: LiarsReport = {
      nodes: f.nodes, block_time_ms: p.block_time_ms, liars: f.liars, ahead: f.ahead, without, with: withLiars,
      liar_connections: stats.connections, liar_statuses: stats.statuses, liar_requests: stats.requests, ...o, ok,
    };
    print(report.ok ? "drill passed" : "drill FAILED");
    return report;
  } finally {
    await liars?.stop();
    await d.close();
  }
}

/** `vision-node drill liars`. */
export function runDrillLiars(f: LiarsFlags): Promise<void> {
  return runDrill(f.json, (print) => drillLiars(f, print));
}
