/**
 * `vision-node drill network --nodes N [--minutes M]`: N real node processes on N real addresses,
 * joining through two bootnodes, for M minutes, then a report of agreement, block propagation (from
 * every node's `seen_at`), forks, finality lag, resident memory and event-loop delay per node.
 *
 * Addresses (`--isolation`):
 * - `netns` (root, Linux): each node in its own network namespace with its own IP `10.X.0.(i+2)` on
 *   a Linux bridge the drill creates and removes (drill/netns.ts);
 * - `loopback` (no root): node i on `127.0.0.(i+2)`, its dials leaving from that address
 *   (`--p2p-dial-from`);
 * - `auto` (default): `netns` when it works here, else `loopback`; the report says which and why.
 *
 * Link delay without netem: node i's advertised address (`--p2p-advertise`) is not the node itself
 * but a user-space link proxy (drill/linkProxy.ts) standing for it at `10.X.1.(i+2)` (netns) or
 * `127.0.1.(i+2)` (loopback), same port. Every connection to node i, whoever dials it, goes
 * through that proxy, which knows the dialler by its source address and holds each direction for
 * the pair's one-way delay: half the round trip between their regions in the simulator's table
 * (sim/network.ts DEFAULT_REGIONS; node i sits in region i mod 6). Its upstream connection leaves
 * from the dialler's own proxy address, so node i sees (and infers the listen address of) each peer
 * at the peer's proxy: addresses learned through peer exchange lead through proxies too, and every
 * link between two nodes carries its delay exactly once (a round trip of the table's figure).
 *
 * Joining: the chain spec's `bootnodes` are the proxies of nodes 1 and 2; no node gets `--peers`,
 * so the rest of the topology comes from peer exchange (docs/protocol.md §9.4), not a full mesh.
 *
 * Clean-up: nodes, proxies, namespaces and the bridge are removed when the drill ends, fails or is
 * interrupted (Ctrl-C: the drill stops sampling and reports what it has; a second Ctrl-C removes
 * everything and exits at once); a drill killed outright leaves them to the next run, which
 * removes the leftovers of runs no longer alive before it starts.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createServer } from "node:net";
import { availableParallelism, getPriority, loadavg, setPriority } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { getJson, getJsonRetry } from "../util/http.ts";
import { DEFAULT_REGIONS, type RegionTable } from "../sim/network.ts";
import { LinkProxy } from "./linkProxy.ts";
import { cleanupLeftovers, netnsAvailable, NetnsNetwork } from "./netns.ts";
import { drillNet, FINAL_READ, forkSummary, outcome, runDrill, settled, sleep, until, up, type BlockJson, type DrillFlags, type DrillOutcome, type Head } from "./common.ts";
import { percentile } from "./finalityWatch.ts";
import type { LocalNode } from "./localnet.ts";

/** Flags of `drill network`. */
export interface NetworkFlags extends DrillFlags {
  /** how long the network runs once settled (minutes) */
  minutes: number;
  /** overrides `minutes` when given: the run in seconds (short runs, tests) */
  seconds?: number;
  /** where the nodes' addresses come from; `auto` tries `netns`, else `loopback` */
  isolation: "auto" | "netns" | "loopback";
  /** `regions`: link delays of the region table; `none`: the proxies forward at once */
  latency: "regions" | "none";
  /** seconds between samples of /metrics (resident memory, event-loop delay, peers) */
  sampleSeconds?: number;
  /** each node's `--p2p-max-peers` (default: the node's own, 50): below N - 1, a partial mesh */
  maxPeers?: number;
}

/** Quantiles over blocks, in ms. */
export interface Quantiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/**
 * Block propagation measured from `seen_at`: for each block of the run, the time from its first
 * `seen_at` (its producer storing it) until 50%, 95% and 100% of the nodes had stored it; then
 * quantiles of each over the blocks. Every node runs on this machine's clock.
 */
export interface Propagation {
  blocks: number;
  to_50pct_ms: Quantiles;
  to_95pct_ms: Quantiles;
  to_100pct_ms: Quantiles;
}

/** One node's figures. Memory in MiB, delays in ms. */
export interface NetworkNode {
  name: string;
  /** its own address */
  ip: string;
  /** what it advertises: its proxy */
  advertised: string;
  region: string;
  /** ready peers at the end, and how many it dialled itself */
  peers: number;
  outbound: number;
  /** of its peers, those it reaches (or is reached by) at a proxy address: every link should be delayed */
  via_proxy: number;
  /** canonical blocks of the run it produced */
  produced: number;
  rss_mib_last: number | null;
  rss_mib_max: number | null;
  /**
   * the largest event-loop delay p99 of any sample window (prom-client's
   * nodejs_eventloop_lag_p99_seconds, reset at each scrape): an upper bound of the p99 over the whole run
   */
  eventloop_p99_ms_max: number | null;
  eventloop_p99_ms_median: number | null;
  /** the largest single event-loop delay seen */
  eventloop_max_ms: number | null;
  /**
   * the event-loop delay over the whole sampled run, from the node's vision_eventloop_delay_seconds
   * histogram (a probe timer every 20 ms): the bucket bound its p99 is at or below (ms; null when
   * above the last bound, 5 s), and the share of probes later than the goal (%). Null when the
   * node does not export the histogram.
   */
  eventloop_run: { p99_le_ms: number | null; over_goal_pct: number; probes: number } | null;
  /** CPU time it used over the sampled run, as a percentage of one core */
  cpu_pct: number | null;
}

/** The drill's result. */
export interface NetworkReport extends DrillOutcome {
  nodes: number;
  isolation: "netns" | "loopback";
  /** why that isolation (e.g. "not root") */
  isolation_reason: string;
  /** netns: the bridge and the nodes' namespaces the drill made (all removed when it ends); loopback: null and [] */
  bridge: string | null;
  namespaces: string[];
  /** leftovers of earlier runs removed before this one started, in words */
  leftovers_removed: string[];
  latency: "regions" | "none";
  block_time_ms: number;
  /** seconds the network ran after it settled (less than asked when interrupted) */
  seconds: number;
  /** ms from starting the processes until every node was eligible at one tip */
  settle_ms: number;
  bootnodes: string[];
  /** canonical blocks produced during the run */
  blocks: number;
  propagation: Propagation;
  /** ready peers per node at the end */
  peers: { min: number; median: number; max: number };
  /** orphaned blocks some node held longer than one block time (goal 0) */
  forks_outliving_one_block: number;
  /** the worst node's eventloop_p99_ms_max: the largest p99 of any one sample window */
  eventloop_p99_ms_max: number | null;
  /**
   * the worst node's p99 over the whole run (its eventloop_run.p99_le_ms, a bucket bound; goal <= 100),
   * and the worst share of probes later than 100 ms (%)
   */
  eventloop_run_p99_le_ms_max: number | null;
  eventloop_run_over_goal_pct_max: number | null;
  rss_mib: { median: number | null; max: number | null };
  per_node: NetworkNode[];
  /**
   * the host while the network ran: CPUs, and the 1-minute load average at the start and the end
   * of the run (the nodes' event-loop delay includes time they waited for a CPU)
   */
  host: { cpus: number; load_1m_start: number; load_1m_end: number; nodes_cpu_pct_total: number };
  /**
   * event-loop delay of the drill's own process, where every link proxy runs (ms; a late proxy
   * delays links beyond the table). As root the drill raises its own scheduling priority (nice -10)
   * so the links are not starved by the nodes; `proxies_nice` is the niceness it ran at.
   */
  proxies_nice: number;
  proxies_eventloop_p99_ms: number;
  proxies_eventloop_max_ms: number;
  /** Ctrl-C ended the run early: the report covers what ran, and ok is false */
  interrupted: boolean;
  problems: string[];
  ok: boolean;
}

/** The event-loop delay goal (ms): p99 at most this on every node. */
export const EVENTLOOP_P99_GOAL_MS = 100;

/** Addresses, ports and namespaces of one run. */
interface Plan {
  isolation: "netns" | "loopback";
  reason: string;
  nodeIp(i: number): string;
  proxyIp(i: number): string;
  p2pPort: number;
  apiPort: number;
  wrap?: (i: number) => string[];
  bridge: string | null;
  namespaces: string[];
  leftovers: string[];
  teardown(): void;
}

/** Whether `port` can be bound on each of `hosts` now. */
async function bindable(port: number, hosts: readonly string[]): Promise<boolean> {
  for (const host of hosts) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer().once("error", () => resolve(false));
      s.listen(port, host, () => s.close(() => resolve(true)));
    });
    if (!ok) return false;
  }
  return true;
}

/** `preferred` when bindable on every host, else a random port that is. @throws after 50 tries */
async function commonPort(hosts: readonly string[], preferred?: number, avoid?: number): Promise<number> {
  if (preferred !== undefined && (await bindable(preferred, hosts))) return preferred;
  for (let i = 0; i < 50; i++) {
    const p = 10_000 + Math.floor(Math.random() * 22_000); // below the ephemeral range (drill/ports.ts)
    if (p !== avoid && (await bindable(p, hosts))) return p;
  }
  throw new Error(`no port free on all of ${hosts.length} addresses`);
}

/** Chooses the isolation and lays out addresses and ports (building the namespaces in netns mode). */
async function plan(f: NetworkFlags, print: (line: string) => void): Promise<Plan> {
  const n = f.nodes;
  let reason = "asked for (--isolation loopback)";
  if (f.isolation !== "loopback") {
    const avail = netnsAvailable();
    if (avail.ok) {
      const leftovers = cleanupLeftovers();
      for (const what of leftovers) print(`removed a leftover of an earlier run: ${what}`);
      const ns = new NetnsNetwork(n);
      try {
        const proxies = Array.from({ length: n }, (_, i) => ns.proxyIp(i));
        const p2pPort = await commonPort(proxies, 7072);
        return {
          isolation: "netns",
          reason: f.isolation === "netns" ? "asked for (--isolation netns)" : avail.reason,
          nodeIp: (i) => ns.nodeIp(i),
          proxyIp: (i) => ns.proxyIp(i),
          p2pPort,
          apiPort: p2pPort === 8080 ? 8081 : 8080,
          wrap: (i) => ns.exec(i),
          bridge: ns.bridge,
          namespaces: Array.from({ length: n }, (_, i) => ns.namespace(i)),
          leftovers,
          teardown: () => ns.teardown(),
        };
      } catch (e) {
        ns.teardown();
        throw e;
      }
    }
    if (f.isolation === "netns") throw new Error(`--isolation netns: ${avail.reason}`);
    reason = `${avail.reason}: falling back to 127.0.0.x addresses`;
  }
  const nodeIp = (i: number) => `127.0.0.${i + 2}`;
  const proxyIp = (i: number) => `127.0.1.${i + 2}`;
  const ips = Array.from({ length: n }, (_, i) => nodeIp(i));
  const p2pPort = await commonPort([...ips, ...Array.from({ length: n }, (_, i) => proxyIp(i))]);
  const apiPort = await commonPort(ips, undefined, p2pPort);
  return { isolation: "loopback", reason, nodeIp, proxyIp, p2pPort, apiPort, bridge: null, namespaces: [], leftovers: [], teardown: () => undefined };
}

/** Region of node i (round robin over the table). */
export const regionOf = (i: number, table: RegionTable = DEFAULT_REGIONS): number => i % table.regions.length;

/** One-way delay (ms) between nodes i and j: half their regions' round trip. */
export function oneWayMs(i: number, j: number, table: RegionTable = DEFAULT_REGIONS): number {
  return table.rttMs[regionOf(i, table)]![regionOf(j, table)]! / 2;
}

/** Summarises propagation from the `seen_at` of every node's canonical blocks (`seen[node][k]` for block k). */
export function propagation(seen: readonly (readonly (number | null)[])[]): Propagation {
  const blocks = seen[0]?.length ?? 0;
  const to = { 50: [] as number[], 95: [] as number[], 100: [] as number[] };
  for (let k = 0; k < blocks; k++) {
    const times = seen.map((s) => s[k]).filter((t): t is number => typeof t === "number");
    if (times.length < seen.length) continue; // a node holds the block without a seen_at (checkpoint start): not measured
    times.sort((a, b) => a - b);
    const first = times[0]!;
    const at = (share: number) => times[Math.max(0, Math.ceil(share * times.length) - 1)]! - first;
    to[50].push(at(0.5));
    to[95].push(at(0.95));
    to[100].push(at(1));
  }
  const q = (xs: number[]): Quantiles => ({ p50: percentile(xs, 50), p95: percentile(xs, 95), p99: percentile(xs, 99) });
  return { blocks: to[50].length, to_50pct_ms: q(to[50]), to_95pct_ms: q(to[95]), to_100pct_ms: q(to[100]) };
}

/** The figures one /metrics scrape gives. */
interface Scrape {
  rssBytes?: number;
  lagP99s?: number;
  lagMaxS?: number;
  peers?: number;
  /** process_cpu_seconds_total */
  cpuS?: number;
  /** vision_eventloop_delay_seconds: cumulative counts by upper bound (s), +Inf as Infinity */
  loopBuckets?: Map<number, number>;
}

/** Reads the values the drill uses from a Prometheus text exposition. */
export function parseScrape(text: string): Scrape {
  const get = (name: string) => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+|NaN)$`, "m").exec(text);
    const v = m ? Number(m[1]) : NaN;
    return Number.isFinite(v) ? v : undefined;
  };
  const loopBuckets = new Map<number, number>();
  for (const m of text.matchAll(/^vision_eventloop_delay_seconds_bucket\{le="([^"]+)"\} ([0-9.eE+-]+)$/gm)) loopBuckets.set(m[1] === "+Inf" ? Infinity : Number(m[1]), Number(m[2]));
  return {
    rssBytes: get("process_resident_memory_bytes"),
    lagP99s: get("nodejs_eventloop_lag_p99_seconds"),
    lagMaxS: get("nodejs_eventloop_lag_max_seconds"),
    peers: get("vision_peers"),
    cpuS: get("process_cpu_seconds_total"),
    loopBuckets: loopBuckets.size ? loopBuckets : undefined,
  };
}

/**
 * The event-loop delay between two readings of `vision_eventloop_delay_seconds`: the share of probes
 * later than `goalMs` (%; at most: a goal between two bucket bounds is taken at the lower one), and the least bucket bound the p99 is at or below (ms; Infinity past the
 * last bound). Null without both readings or without probes between them.
 */
export function loopDelayBetween(a: Map<number, number> | undefined, b: Map<number, number> | undefined, goalMs: number): { p99BoundMs: number; overGoalPct: number; probes: number } | null {
  if (!a || !b) return null;
  const bounds = [...b.keys()].sort((x, y) => x - y);
  const delta = (le: number) => (b.get(le) ?? 0) - (a.get(le) ?? 0);
  const total = delta(Infinity);
  if (!(total > 0)) return null;
  const p99 = bounds.find((le) => delta(le) >= 0.99 * total) ?? Infinity;
  // probes within the goal: those up to the largest bucket bound at or below it (a goal between two
  // bounds counts the probes between them as over it)
  const within = bounds.filter((le) => le <= goalMs / 1000).at(-1);
  const goal = within === undefined ? 0 : delta(within);
  return { p99BoundMs: p99 === Infinity ? Infinity : Math.round(p99 * 1e6) / 1e3, overGoalPct: Math.round(((total - goal) / total) * 10_000) / 100, probes: total };
}

async function scrape(n: LocalNode): Promise<Scrape | undefined> {
  try {
    const r = await fetch(`${n.api}/metrics`, { signal: AbortSignal.timeout(5000) });
    return r.ok ? parseScrape(await r.text()) : undefined;
  } catch {
    return undefined;
  }
}

/** A node's eventloop_run as a column: `<= 50 (0.12)`. */
function runText(r: NetworkNode["eventloop_run"]): string {
  return r ? `${r.p99_le_ms === null ? "> 5000" : `<= ${r.p99_le_ms}`} (${r.over_goal_pct})` : "-";
}

/** CPU use between two readings of process_cpu_seconds_total, in % of one core (null without both). */
function cpuPct(a: { cpu?: number; at: number }, b: { cpu: number; at: number } | undefined): number | null {
  if (a.cpu === undefined || !b || b.at <= a.at) return null;
  return Math.round(((b.cpu - a.cpu) * 1000 * 1000) / (b.at - a.at)) / 10;
}

/** The host of an inbound peer's remote address (an IP) or an outbound peer's (the URL dialled). */
function hostOf(addr: string): string {
  try {
    return new URL(addr).hostname.replace(/^\[(.*)\]$/, "$1");
  } catch {
    return addr.replace(/^::ffff:/, "");
  }
}

const mib = (b: number | undefined) => (b === undefined ? null : Math.round((b / 1048576) * 10) / 10);
const ms = (s: number | undefined) => (s === undefined ? null : Math.round(s * 10000) / 10);
const fmt = (x: number | null, digits = 0) => (x === null ? "-" : x.toFixed(digits));

/**
 * Waits until every node is eligible and their heads are at most one block apart (a poll of many
 * loaded nodes takes longer than a block, so "one tip at one instant" is too strict at 32 nodes),
 * printing progress every 30 s. @returns the lowest head height then. @throws after `ms`
 */
async function joined(net: { nodes: LocalNode[] }, ms: number, print: (line: string) => void): Promise<number> {
  const t0 = Date.now();
  let lastPrint = t0;
  return until(
    async () => {
      const live = net.nodes.filter(up);
      const st = await Promise.all(live.map((n) => getJson<{ eligible: boolean; local_height: number }>(`${n.api}/api/mining/status`).catch(() => undefined)));
      const heights = st.map((s) => s?.local_height ?? -1);
      const eligible = st.filter((s) => s?.eligible).length;
      if (Date.now() - lastPrint >= 30_000) {
        lastPrint = Date.now();
        print(`joining, ${Math.round((Date.now() - t0) / 1000)} s: ${eligible}/${live.length} eligible, heights ${Math.min(...heights)}..${Math.max(...heights)}`);
      }
      return live.length === net.nodes.length && eligible === live.length && Math.max(...heights) - Math.min(...heights) <= 1 ? Math.min(...heights) : undefined;
    },
    ms,
    "every node eligible, heads at most one block apart",
    500,
  );
}

/** Runs the network drill. */
export async function drillNetwork(f: NetworkFlags, print: (line: string) => void): Promise<NetworkReport> {
  const runSeconds = f.seconds ?? f.minutes * 60;
  const p = await plan(f, print);
  const exitTeardown = () => p.teardown();
  process.once("exit", exitTeardown);
  let interrupted = false;
  let signals = 0;
  const onSignal = () => {
    signals++;
    interrupted = true;
    if (signals === 1) print("interrupted: stopping after this sample (Ctrl-C again to stop at once)");
    else process.exit(130); // the exit handlers kill the nodes and remove the namespaces
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const proxies: LinkProxy[] = [];
  const layoutPorts = { p2p: p.p2pPort, api: p.apiPort };
  let d: Awaited<ReturnType<typeof drillNet>> | undefined;
  try {
    const byIp = new Map<string, number>();
    for (let i = 0; i < f.nodes; i++) byIp.set(p.nodeIp(i), i);
    const who = (addr: string) => byIp.get(addr.replace(/^::ffff:/, ""));
    d = await drillNet(f, print, {
      peersOf: () => [],
      ...(p.wrap ? { wrap: (n: LocalNode) => p.wrap!(indexOf(n)) } : {}),
    });
    const { net, spec } = d;
    const indexOf = (n: LocalNode) => net.nodes.indexOf(n);
    const advertised = (i: number) => `ws://${p.proxyIp(i)}:${layoutPorts.p2p}`;
    net.nodes.forEach((n, i) => {
      n.p2pHost = p.nodeIp(i);
      n.apiHost = p.nodeIp(i);
      n.p2pPort = layoutPorts.p2p;
      n.apiPort = layoutPorts.api;
      n.api = `http://${p.nodeIp(i)}:${layoutPorts.api}`;
    });
    // Two bootnodes in the chain spec (not part of the genesis commitment, docs/protocol.md §2).
    const bootnodes = [advertised(0), advertised(1)];
    const chainFile = join(d.dir, "chain.json");
    writeFileSync(chainFile, JSON.stringify({ ...JSON.parse(readFileSync(chainFile, "utf8")), bootnodes }, null, 2) + "\n");
    for (let i = 0; i < f.nodes; i++) {
      const proxy = new LinkProxy(layoutPorts.p2p, {
        targetHost: p.nodeIp(i),
        delayMs: (from) => {
          const j = who(from);
          return f.latency === "none" || j === undefined ? 0 : oneWayMs(i, j);
        },
        localAddress: (from) => {
          const j = who(from);
          return j === undefined ? undefined : p.proxyIp(j);
        },
      });
      await proxy.listen(layoutPorts.p2p, p.proxyIp(i));
      proxies.push(proxy);
    }
    // Each node: its own address, dialling from it, advertising its proxy.
    const maxPeers = f.maxPeers === undefined ? [] : ["--p2p-max-peers", String(f.maxPeers)];
    const perNodeArgs = new Map(net.nodes.map((n, i) => [n, ["--p2p-dial-from", p.nodeIp(i), "--p2p-advertise", advertised(i), ...maxPeers]]));
    const started = Date.now();
    for (const n of net.nodes) net.start(n, perNodeArgs.get(n)!);
    // The links should not wait for a CPU behind the nodes they connect: as root, a higher priority
    // for the drill's process (its proxies), set after the nodes started so they do not inherit it;
    // elsewhere this fails and nothing changes.
    try {
      if (getPriority() > -10) setPriority(-10);
    } catch {
      // not permitted: run at the inherited priority
    }
    print(
      `drill network: ${f.nodes} nodes on ${p.isolation === "netns" ? "their own network namespaces" : "127.0.0.x addresses"} (${p.reason}), ` +
        `${f.latency === "regions" ? `link delays of ${DEFAULT_REGIONS.regions.length} regions` : "no link delay"}, bootnodes ${bootnodes.join(" ")}, ` +
        `block_time_ms ${spec.params.block_time_ms}, max peers ${f.maxPeers ?? "the node's default"}, ${runSeconds} s, data in ${d.dir}`,
    );
    const h0 = await joined(net, 120_000 + f.nodes * 5000, print);
    const settleMs = Date.now() - started;
    print(`settled after ${(settleMs / 1000).toFixed(1)} s at height ${h0}`);

    // Sampling: /metrics of every node every sampleSeconds (each scrape resets the node's event-loop histogram).
    const samples = net.nodes.map(() => ({ rss: [] as number[], p99: [] as number[], max: [] as number[], peers: [] as number[] }));
    const first = await Promise.all(net.nodes.map(scrape)); // opens every node's first window here
    const cpuFirst = first.map((s) => ({ cpu: s?.cpuS, at: Date.now() }));
    const loopLast = first.map((s) => s?.loopBuckets);
    const cpuLast: ({ cpu: number; at: number } | undefined)[] = net.nodes.map(() => undefined);
    const load1mStart = loadavg()[0]!;
    const ownLoop = monitorEventLoopDelay({ resolution: 10 });
    ownLoop.enable();
    const every = (f.sampleSeconds ?? 10) * 1000;
    const end = Date.now() + runSeconds * 1000;
    let lastPrint = Date.now();
    while (Date.now() < end && !interrupted) {
      await sleep(Math.min(every, Math.max(0, end - Date.now())));
      const got = await Promise.all(net.nodes.map((n) => (up(n) ? scrape(n) : Promise.resolve(undefined))));
      got.forEach((s, i) => {
        if (!s) return;
        if (s.rssBytes !== undefined) samples[i]!.rss.push(s.rssBytes);
        if (s.lagP99s !== undefined) samples[i]!.p99.push(s.lagP99s);
        if (s.lagMaxS !== undefined) samples[i]!.max.push(s.lagMaxS);
        if (s.peers !== undefined) samples[i]!.peers.push(s.peers);
        if (s.cpuS !== undefined) cpuLast[i] = { cpu: s.cpuS, at: Date.now() };
        if (s.loopBuckets) loopLast[i] = s.loopBuckets;
      });
      if (Date.now() - lastPrint >= 30_000 || Date.now() >= end) {
        lastPrint = Date.now();
        const head = await getJson<Head>(`${net.nodes[0]!.api}/api/chain/head`).catch(() => undefined);
        const lastOf = (xs: number[][]) => xs.map((x) => x.at(-1)).filter((x): x is number => x !== undefined);
        const peersNow = lastOf(samples.map((s) => s.peers));
        const rssNow = lastOf(samples.map((s) => s.rss));
        const p99Now = lastOf(samples.map((s) => s.p99));
        print(
          `${Math.round((Date.now() - (end - runSeconds * 1000)) / 1000)} s: height ${head?.height ?? "?"} finalized ${head?.finalized?.height ?? "?"}; ` +
            `peers ${Math.min(...peersNow)}..${Math.max(...peersNow)}; rss median ${fmt(mib(percentile(rssNow, 50) ?? undefined))} max ${fmt(mib(Math.max(...rssNow)))} MiB; ` +
            `event-loop p99 median ${fmt(ms(percentile(p99Now, 50) ?? undefined))} max ${fmt(ms(Math.max(...p99Now)))} ms; ` +
            `running ${net.nodes.filter(up).length}/${f.nodes}`,
        );
      }
    }
    ownLoop.disable();
    const load1mEnd = loadavg()[0]!;
    const ranSeconds = Math.round((Date.now() - (end - runSeconds * 1000)) / 1000);
    const problems: string[] = [];
    if (interrupted) problems.push(`interrupted after ${ranSeconds} s`);
    const down = net.nodes.filter((n) => !up(n)).map((n) => n.name);
    if (down.length) problems.push(`not running at the end: ${down.join(", ")}`);
    await settled(net, 60_000).catch(() => problems.push("the nodes did not reach one tip within 60 s of the end"));
    // Every node's canonical blocks of the run, with its seen_at; a failure here (a loaded node's API
    // refusing again and again) costs the propagation figures, not the rest of the report.
    const live = net.nodes.filter(up);
    let seen: (number | null)[][] = live.map(() => []);
    const produced = new Map<string, number>();
    let top = h0;
    try {
      top = Math.min(...(await Promise.all(live.map((n) => getJsonRetry<Head>(`${n.api}/api/chain/head`, FINAL_READ)))).map((h) => h.height));
      for (let from = h0 + 1; from <= top; from += 20) {
        const limit = Math.min(top, from + 19) - from + 1;
        const pages = [];
        for (const n of live) pages.push(await getJsonRetry<{ blocks: (BlockJson & { seen_at: number | null })[] }>(`${n.api}/api/blocks?from=${from}&limit=${limit}`, FINAL_READ));
        pages.forEach((pg, k) => pg.blocks.forEach((b) => seen[k]!.push(b.seen_at)));
        for (const b of pages[0]!.blocks) produced.set(b.header.producer, (produced.get(b.header.producer) ?? 0) + 1);
      }
    } catch (e) {
      const err = e as Error & { cause?: { message?: string; code?: string } };
      problems.push(`reading blocks for propagation failed: ${err.message}${err.cause ? ` (${err.cause.code ?? ""} ${err.cause.message ?? ""})` : ""}`);
      seen = [];
    }
    const prop = propagation(seen);
    const peerLists = await Promise.all(
      net.nodes.map((n) => (up(n) ? getJsonRetry<{ peers: { direction: string; remote_address: string | null }[] }>(`${n.api}/api/peers`).catch(() => undefined) : Promise.resolve(undefined))),
    );
    // outcome() reads every node with 2 s timeouts; on a loaded machine one may miss: try again.
    let o: DrillOutcome | undefined;
    for (let attempt = 1; !o; attempt++) {
      try {
        o = await outcome(d, print);
      } catch (e) {
        if (attempt >= 3) throw e;
        print(`reading the final state failed (${(e as Error).message}); again in ${attempt * 5} s`);
        await sleep(attempt * 5000);
      }
    }
    const forks = await forkSummary(net, top + 1, spec.params.block_time_ms);
    const forksOutliving = forks.outlived;

    const proxyIps = new Set(net.nodes.map((_, i) => p.proxyIp(i)));
    const perNode: NetworkNode[] = net.nodes.map((n, i) => {
      const s = samples[i]!;
      const loop = loopDelayBetween(first[i]?.loopBuckets, loopLast[i], EVENTLOOP_P99_GOAL_MS);
      const list = peerLists[i]?.peers ?? [];
      return {
        name: n.name,
        ip: p.nodeIp(i),
        advertised: advertised(i),
        region: DEFAULT_REGIONS.regions[regionOf(i)]!,
        peers: list.length,
        outbound: list.filter((x) => x.direction === "outbound").length,
        via_proxy: list.filter((x) => x.remote_address !== null && proxyIps.has(hostOf(x.remote_address))).length,
        produced: produced.get(n.ebid) ?? 0,
        rss_mib_last: mib(s.rss.at(-1)),
        rss_mib_max: s.rss.length ? mib(Math.max(...s.rss)) : null,
        eventloop_p99_ms_max: s.p99.length ? ms(Math.max(...s.p99)) : null,
        eventloop_p99_ms_median: ms(percentile(s.p99, 50) ?? undefined),
        eventloop_max_ms: s.max.length ? ms(Math.max(...s.max)) : null,
        eventloop_run: loop && { p99_le_ms: Number.isFinite(loop.p99BoundMs) ? loop.p99BoundMs : null, over_goal_pct: loop.overGoalPct, probes: loop.probes },
        cpu_pct: cpuPct(cpuFirst[i]!, cpuLast[i]),
      };
    });
    const peerCounts = perNode.map((x) => x.peers);
    const worstP99 = perNode.some((x) => x.eventloop_p99_ms_max !== null) ? Math.max(...perNode.map((x) => x.eventloop_p99_ms_max ?? 0)) : null;
    const rssLast = perNode.map((x) => x.rss_mib_last).filter((x): x is number => x !== null);
    if (!o.agree) problems.push("the nodes' canonical chains differ");
    const direct = perNode.filter((x) => x.via_proxy < x.peers).map((x) => x.name);
    if (direct.length) problems.push(`peers reached around the link proxies (no delay) on ${direct.join(", ")}`);
    if (!o.finality.agree) problems.push(...o.finality.conflicts.map((c) => `finality: ${c}`));
    if (forksOutliving > 0) problems.push(`${forksOutliving} fork(s) outlived one block time`);
    // The goal is the p99 over the run, read from each node's histogram; nodes without it (an older
    // build) are judged by their worst sample window, an upper bound.
    const runs = perNode.map((x) => x.eventloop_run);
    const worstRun = runs.some((r) => r) ? Math.max(...runs.map((r) => (r ? (r.p99_le_ms ?? Infinity) : 0))) : null;
    const worstOver = runs.some((r) => r) ? Math.max(...runs.map((r) => r?.over_goal_pct ?? 0)) : null;
    const overGoal = perNode.filter((x) => (x.eventloop_run ? x.eventloop_run.over_goal_pct > 1 : (x.eventloop_p99_ms_max ?? 0) > EVENTLOOP_P99_GOAL_MS));
    if (overGoal.length) problems.push(`event-loop delay p99 over the run > ${EVENTLOOP_P99_GOAL_MS} ms on ${overGoal.map((x) => `${x.name} (${x.eventloop_run ? `${x.eventloop_run.over_goal_pct}% of probes over it` : `worst window ${x.eventloop_p99_ms_max} ms`})`).join(", ")}`);
    if (top - h0 < 1) problems.push("no block was produced during the run");
    const report: NetworkReport = {
      nodes: f.nodes,
      isolation: p.isolation,
      isolation_reason: p.reason,
      bridge: p.bridge,
      namespaces: p.namespaces,
      leftovers_removed: p.leftovers,
      latency: f.latency,
      block_time_ms: spec.params.block_time_ms,
      seconds: ranSeconds,
      settle_ms: settleMs,
      bootnodes,
      blocks: top - h0,
      propagation: prop,
      peers: { min: Math.min(...peerCounts), median: percentile(peerCounts, 50) ?? 0, max: Math.max(...peerCounts) },
      forks_outliving_one_block: forksOutliving,
      eventloop_p99_ms_max: worstP99,
      eventloop_run_p99_le_ms_max: worstRun === null ? null : Number.isFinite(worstRun) ? worstRun : null,
      eventloop_run_over_goal_pct_max: worstOver,
      rss_mib: { median: percentile(rssLast, 50), max: rssLast.length ? Math.max(...rssLast) : null },
      per_node: perNode,
      host: { cpus: availableParallelism(), load_1m_start: Math.round(load1mStart * 100) / 100, load_1m_end: Math.round(load1mEnd * 100) / 100, nodes_cpu_pct_total: Math.round(perNode.reduce((s, x) => s + (x.cpu_pct ?? 0), 0)) },
      proxies_nice: getPriority(),
      proxies_eventloop_p99_ms: Math.round(ownLoop.percentile(99) / 1e5) / 10,
      proxies_eventloop_max_ms: Math.round(ownLoop.max / 1e5) / 10,
      ...o,
      forks,
      interrupted,
      problems,
      ok: problems.length === 0 && !interrupted,
    };
    print("node      ip             region        peers out proxied produced  rss MiB last/max  event-loop p99 ms max/median  max ms  run p99 <= ms (% > 100)  cpu %");
    for (const x of perNode) {
      print(
        `${x.name.padEnd(9)} ${x.ip.padEnd(14)} ${x.region.padEnd(13)} ${String(x.peers).padStart(5)} ${String(x.outbound).padStart(3)} ${String(x.via_proxy).padStart(7)} ${String(x.produced).padStart(8)}  ` +
          `${fmt(x.rss_mib_last).padStart(7)}/${fmt(x.rss_mib_max).padEnd(9)} ${fmt(x.eventloop_p99_ms_max, 1).padStart(13)}/${fmt(x.eventloop_p99_ms_median, 1).padEnd(15)} ${fmt(x.eventloop_max_ms, 1).padStart(7)}  ${runText(x.eventloop_run).padStart(22)} ${fmt(x.cpu_pct, 1).padStart(6)}`,
      );
    }
    const q = (x: Quantiles) => `p50 ${fmt(x.p50)} p95 ${fmt(x.p95)} p99 ${fmt(x.p99)}`;
    print(
      `${report.blocks} blocks in ${ranSeconds} s; propagation over ${prop.blocks} blocks (ms from first seen_at): to 50% ${q(prop.to_50pct_ms)}; ` +
        `to 95% ${q(prop.to_95pct_ms)}; to 100% ${q(prop.to_100pct_ms)}`,
    );
    print(
      `peers per node ${report.peers.min}..${report.peers.max} (median ${report.peers.median}); forks outliving one block ${forksOutliving}; ` +
        `event-loop p99 over the run, worst node: <= ${worstRun === null ? "?" : Number.isFinite(worstRun) ? worstRun : "> 5000"} ms (goal <= ${EVENTLOOP_P99_GOAL_MS}; ` +
        `at most ${fmt(worstOver, 2)}% of probes over ${EVENTLOOP_P99_GOAL_MS} ms on any node), worst single window's p99 ${fmt(worstP99, 1)} ms; rss median ${fmt(report.rss_mib.median)} max ${fmt(report.rss_mib.max)} MiB`,
    );
    print(
      `host: ${report.host.cpus} CPUs, load (1 min) ${report.host.load_1m_start} at the start, ${report.host.load_1m_end} at the end, the nodes used ${report.host.nodes_cpu_pct_total}% of one core in all; ` +
        `the proxies' event loop (the drill's, nice ${report.proxies_nice}): p99 ${report.proxies_eventloop_p99_ms} ms, max ${report.proxies_eventloop_max_ms} ms`,
    );
    print(report.ok ? "drill passed" : `drill FAILED: ${problems.join("; ")}`);
    return report;
  } finally {
    // The signal handlers stay until everything is removed: a signal meanwhile exits through the
    // exit handlers (nodes killed, namespaces removed), never by the default action, which skips them.
    await d?.close();
    await Promise.all(proxies.map((x) => x.close().catch(() => undefined)));
    p.teardown();
    process.off("exit", exitTeardown);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** `vision-node drill network`. */
export function runDrillNetwork(f: NetworkFlags): Promise<void> {
  return runDrill(f.json, (print) => drillNetwork(f, print));
}
